"""Hostile strings in the string fields of an edge: the project still compiles (one Maven
build with the others), the gateway starts, and the exact values arrive where they should;
or the compiler refuses them with a diagnostic."""
from __future__ import annotations

import http.client
import json
from urllib.parse import quote, unquote

import pytest

from edgec.pipeline import analyse

from . import harness

# Java: quotes, backslashes, a comment end, a unicode escape spelled out, string formats;
# Spring: placeholders and URI template variables; regex and replacement syntax; XML/YAML
ASCII = "q\"u'o\\te */ \\u000a {x} ${y} $1 %s <a&b> #c: [d] *.?+(e)|^"
UNICODE = ASCII + " é 中 😀"


def edge_string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("$", "\\$") + '"'


H = edge_string(ASCII)
U = edge_string(UNICODE)
PATH = "/p" + UNICODE.replace(" ", "_").replace("/", "_").replace("\\", "_").replace("?", "_").replace("#", "_")  # a path has no "\", "/", "?" or "#" inside

SOURCE = f"""
edge {U} {{
  listen http 8080
  upstream up {{ server "127.0.0.1:1" }}
  auth jwt main {{ issuer {U} jwks {U} audience {U} header "X-Token" }}
  auth basic staff {{ htpasswd ${{secret:EDGE_HOSTILE_HTPASSWD}} realm {H} }}
  route exact_path {{
    match path exact {edge_string(PATH)}
    forward up
  }}
  route matched {{
    match path prefix "/m" header "X-H" = {H} query "q" = {U}
    request_header set "X-Set" {H}
    request_header add "X-Add" {H}
    response_header set "X-Resp" {H}
    forward up
  }}
  route regexes {{
    match path regex "/r/[a-z]+\\\\{{2\\\\}}" header "X-R" ~ "a\\"b\\\\\\\\c.*"
    forward up
  }}
  route rewritten {{
    match path prefix "/rw"
    rewrite path {edge_string("/to/" + UNICODE.replace("/", "_").replace("?", "_").replace("#", "_"))}
    rewrite host "backend.example"
    forward up
  }}
  route fixed {{
    match path prefix "/fixed"
    respond 200 {U} type {H}
  }}
  route cors {{
    match path prefix "/cors"
    cors {{ origins {H} headers {H} expose {H} }}
    forward up
  }}
  route guarded {{
    match path prefix "/guarded"
    auth main
    forward up
  }}
  route staff {{
    match path prefix "/staff"
    auth staff
    forward up
  }}
}}
"""
RESULT = analyse(SOURCE, "hostile.edge")
EDGE = RESULT.edge
PROJECT = harness.register("hostile", EDGE) if EDGE else None


def test_hostile_edge_compiles():
    assert EDGE is not None, [d.message for d in RESULT.diagnostics if d.severity == "error"]
    files, diagnostics = harness.emit(EDGE)
    assert files is not None, [d.message for d in diagnostics]


@pytest.mark.parametrize("value, code", [
    ('"a\\nb"', "E219"),  # a line break in a header value
])
def test_values_that_cannot_be_sent_are_refused(value, code):
    result = analyse(f'edge "x" {{ upstream u {{ server "127.0.0.1:1" }} route r {{ request_header set "X" {value} '
                     f'forward u }} }}', "x.edge")
    assert code in {d.code for d in result.diagnostics if d.severity == "error"}


# names Java reserves or cannot start with, a name longer than a file name may be, durations past
# Integer.MAX_VALUE milliseconds (24.8 days) and a placeholder in every segment of the metrics path:
# each once gave code javac refused (or an OSError), with `edgec build` exiting 0
LONG = "u" + "x" * 299
NAMES = {}
for edge_name in ("class", "123abc", "n" * 300):
    NAMES[edge_name] = analyse(f"""
edge "{edge_name}" {{
  listen http 8080
  upstream new {{ server "127.0.0.1:1" }}
  upstream {LONG} {{ server "127.0.0.1:2" }}
  auth jwt main {{ issuer "https://idp.example/" jwks "https://idp.example/jwks" leeway 30d }}
  route r {{ match path prefix "/r" timeout 30d retries 1 backoff 25d cache 365d forward new }}
  route a {{ match path prefix "/a" auth main forward {LONG} }}
  route g {{ match path prefix "/g" aggregate {{ p = get new "/p" timeout 30d }} }}
  metrics "/\\${{HOME}}/x\\${{USER}}/metrics"
}}""", "names.edge").edge
NAME_PROJECTS = {name: harness.register(f"names-{i}", edge) for i, (name, edge) in enumerate(NAMES.items()) if edge}


