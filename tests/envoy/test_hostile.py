"""Hostile strings in the source never escape their quoting in envoy.yaml: each either
gives a compile error, or Envoy accepts the bootstrap and the exact value arrives where it
should (at the backend, or at the client). Property-tested with a bounded number of examples."""
from __future__ import annotations

import dataclasses
import json
import re
import tempfile
from pathlib import Path
from urllib.parse import quote as url_quote

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from edgec.targets.envoy.check import QUERY_NAME
from tests.conformance.corpus import with_listener_ports, with_servers
from tests.conftest import free_port
from edgec.harness.echo import EchoServer
from tests.support.hostile import FIELDS, HOSTILE, LINE_BREAKS, edge_string, latin1, lower_only, send

from .support import Envoy, admin_options, build, validate, write


def _escaped(value: str) -> str:
    """A regex matching exactly `value` (a backslash as [\\\\], which lowering never takes for a
    backreference)."""
    return "".join("[\\\\]" if c == "\\" else re.escape(c) for c in value)


@settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.text(alphabet=HOSTILE, min_size=1, max_size=12).filter(lambda s: s == s.strip()))
def test_hostile_values_arrive_exactly(value):
    s = edge_string(value)
    path_value = value.replace("/", "_").replace("?", "_").replace("#", "_")  # a path ends at "?" (E210)
    source = f'''edge {s} {{
      listen http 8080
      upstream app {{ server "127.0.0.1:1" }}
      route set {{ match path exact "/set" request_header set "X-Hostile" {s} response_header set "X-Back" {s}
                  forward app }}
      route add {{ match path exact "/add" request_header add "X-Hostile" {s} forward app }}
      route body {{ match path exact "/body" respond 200 {s} type "text/plain" }}
      route header {{ match path exact "/hm" header "X-M" = {s} forward app }}
      route regex {{ match path exact "/hr" header "X-M" ~ {edge_string(_escaped(value))} forward app }}
      route query {{ match path exact "/hq" query {s} = {s} forward app }}
      route path {{ match path exact {edge_string("/p/" + path_value)} forward app }}
      route cors {{ match path exact "/cors" cors {{ origins {s} }} forward app }}
    }}'''
    edge, errors = lower_only(source)
    assert edge is not None, [d.message for d in errors]
    if not QUERY_NAME.fullmatch(value):
        refused, diags = build(edge)
        assert refused is None and any("query parameter name" in d.message for d in diags)
        edge = dataclasses.replace(edge, routes=tuple(r for r in edge.routes if r.name != "query"))
    with tempfile.TemporaryDirectory() as tmp, EchoServer("app") as echo:
        port = free_port()
        live = with_listener_ports(with_servers(edge, {"app": echo.address}), {8080: port})
        options = {**admin_options(), "validate": "off"}
        files, diags = build(live, options)
        assert files is not None, [d.message for d in diags]
        with Envoy(write(files, Path(tmp)), [port], int(options["admin_port"])):
            r = send(port, "/set")
            assert json.loads(r.body)["headers"]["x-hostile"] == latin1(value)
            assert r.getheader("X-Back") == latin1(value)
            r = send(port, "/add", [("X-Hostile", "first")])
            assert json.loads(r.body)["headers"]["x-hostile"] == "first," + latin1(value)
            r = send(port, "/body")
            assert (r.status, r.body) == (200, value.encode("utf-8"))
            assert send(port, "/hm", [("X-M", value)]).status == 200
            assert send(port, "/hm", [("X-M", value + "x")]).status == 404
            assert send(port, "/hr", [("X-M", value)]).status == 200
            assert send(port, "/hr", [("X-M", value + "x")]).status == 404
            if QUERY_NAME.fullmatch(value):  # else the build refused it (below)
                name, q = url_quote(value, safe="-._~!$'()*,;:@/?"), url_quote(value, safe="")
                assert send(port, f"/hq?{name}={q}").status == 200
                assert send(port, f"/hq?{name}={q}x").status == 404
            assert send(port, "/p/" + url_quote(path_value, safe="")).status == 200
            assert send(port, "/cors", [("Origin", value)]).getheader("Access-Control-Allow-Origin") == latin1(value)


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.sampled_from(sorted(FIELDS)), st.text(alphabet=HOSTILE + LINE_BREAKS, min_size=1, max_size=10))
# values that failed: a directory where a file is named, a prefix that ends in "/" once normalised
@example("upstream tls", "/")
@example("prefix path", "/a//")
def test_hostile_strings_in_any_field(field, value):
    """A compile error with a code and a position, or a bootstrap Envoy accepts."""
    source = FIELDS[field].format(s=edge_string(value))
    edge, errors = lower_only(source)
    if edge is None:
        assert errors and all(d.code.startswith("E") for d in errors)
        return
    files, diags = build(edge, {"validate": "off"}, secrets={"K": value})
    if files is None:
        errors = [d for d in diags if d.severity == "error"]
        assert errors and all(d.code in ("E401", "E404") for d in errors), [d.message for d in errors]
        return
    with tempfile.TemporaryDirectory() as tmp:
        res = validate(write(files, Path(tmp)))
        out = res.stdout + res.stderr
        # a file path that names no usable file on this machine is fine: Envoy read the path right
        # (the realm's source names the htpasswd file /h; Envoy sends no realm). A directory ("/",
        # "/.") is a file Envoy finds empty
        file_problem = field in ("tls paths", "access log", "htpasswd path", "realm", "client cert",
                                 "upstream tls") and re.search(
            r"Invalid path|unable to open|Failed to load|No such file|cannot open|Failed to open|is empty", out)
        assert res.returncode == 0 or file_problem, (field, value, out[-2000:])
