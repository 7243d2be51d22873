"""Hostile strings in the source never escape their quoting: each either gives a clear
compile error, or the config passes `nginx -t` and the exact value arrives where it should
(at the backend, or at the client). Property-tested with a bounded number of examples."""
from __future__ import annotations

import re
import tempfile
from pathlib import Path
from urllib.parse import quote as url_quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import free_port
from edgec.harness.echo import EchoServer
from tests.support.hostile import FIELDS, HOSTILE, LINE_BREAKS, edge_string, latin1, lower_only, send

from .support import TEST_HTPASSWD, Nginx, build, fresh, nginx_test, write

@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.text(alphabet=HOSTILE, min_size=1, max_size=12).filter(lambda s: s == s.strip()))
def test_hostile_values_arrive_exactly(value):
    s = edge_string(value)
    path_value = value.replace("/", "_").replace("?", "_").replace("#", "_")  # a path ends at "?" (E210)
    source = f'''edge {s} {{
      listen http 8080
      upstream app {{ server "127.0.0.1:1" }}
      auth basic staff {{ htpasswd ${{secret:STAFF}} realm {s} }}
      route set {{ match path exact "/set" request_header set "X-Hostile" {s} response_header set "X-Back" {s}
                  forward app }}
      route body {{ match path exact "/body" respond 200 {s} type "text/plain" }}
      route header {{ match path exact "/hm" header "X-M" = {s} forward app }}
      route query {{ match path exact "/hq" query {s} = {s} forward app }}
      route path {{ match path exact {edge_string("/p/" + path_value)} forward app }}
      route cors {{ match path exact "/cors" cors {{ origins {s} }} forward app }}
      route staff {{ match path exact "/staff" auth staff forward app }}
    }}'''
    edge, errors = lower_only(source)
    assert edge is not None, [d.message for d in errors]
    # a Host rewrite takes a host name (Gateway API PreciseHostname): anything else is refused
    rewritten, errors = lower_only(f'edge "h" {{ upstream app {{ server "127.0.0.1:1" }} '
                                   f'route r {{ rewrite host {s} forward app }} }}')
    is_hostname = re.fullmatch(r"[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*\.?", value, re.I)
    assert (rewritten is not None) == bool(is_hostname), [d.message for d in errors]
    if rewritten is None:
        assert {d.code for d in errors} == {"E218"}
    with tempfile.TemporaryDirectory() as tmp, EchoServer("app") as echo:
        port = free_port()
        from tests.conformance.corpus import with_listener_ports, with_servers
        live = with_listener_ports(with_servers(edge, {"app": echo.address}), {8080: port})
        files, diags = build(live, secrets={"STAFF": TEST_HTPASSWD.strip()})
        assert files is not None, [d.message for d in diags]
        prefix = write(files, fresh(Path(tmp) / "p"))
        with Nginx(prefix, [port]):
            r = send(port, "/set")
            import json
            seen = json.loads(r.body)
            assert seen["headers"]["x-hostile"] == latin1(value)
            assert r.getheader("X-Back") == latin1(value)
            r = send(port, "/body")
            assert (r.status, r.body) == (200, value.encode("utf-8"))
            assert send(port, "/hm", [("X-M", value)]).status == 200
            assert send(port, "/hm", [("X-M", value + "x")]).status == 404
            q = url_quote(value, safe="")
            assert send(port, f"/hq?{q}={q}").status == 200
            assert send(port, f"/hq?{q}={q}x").status == 404
            assert send(port, "/p/" + url_quote(path_value, safe="")).status == 200
            assert send(port, "/cors", [("Origin", value)]).getheader("Access-Control-Allow-Origin") == latin1(value)
            assert send(port, "/staff").getheader("WWW-Authenticate") == latin1(f'Basic realm="{value}"')


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.sampled_from(sorted(FIELDS)), st.text(alphabet=HOSTILE + LINE_BREAKS, min_size=1, max_size=10))
def test_hostile_strings_in_any_field(field, value):
    """A compile error with a code and a position, or a config nginx accepts."""
    source = FIELDS[field].format(s=edge_string(value))
    edge, errors = lower_only(source)
    if edge is None:
        assert errors and all(d.code.startswith("E") for d in errors)
        return
    files, diags = build(edge, secrets={"K": value})
    if files is None:
        errors = [d for d in diags if d.severity == "error"]
        assert errors and all(d.code in ("E401", "E404") for d in errors), [d.message for d in errors]
        return
    with tempfile.TemporaryDirectory() as tmp:
        prefix = write(files, fresh(Path(tmp) / "p"))
        for rel in ("tls",):
            (prefix / rel).mkdir(exist_ok=True)
        res = nginx_test(prefix)
        # a file path that names no usable file on this machine is fine: nginx read the path right
        file_problem = field in ("tls paths", "access log", "client cert", "upstream tls") and (
            'open() "' in res.stderr or "cannot load certificate" in res.stderr)
        assert res.returncode == 0 or file_problem, (field, value, res.stderr)


def test_a_dollar_in_an_upstream_certificate_path_is_refused():
    """nginx reads proxy_ssl_certificate and proxy_ssl_certificate_key as complex values: `nginx -t`
    refused a `$` there ("invalid variable name"), which the build wrote as it was."""
    edge, errors = lower_only(FIELDS["upstream tls"].format(s=edge_string("$")))
    assert edge is not None, errors
    files, diags = build(edge)
    assert files is None
    messages = [d.message for d in diags if d.code == "E401"]
    assert any("certificate path of upstream 'u' '$'" in m for m in messages), messages
    assert any("key path of upstream 'u' '$'" in m for m in messages), messages


@pytest.mark.parametrize("field", sorted(f for f in FIELDS if "{s}" in FIELDS[f]))
def test_a_control_character_is_refused_in_every_field(field):
    """NUL (written as an escape) once crashed the nginx build in 17 of these fields."""
    for char in "\x00\x1b\x7f":
        edge, errors = lower_only(FIELDS[field].format(s=edge_string("a" + char + "b")))
        assert edge is None and "E022" in {d.code for d in errors}, (field, char, errors)
