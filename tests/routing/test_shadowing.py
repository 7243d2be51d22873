"""Routes that can never win (W304, certain) and routes a regex may take (W318): a case per
construct, and a property against decide itself: a route said never to win never wins."""
from __future__ import annotations

import dataclasses

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edgec import ir
from edgec.lint.routing_rules import may_never_win, never_wins
from edgec.routing import Request, compile, decide, normalize_path

from .helpers import edge
from .test_properties import BASE, match, request, route


@pytest.mark.parametrize("routes,expected", [
    # exact vs prefix: an exact path ranks above any prefix, wherever it is written
    ('route a { match path prefix "/a" forward v1 }\nroute b { match path exact "/a" forward v2 }', {}),
    ('route a { match path exact "/a" forward v1 }\nroute b { match path exact "/a" method GET forward v2 }', {}),
    # methods: the union of earlier method lists takes a later one
    ('route a { match path exact "/a" method GET forward v1 }\nroute c { match path exact "/a" method POST forward v1 }\n'
     'route b { match path exact "/a" method GET POST forward v2 }', {"b": ["a", "c"]}),
    ('route a { match path exact "/a" method GET forward v1 }\n'
     'route b { match path exact "/a" method GET POST forward v2 }', {}),
    # hosts: one route per host takes a route naming both
    ('route a { match host "a.example" forward v1 }\nroute c { match host "b.example" forward v1 }\n'
     'route b { match host "a.example" "b.example" forward v2 }', {"b": ["a", "c"]}),
    # a wildcard never takes an exact host, nor a longer wildcard
    ('route a { match host "*.example" forward v1 }\nroute b { match host "a.example" forward v2 }', {}),
    ('route a { match host "*.example" forward v1 }\nroute b { match host "*.a.example" forward v2 }', {}),
    ('route a { match host "*.example" "x.test" forward v1 }\nroute b { match host "*.example" forward v2 }',
     {"b": ["a"]}),
    # header and query sets: presence takes a value, a regex an exact value it accepts
    ('route a { match header "X-A" present query "q" = "1" forward v1 }\n'
     'route b { match header "x-a" = "v" query "q" = "1" forward v2 }', {"b": ["a"]}),
    ('route a { match query "q" ~ "[0-9]+" forward v1 }\nroute b { match query "q" = "12" forward v2 }',
     {"b": ["a"]}),
    ('route a { match query "q" = "1" forward v1 }\nroute b { match query "Q" = "1" forward v2 }', {}),
    ('route a { match header "x" = "1" forward v1 }\nroute b { match header "x" = "1" header "y" present forward v2 }',
     {}),
])
def test_never_wins(routes, expected):
    e = edge(routes)
    assert never_wins(e) == expected
    for name in expected:  # decide agrees on the requests the route names
        m = e.route(name).matches[0]
        for host in m.hosts or ("edge.test",):
            for method in m.methods or ("GET",):
                req = Request.from_url(method, m.path.value + ("?q=12" if m.query else ""),
                                       [("X-A", "v")] if m.headers else [], host=host.replace("*", "w"))
                assert decide(e, req).route != name


@pytest.mark.parametrize("routes,expected", [
    ('route p { match path prefix "/s" forward v1 }\nroute r { match path regex "/s(/.*)?" forward v2 }',
     {"p": ["r"]}),
    # the regex leaves "/s" itself to the prefix
    ('route p { match path prefix "/s" forward v1 }\nroute r { match path regex "/s/.*" forward v2 }', {}),
    # a method condition of the regex route leaves the other methods
    ('route p { match path prefix "/s" forward v1 }\nroute r { match path regex "/s.*" method GET forward v2 }', {}),
    ('route p { match path prefix "/s" method GET forward v1 }\nroute r { match path regex "/s.*" forward v2 }',
     {"p": ["r"]}),
    # a host the regex route does not name
    ('route p { match host "a.example" path prefix "/s" forward v1 }\nroute r { match path regex ".*" forward v2 }',
     {}),
    # a prefix with a character over 0x7f, tried as the router decodes a request's path
    ('route p { match path prefix "/café" forward v1 }\nroute r { match path regex "/caf.*" forward v2 }',
     {"p": ["r"]}),
    ('route p { match path prefix "/café" forward v1 }\nroute r { match path regex "/cafe.*" forward v2 }', {}),
])
def test_may_never_win(routes, expected):
    assert may_never_win(edge(routes)) == expected


def test_lint_says_may_shadow():
    from edgec.pipeline import analyse
    from .helpers import UPSTREAMS
    text = (f'edge "t" {{\nlisten http 80\n{UPSTREAMS}\nroute p {{ match path prefix "/s" forward v1 }}\n'
            'route r { match path regex "/s(/.*)?" forward v2 }\n}\n')
    found = [(d.code, d.line) for d in analyse(text, "t.edge").diagnostics if d.code in ("W304", "W318")]
    assert found == [("W318", 6)]


def _narrowed(m: ir.Match, draw) -> ir.Match:
    """m with fewer requests: a subset of its hosts and methods, one more condition, or a value for a presence."""
    hosts = tuple(draw(st.lists(st.sampled_from(m.hosts), unique=True, min_size=1))) if m.hosts else ()
    methods = (tuple(draw(st.lists(st.sampled_from(m.methods), unique=True, min_size=1))) if m.methods
               else tuple(draw(st.lists(st.sampled_from(["GET", "POST"]), max_size=1))))
    extra = draw(st.sampled_from([(), (ir.ValueMatch("x", "exact", "1"),), (ir.ValueMatch("y", "exact", "v"),)]))
    headers = tuple({h.name: h for h in (*m.headers, *extra)}.values()) if not methods or m.methods else m.headers
    return dataclasses.replace(m, hosts=hosts, methods=methods if m.methods or not headers else m.methods,
                               headers=headers)


@st.composite
def shadowing_edges(draw):
    """Routes, some followed later by narrowed copies of earlier ones (so that W304 has work)."""
    base = draw(st.lists(match, min_size=1, max_size=4))
    matches = list(base)
    for m in base:
        if draw(st.booleans()):
            matches.append(_narrowed(m, draw))
    return dataclasses.replace(BASE, routes=tuple(route(f"r{i}", m) for i, m in enumerate(matches)))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(shadowing_edges(), st.lists(request, min_size=10, max_size=30))
def test_a_route_that_never_wins_never_wins(e, requests):
    never = never_wins(e)
    for req in requests + [_accepted_by(e.route(name).matches[0]) for name in never]:
        assert decide(e, req).route not in never
    for name in never:  # the request made for it does reach it: it loses there
        req = _accepted_by(e.route(name).matches[0])
        assert name in {entry.route.name for _, entry, _ in compile(e).matching(req, normalize_path(req.path))}


def _accepted_by(m: ir.Match) -> Request:
    """A request the match accepts."""
    path = m.path.value + ("x" if m.path.type == "prefix" and m.path.value.endswith("/") else "")
    host = (m.hosts[0].replace("*.", "w.") if m.hosts else "edge.test")
    query = "&".join(f"{q.name}={q.value or 1}" for q in m.query)
    return Request.from_url(m.methods[0] if m.methods else "GET", path + ("?" + query if query else ""),
                            [(h.name, h.value or "1") for h in m.headers], host=host)