def test_hostile_names_give_valid_java_names_and_file_names():
    for name, edge in NAMES.items():
        assert edge is not None, name
        files, diagnostics = harness.emit(edge)
        assert files is not None, [d.message for d in diagnostics]
        java = [f for f in files if f.endswith(".java")]
        package = java[0].split("/")[3:-1]
        assert all(part.isidentifier() and part not in ("class", "new") for part in package), package
        assert all(len(part.encode()) <= 255 for f in files for part in f.split("/"))
        assert "Duration.ofMillis(2592000000L)" in "".join(files[f] for f in java)
        yml = files["src/main/resources/application.yml"]
        assert "base-path: /\\${HOME}/x\\${USER}" in yml, yml


def test_hostile_names_compile(built):
    for name, project_id in NAME_PROJECTS.items():
        project = built[project_id]
        assert project.jar is not None, f"{name[:20]}: mvn package failed:\n{project.build_log[-3000:]}"


@pytest.fixture(scope="module")
def gateway(built, tmp_path_factory):
    with harness.echo_gateway(built[PROJECT], EDGE, "up", tmp_path_factory.mktemp("hostile"),
                              env={"EDGE_HOSTILE_HTPASSWD": "nobody:{SHA}x"}) as (ports, echo):
        yield ports[EDGE.listeners[0].port], echo


def send(port, target, headers=()):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
    try:
        conn.putrequest("GET", target, skip_accept_encoding=True)
        for name, value in headers:
            conn.putheader(name, value)
        conn.endheaders()
        resp = conn.getresponse()
        return resp.status, resp.headers, resp.read()
    finally:
        conn.close()


def test_exact_values_arrive(gateway):
    port, echo = gateway
    status, headers, body = send(port, "/m?q=" + quote(UNICODE, safe=""), [("X-H", ASCII)])
    assert status == 200, body
    seen = json.loads(body)
    assert seen["headers"]["x-set"] == ASCII
    assert seen["headers"]["x-add"] == ASCII
    assert headers["X-Resp"] == ASCII
    assert send(port, "/m?q=" + quote(UNICODE + "x", safe=""), [("X-H", ASCII)])[0] == 404


def test_a_literal_path_is_not_a_pattern(gateway):
    port, _ = gateway
    status, _, body = send(port, quote(PATH, safe="/"))
    assert status == 200 and json.loads(body)["backend"] == "up", body
    assert send(port, quote(PATH[:-1] + "x", safe="/"))[0] == 404


def test_regex_values_keep_their_meaning(gateway):
    port, _ = gateway
    # path regex /r/[a-z]+\{2\} wants a literal "{2}"; header regex a"b\\c.* one backslash
    assert send(port, "/r/ab%7B2%7D", [("X-R", 'a"b\\cd')])[0] == 200
    assert send(port, "/r/abb", [("X-R", 'a"b\\cd')])[0] == 404
    assert send(port, "/r/ab%7B2%7D", [("X-R", 'a"bcd')])[0] == 404


def test_rewritten_path_and_host(gateway):
    port, _ = gateway
    status, _, body = send(port, "/rw")
    seen = json.loads(body)
    assert status == 200
    assert unquote(seen["path"]) == "/to/" + UNICODE.replace("/", "_").replace("?", "_").replace("#", "_")
    assert seen["host"] == "backend.example"


def test_fixed_response_body_and_type(gateway):
    port, _ = gateway
    status, headers, body = send(port, "/fixed")
    assert status == 200
    assert body.decode("utf-8") == UNICODE
    assert headers["Content-Type"] == ASCII


def test_cors_values(gateway):
    port, _ = gateway
    status, headers, _ = send(port, "/cors", [("Origin", ASCII)])
    assert status == 200
    assert headers["Access-Control-Allow-Origin"] == ASCII
    assert headers["Access-Control-Expose-Headers"] == ASCII


def test_auth_with_hostile_settings_still_refuses(gateway):
    port, _ = gateway
    assert send(port, "/guarded", [("X-Token", "not-a-jwt")])[0] == 401
    status, headers, _ = send(port, "/staff")
    assert status == 401
    realm = ASCII.replace("\\", "\\\\").replace('"', '\\"')
    assert headers["WWW-Authenticate"] == f'Basic realm="{realm}"'
