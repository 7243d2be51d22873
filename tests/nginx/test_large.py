"""A config too large for one of nginx's tokens: the per-request choice between many regex
routes of one location is a chain of maps, which the real `nginx -t` reads without a warning
and which routes as one map would; a token nginx would refuse never leaves edgec."""
from __future__ import annotations

import pytest

from edgec import pipeline, targets
from edgec.diagnostics import Sink
from edgec.pipeline import analyse
from edgec.targets.nginx import conf, matching

from .support import build, fresh, nginx_test, write

# each regex route's condition is one `$edgec_aN` in its map's source: 600 of them are well
# over the 4,094 bytes nginx reads in one token
ROUTES = 600


def source(routes: int) -> str:
    lines = ['edge "big" {', '  listen http 8080', '  upstream app { server "127.0.0.1:9" }']
    lines += [f'  route r{i} {{ match path regex "/i{i}/[0-9]+" request_header set "X-Route" "r{i}" forward app }}'
              for i in range(routes)]
    return "\n".join(lines + ["}"]) + "\n"


def test_many_regex_routes_pass_nginx_t_and_the_last_one_routes(gateway, tmp_path):
    text = source(ROUTES)
    gw = gateway(text)
    nginx_conf = gw.files["nginx.conf"]
    assert "default $edgec_sel" in nginx_conf  # the choice needed more than one map
    assert nginx_test(write(gw.files, fresh(tmp_path / "t"))).stderr == ""  # no error, no warning
    last = gw.get(f"/i{ROUTES - 1}/42")
    assert last.status == 200 and last.echo["headers"]["x-route"] == f"r{ROUTES - 1}"
    first = gw.get("/i0/7")
    assert first.status == 200 and first.echo["headers"]["x-route"] == "r0"
    assert gw.get(f"/i{ROUTES}/42").status == 404  # no route matches
    assert [r["path"] for r in gw.echoes["app"].requests] == [f"/i{ROUTES - 1}/42", "/i0/7"]


def test_a_token_nginx_would_refuse_is_an_error_not_a_file(monkeypatch):
    # a choice left as one map (as before the chain) is refused at build, and nothing written
    monkeypatch.setattr(matching, "PARAMETER_BYTES", 1 << 20)
    sink = Sink("big.edge")
    out = pipeline.emit(analyse(source(ROUTES), "big.edge").edge, [targets.get("nginx")], sink)
    assert out.files == {} and out.refused["nginx"].code == "E401"
    assert "nginx refuses one over 4,094 bytes" in out.refused["nginx"].message
    # the tests' own build (edgec.harness.gateways) refuses it too: no files to start nginx on
    files, diagnostics = build(analyse(source(ROUTES), "big.edge").edge)
    assert files is None and [d.code for d in diagnostics if d.severity == "error"] == ["E401"]


def test_the_longest_token_nginx_reads():
    assert conf.quote("~" * conf.PARAMETER_BYTES) == "~" * conf.PARAMETER_BYTES
    with pytest.raises(conf.TooLong):
        conf.quote("~" * (conf.PARAMETER_BYTES + 1))
