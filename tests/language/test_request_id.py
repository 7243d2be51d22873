"""X-Request-Id is the edge's (docs/semantics.md, identity): every target passes on the client's
when it is sane, else one it makes, to the backend and back. A route's header operation, a rate
limit by it, and an authorization service's copied headers, which each target would read or
apply differently, are refused (E232) where they are written; reading it is allowed."""
from __future__ import annotations

import pytest

from edgec.importers.nginx import import_nginx
from edgec.pipeline import analyse

AUTH = '  auth external checker {\n    url "http://127.0.0.1:9002/check"\n{auth}  }\n'


def source(route_lines: str = "", auth_lines: str = "") -> str:
    return ('edge "a" {\n  upstream u {\n    server "127.0.0.1:9001"\n  }\n'
            + AUTH.replace("{auth}", auth_lines)
            + f'  route r {{\n    match path prefix "/"\n    auth checker\n{route_lines}    forward u\n  }}\n}}\n')


def found(text: str):
    return [(d.code, d.line, d.column) for d in analyse(text, "a.edge").diagnostics if d.severity == "error"]


@pytest.mark.parametrize("line", [
    'request_header set "X-Request-Id" "fixed"',
    'request_header add "x-request-id" "more"',
    'request_header remove "X-Request-Id"',
    'response_header set "X-REQUEST-ID" "fixed"',
    'response_header add "X-Request-Id" "more"',
    'response_header remove "X-Request-Id"',
])
def test_a_routes_header_operation_on_it_is_refused_where_it_is_written(line):
    result = analyse(source(f"    {line}\n"), "a.edge")
    (d,) = [d for d in result.diagnostics if d.severity == "error"]
    assert (d.code, d.line, d.column) == ("E232", 11, line.index('"') + 5)
    assert "the edge's request id" in d.message and line.split()[1] in d.message
    assert "passes on the client's X-Request-Id" in d.hint and result.edge is None


def test_a_rate_limit_by_it_is_refused():
    result = analyse(source('    rate_limit 10/s by header "X-Request-Id"\n'), "a.edge")
    (d,) = [d for d in result.diagnostics if d.severity == "error"]
    assert (d.code, d.line, d.column) == ("E232", 11, 31)
    assert "limit by client_ip" in d.hint


def test_an_authorization_service_cannot_replace_it():
    result = analyse(source(auth_lines='    copy_headers "X-User" "X-Request-Id"\n'), "a.edge")
    (d,) = [d for d in result.diagnostics if d.severity == "error"]
    assert (d.code, d.line, d.column) == ("E232", 7, 27)


def test_reading_it_is_allowed():
    """Matching on the client's header, sending the id to the authorization service, exposing it
    to browsers and other headers' operations are not the request id's own."""
    text = source('    match header "X-Request-Id" ~ ".+"\n    request_header set "X-Request-Ids" "a"\n'
                  '    response_header set "X-Correlation-Id" "b"\n    cors {\n      origins "https://a.example"\n'
                  '      expose "X-Request-Id"\n    }\n',
                  auth_lines='    forward_headers "X-Request-Id"\n')
    result = analyse(text, "a.edge")
    assert found(text) == [] and result.edge is not None
    assert "X-Request-Id" in result.edge.auth[0].check_headers


def test_an_imported_nginx_operation_on_it_is_left_out_with_a_warning(tmp_path):
    conf = tmp_path / "n.conf"
    conf.write_text("events {}\nhttp {\n  upstream app { server 10.0.8.10:8080; }\n  server {\n    listen 80;\n"
                    "    location / {\n      proxy_set_header X-Request-Id \"fixed\";\n"
                    "      add_header X-Request-Id $request_id always;\n      proxy_pass http://app;\n    }\n  }\n}\n")
    result = import_nginx(str(conf), "n")
    warned = [(d.code, d.line) for d in result.diagnostics if "X-Request-Id" in d.message]
    assert warned == [("W503", 7), ("W503", 8)]
    assert "X-Request-Id" not in result.text and found(result.text) == []
