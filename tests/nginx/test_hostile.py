"""Hostile strings in the source never escape their quoting: each either gives a clear
compile error, or the config passes `nginx -t` and the exact value arrives where it should
(at the backend, or at the client). Property-tested with a bounded number of examples."""
from __future__ import annotations

import http.client
import re
import tempfile
from pathlib import Path
from urllib.parse import quote as url_quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edgec.diagnostics import CompileError, Sink
from tests.conftest import free_port
from tests.support.echo import EchoServer

from .support import TEST_HTPASSWD, Nginx, build, fresh, nginx_test, write

HOSTILE = "\"';{}$#\\ %?&=/~^*()[]|<>!@`,.:+-_aZ09é☃𝄞"
LINE_BREAKS = "\n\r\t"


def edge_string(text: str) -> str:
    """`text` as an .edge string literal."""
    out = []
    for ch in text:
        if ch in '"\\$':
            out.append("\\" + ch)
        elif ch in "\n\r\t":
            out.append({"\n": "\\n", "\r": "\\r", "\t": "\\t"}[ch])
        elif ord(ch) < 0x20:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def lower_only(source: str):
    """(IR, errors) from parsing and lowering alone: the quoting of the nginx target is under
    test here, not the lint rules (which run on every source elsewhere)."""
    from edgec.lower import lower
    from edgec.parse import parse
    sink = Sink("hostile.edge")
    try:
        return lower(parse(source, "hostile.edge", sink), None, sink), []
    except CompileError as err:
        return None, [d for d in err.diagnostics if d.severity == "error"]


def latin1(text: str) -> str:
    """How an HTTP library that reads header bytes as Latin-1 shows `text` sent as UTF-8."""
    return text.encode("utf-8").decode("latin-1")


def send(port: int, target: str, headers: list[tuple[str, str]] = ()) -> http.client.HTTPResponse:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.putrequest("GET", target, skip_host=True, skip_accept_encoding=True)
    conn.putheader("Host", "edge.test")
    for name, value in headers:
        conn.putheader(name, value.encode("utf-8"))
    conn.endheaders()
    resp = conn.getresponse()
    resp.body = resp.read()  # type: ignore[attr-defined]
    conn.close()
    return resp


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.text(alphabet=HOSTILE, min_size=1, max_size=12).filter(lambda s: s == s.strip()))
def test_hostile_values_arrive_exactly(value):
    s = edge_string(value)
    path_value = value.replace("/", "_")
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


FIELDS = {
    "edge name": 'edge {s} {{ route r {{ respond 200 "x" }} }}',
    "host": 'edge "t" {{ route r {{ match host {s} respond 200 "x" }} }}',
    "exact path": 'edge "t" {{ route r {{ match path exact {s} respond 200 "x" }} }}',
    "prefix path": 'edge "t" {{ route r {{ match path prefix {s} respond 200 "x" }} }}',
    "regex path": 'edge "t" {{ route r {{ match path regex {s} header "X" = "1" respond 200 "x" }} }}',
    "header name": 'edge "t" {{ route r {{ match header {s} present respond 200 "x" }} }}',
    "header regex": 'edge "t" {{ route r {{ match header "X" ~ {s} respond 200 "x" }} }}',
    "query regex": 'edge "t" {{ route r {{ match query "q" ~ {s} respond 200 "x" }} }}',
    "response header value": 'edge "t" {{ route r {{ response_header add "X" {s} respond 200 "x" }} }}',
    "request header value": 'edge "t" {{ upstream u {{ server "127.0.0.1:9" }} '
                            'route r {{ request_header add "X" {s} forward u }} }}',
    "body": 'edge "t" {{ route r {{ respond 200 {s} }} }}',
    "content type": 'edge "t" {{ route r {{ respond 200 "x" type {s} }} }}',
    "redirect location": 'edge "t" {{ route r {{ redirect 302 {s} }} }}',
    "redirect host": 'edge "t" {{ route r {{ redirect 302 host {s} }} }}',
    "redirect prefix": 'edge "t" {{ route r {{ match path prefix "/a" redirect 302 prefix {s} }} }}',
    "rewrite path": 'edge "t" {{ upstream u {{ server "127.0.0.1:9" }} route r {{ rewrite path {s} forward u }} }}',
    "rewrite prefix": 'edge "t" {{ upstream u {{ server "127.0.0.1:9" }} '
                      'route r {{ rewrite prefix "/a" {s} forward u }} }}',
    "strip prefix": 'edge "t" {{ upstream u {{ server "127.0.0.1:9" }} route r {{ strip_prefix {s} forward u }} }}',
    "cors origin": 'edge "t" {{ route r {{ cors {{ origins {s} headers {s} expose {s} }} respond 200 "x" }} }}',
    "realm": 'edge "t" {{ auth basic b {{ htpasswd "/h" realm {s} }} route r {{ auth b respond 200 "x" }} }}',
    "htpasswd path": 'edge "t" {{ auth basic b {{ htpasswd {s} }} route r {{ auth b respond 200 "x" }} }}',
    "api key header": 'edge "t" {{ auth api_key k {{ header {s} keys ${{secret:K}} }} '
                      'route r {{ auth k respond 200 "x" }} }}',
    "api key": 'edge "t" {{ auth api_key k {{ keys ${{secret:K}} }} route r {{ auth k respond 200 "x" }} }}',
    "tls paths": 'edge "t" {{ listen https 8443 {{ tls cert {s} key {s} }} route r {{ respond 200 "x" }} }}',
    "access log": 'edge "t" {{ route r {{ respond 200 "x" }} access_log json {s} }}',
    "metrics path": 'edge "t" {{ route r {{ respond 200 "x" }} metrics {s} }}',
    "sticky cookie": 'edge "t" {{ upstream u {{ server "127.0.0.1:9" sticky cookie {s} }} route r {{ forward u }} }}',
    "hash header": 'edge "t" {{ upstream u {{ server "127.0.0.1:9" balance hash header {s} }} route r {{ forward u }} }}',
    "rate limit header": 'edge "t" {{ upstream u {{ server "127.0.0.1:9" }} '
                         'route r {{ rate_limit 1/s by header {s} forward u }} }}',
    "rewrite host": 'edge "t" {{ upstream u {{ server "127.0.0.1:9" }} route r {{ rewrite host {s} forward u }} }}',
    "keys file": 'edge "t" {{ auth api_key k {{ keys_file {s} }} route r {{ auth k respond 200 "x" }} }}',
    "bind address": 'edge "t" {{ listen http 8080 {{ bind {s} }} route r {{ respond 200 "x" }} }}',
    "trusted proxy": 'edge "t" {{ route r {{ respond 200 "x" }} trust_proxies {s} }}',
    "server address": 'edge "t" {{ upstream u {{ server {s} }} route r {{ forward u }} }}',
    "cache vary": 'edge "t" {{ upstream u {{ server "127.0.0.1:9" }} route r {{ cache 1m vary {s} forward u }} }}',
}


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
        file_problem = field in ("tls paths", "access log") and (
            'open() "' in res.stderr or "cannot load certificate" in res.stderr)
        assert res.returncode == 0 or file_problem, (field, value, res.stderr)


@pytest.mark.parametrize("field", sorted(f for f in FIELDS if "{s}" in FIELDS[f]))
def test_a_control_character_is_refused_in_every_field(field):
    """NUL (written as an escape) once crashed the nginx build in 17 of these fields."""
    for char in "\x00\x1b\x7f":
        edge, errors = lower_only(FIELDS[field].format(s=edge_string("a" + char + "b")))
        assert edge is None and "E022" in {d.code for d in errors}, (field, char, errors)
