"""W304 shadowed-route, W305 duplicate-match, W306 redirect-loop: each fires where it
must and stays quiet where the routes only look alike."""
from __future__ import annotations

import pytest

from edgec.pipeline import analyse

from .helpers import UPSTREAMS


def codes(routes: str, listeners: str = "listen http 80") -> list[tuple[str, int, str]]:
    text = f'edge "t" {{\n{listeners}\n{UPSTREAMS}\n{routes}\n}}\n'
    result = analyse(text, "t.edge")
    assert result.ok, [d.message for d in result.diagnostics]
    return [(d.code, d.line, d.message) for d in result.diagnostics if d.code in ("W304", "W305", "W306")]


@pytest.mark.parametrize("routes", [
    # a broader method list takes the narrower one
    'route a { match path prefix "/x" method GET POST forward v1 }\nroute b { match path prefix "/x" method GET forward v2 }',
    # presence takes a value
    'route a { match header "X-A" present forward v1 }\nroute b { match header "x-a" = "1" forward v2 }',
    # a regex condition takes an exact value it accepts
    'route a { match query "id" ~ "[0-9]+" forward v1 }\nroute b { match query "id" = "42" forward v2 }',
    # more hosts take fewer
    'route a { match host "a.example" "b.example" forward v1 }\nroute b { match host "b.example" forward v2 }',
    # every match of b is taken, by two different routes
    'route a { match path exact "/a" forward v1 }\nroute c { match path prefix "/c" method GET POST forward v1 }\n'
    'route b { match path exact "/a" match path prefix "/c/" method GET forward v2 }',
])
def test_shadowed_route(routes):
    found = codes(routes)
    assert [c for c, _, _ in found if c == "W304"] == ["W304"], found
    assert "route 'b' can never win" in next(m for c, _, m in found if c == "W304")


@pytest.mark.parametrize("routes", [
    # the later route is more specific
    'route a { match path prefix "/api" forward v1 }\nroute b { match path prefix "/api" header "x" = "1" forward v2 }',
    'route a { match path prefix "/api" forward v1 }\nroute b { match path prefix "/api/v2" forward v2 }',
    'route a { match path prefix "/x" forward v1 }\nroute b { match path prefix "/x" method GET forward v2 }',
    'route a { forward v1 }\nroute b { match host "b.example" forward v2 }',
    # different values
    'route a { match header "x" = "1" forward v1 }\nroute b { match header "x" = "2" forward v2 }',
    # a regex that does not accept the value
    'route a { match query "id" ~ "[0-9]+" forward v1 }\nroute b { match query "id" = "x42" forward v2 }',
    # one match of b is free
    'route a { match path exact "/a" forward v1 }\nroute b { match path exact "/a" match path exact "/b" forward v2 }',
    # exact host beats a wildcard even when written later
    'route a { match host "*.example.com" forward v1 }\nroute b { match host "a.example.com" forward v2 }',
    # the earlier match is narrower in methods
    'route a { match path prefix "/x" method GET forward v1 }\nroute b { match path prefix "/x" method GET POST forward v2 }',
])
def test_not_shadowed(routes):
    assert [c for c, _, _ in codes(routes) if c == "W304"] == []


def test_duplicate_match():
    found = codes('route a { match path prefix "/api" forward v1 }\nroute b { match path prefix "/api/" forward v2 }')
    assert [c for c, _, _ in found] == ["W305"]  # the trailing slash of a prefix is ignored
    found = codes('route a { match path prefix "/api" method GET header "X" = "1" forward v1 }\n'
                  'route b { match header "x" = "1" method GET path prefix "/api/" forward v2 }')
    assert [c for c, _, _ in found] == ["W305"]
    assert "route 'b' match 1 is identical to route 'a' match 1" in found[0][2]


@pytest.mark.parametrize("routes", [
    'route a { match path prefix "/api" forward v1 }\nroute b { match path exact "/api" forward v2 }',
    'route a { match header "x" = "1" forward v1 }\nroute b { match header "x" ~ "1" forward v2 }',
    'route a { match host "a.example" forward v1 }\nroute b { match host "a.example" "b.example" forward v2 }',
])
def test_similar_matches_are_not_duplicates(routes):
    assert [c for c, _, _ in codes(routes) if c == "W305"] == []


@pytest.mark.parametrize("routes,listeners", [
    ('route r { match path prefix "/a" redirect 301 }', "listen http 80"),
    ('route r { match path prefix "/a" redirect 302 prefix "/a/b" }', "listen http 80"),
    ('route r { match path prefix "/x" redirect scheme https }', 'listen http 80\nlisten https 443 { tls cert "c" key "k" }'),
    ('route r { match host "a.example" "b.example" path prefix "/" redirect host "b.example" }', "listen http 80"),
    ('route r1 { match path prefix "/one" redirect path "/two" }\nroute r2 { match path prefix "/two" redirect path "/one" }',
     "listen http 80"),
])
def test_redirect_loop(routes, listeners):
    found = [m for c, _, m in codes(routes, listeners) if c == "W306"]
    assert found and "redirects in a loop" in found[0]


@pytest.mark.parametrize("routes,listeners", [
    ('route r { match path prefix "/old" redirect 301 prefix "/new" }\nroute n { match path prefix "/new" forward v1 }',
     "listen http 80"),
    # https goes to a port this edge does not listen on
    ('route r { match path prefix "/x" redirect scheme https }', "listen http 80"),
    # another host may be served elsewhere
    ('route r { redirect host "www.example.com" }', "listen http 80"),
    ('route r { match host "example.com" redirect host "www.example.com" }', "listen http 80"),
    # a different port
    ('route r { redirect port 8443 }', "listen http 80"),
])
def test_no_redirect_loop(routes, listeners):
    assert [c for c, _, _ in codes(routes, listeners) if c == "W306"] == []


def test_rules_are_registered_and_documented():
    from edgec.lint import all_rules
    rules = {r.code: r.name for r in all_rules()}
    assert rules["W304"] == "shadowed-route" and rules["W305"] == "duplicate-match" and rules["W306"] == "redirect-loop"
