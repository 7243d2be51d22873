"""The public semantics targets read: the first-match order, time limits, decoded paths.

A first-match product (Spring Cloud Gateway, ALB, Envoy) is right when trying the
Alternatives of first_match_order in order, with a plain evaluator of their conditions,
picks the route decide picks. The evaluator here is written from docs/semantics.md
section 2, independently of the router's tables."""
from __future__ import annotations

import dataclasses
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edgec import ir, routing
from edgec.routing import BadPath, Request, decide, first_match_order, virtual_hosts
from tests.conformance.corpus import case_id, cases, edge_of

from .helpers import edge
from .test_properties import BASE, match, request, route


def _value_holds(cond: ir.ValueMatch, value: str | None) -> bool:
    if value is None:
        return False
    if cond.type == "present":
        return True
    if cond.type == "exact":
        return value == cond.value
    return re.fullmatch(cond.value or "", value) is not None


def accepts(alt: routing.Alternative, req: Request) -> bool:
    """Whether one line of the order accepts the request, by the rules of docs/semantics.md."""
    m = alt.match
    host = routing.host_of(req.host)
    if alt.host is not None:
        if alt.host.startswith("*."):
            if not (host.endswith(alt.host[1:]) and len(host) > len(alt.host) - 1):
                return False
        elif host != alt.host:
            return False
    path = routing.normalize_path(req.path)
    p = m.path
    if p.type == "exact" and path != routing.decoded_path(p.value):
        return False
    if p.type == "prefix" and not routing.prefix_matches(routing.decoded_path(p.value), path):
        return False
    if p.type == "regex" and re.fullmatch(p.value, path) is None:
        return False
    if m.methods and req.method not in m.methods:
        return False
    headers: dict[str, str] = {}
    for name, value in req.headers:
        headers.setdefault(name.lower(), value)
    if not all(_value_holds(h, headers.get(h.name.lower())) for h in m.headers):
        return False
    query = routing.parse_query(req.query)
    return all(_value_holds(q, query.get(q.name)) for q in m.query)


def first_match(e: ir.Edge, req: Request) -> tuple[str, int] | None:
    for alt in first_match_order(e):
        if accepts(alt, req):
            return alt.route.name, alt.match_index
    return None


def decided(e: ir.Edge, req: Request) -> tuple[str, int] | None:
    d = decide(e, req)
    return (d.route, d.match_index) if d.route is not None else None


@settings(max_examples=400, deadline=None)
@given(st.lists(match, min_size=1, max_size=5), request)
def test_first_match_over_the_order_is_decide(matches, req):
    e = dataclasses.replace(BASE, routes=tuple(route(f"r{i}", m) for i, m in enumerate(matches)))
    assert first_match(e, req) == decided(e, req)


def by_virtual_host(e: ir.Edge, req: Request) -> tuple[str, int] | None:
    """As nginx and Envoy choose: the virtual host by name (exact, then the longest
    wildcard, then the default), then the first of its alternatives that accepts."""
    host = routing.host_of(req.host)
    vhosts = {vh.name: vh for vh in virtual_hosts(e)}
    wildcards = sorted((n for n in vhosts if n and n.startswith("*.") and host.endswith(n[1:])), key=len)
    name = host if host in vhosts else wildcards[-1] if wildcards else None
    for alt in vhosts[name].alternatives:
        if accepts(alt, req):
            return alt.route.name, alt.match_index
    return None


@settings(max_examples=400, deadline=None)
@given(st.lists(match, min_size=1, max_size=5), request)
def test_first_match_within_the_virtual_host_is_decide(matches, req):
    e = dataclasses.replace(BASE, routes=tuple(route(f"r{i}", m) for i, m in enumerate(matches)))
    assert by_virtual_host(e, req) == decided(e, req)


ROUTED = [c for c in cases() if not c.port]


@pytest.mark.parametrize("case", ROUTED, ids=[case_id(c) for c in ROUTED])
def test_first_match_over_the_order_is_decide_on_the_corpus(case):
    e = edge_of(case)
    req = case.request(e)
    if any(lst.redirect for lst in e.listeners if lst.port == req.port):
        pytest.skip("the listener redirects every request before routing")
    try:
        routing.normalize_path(req.path)
    except BadPath:
        pytest.skip("a bad path is answered 400 before routing")
    assert first_match(e, req) == decided(e, req) == by_virtual_host(e, req)


def test_a_virtual_host_lists_its_own_the_covering_wildcards_then_the_hostless():
    e = edge('route w { match host "*.example.com" path prefix "/w" forward v1 }\n'
             'route x { match host "x.example.com" "*.example.com" path prefix "/x" forward v1 }\n'
             'route p { match path prefix "/" forward v2 }')
    got = [(vh.name, [(a.route.name, a.host) for a in vh.alternatives]) for vh in virtual_hosts(e)]
    assert got == [("x.example.com", [("x", "x.example.com"), ("w", "*.example.com"), ("p", None)]),
                   ("*.example.com", [("w", "*.example.com"), ("x", "*.example.com"), ("p", None)]),
                   (None, [("p", None)])]


def test_the_order_lists_each_host_of_a_match_on_its_own_line():
    e = edge('route w { match host "*.example.com" "api.example.com" path prefix "/" forward v1 }\n'
             'route p { match path prefix "/api" forward v2 }')
    order = first_match_order(e)
    assert [(a.route.name, a.host) for a in order] == [("w", "api.example.com"), ("w", "*.example.com"),
                                                      ("p", None)]
    assert [a.one_host_match.hosts for a in order] == [("api.example.com",), ("*.example.com",), ()]
    assert order is first_match_order(e)  # built once per IR object


def test_the_order_ranks_path_then_conditions_then_file_order():
    e = edge('route a { match path prefix "/x" forward v1 }\n'
             'route b { match path prefix "/x/y" forward v1 }\n'
             'route c { match path regex "/x/.*" forward v1 }\n'
             'route d { match path exact "/x" forward v1 }\n'
             'route e { match path prefix "/x" method GET forward v1 }\n'
             'route f { match path prefix "/x" header "h" present forward v1 }\n'
             'route g { match path prefix "/x" forward v1 }')
    assert [a.route.name for a in first_match_order(e)] == ["d", "c", "b", "e", "f", "a", "g"]


def test_a_router_compiles_its_path_regexes_when_a_lookup_first_needs_them():
    # a build of an IR the analysis cache kept tests few of its patterns: compiling all of them
    # when the router is made cost that build ~0.1 s at 10,000 routes
    from edgec.regexes import compiled
    e = edge('route a { match path regex "/r/[0-9]+" forward v1 }\n'
             'route b { match path regex "/s/[a-z]+" forward v1 }\n'
             'route c { match path prefix "/" forward v1 }')
    compiled.cache_clear()  # the lint rules may have compiled them
    router = routing.Router(e)  # not routing.compile(e): the lint rules made that one and used it
    assert compiled.cache_info().currsize == 0
    assert [a.route.name for a in router.first_match_order()] == ["a", "b", "c"]
    assert compiled.cache_info().currsize == 0
    assert router.decide(Request.from_url("GET", "/s/abc")).route == "b"
    assert compiled.cache_info().currsize == 2
    assert router.decide(Request.from_url("GET", "/r/x")).route == "c"


def test_time_limits_take_per_try_else_the_upstream_read_timeout():
    up = ir.Upstream("u", (), "round_robin", None, None, ir.PassiveCheck(0, 0), None, ir.Keepalive(0, 0),
                     ir.UpstreamTimeouts(connect_ms=1_000, read_ms=30_000, send_ms=20_000))
    assert routing.time_limits(ir.Timeouts(0, 0), up) == routing.TimeLimits(30_000, 1_000, 20_000, 0)
    assert routing.time_limits(ir.Timeouts(9_000, 2_000), up) == routing.TimeLimits(2_000, 1_000, 20_000, 9_000)
    assert routing.attempt_timeout_ms(ir.Timeouts(9_000, 0), up) == 30_000


def test_decoded_path_is_the_value_requests_are_compared_with():
    assert routing.decoded_path("/a%20b/./c//d") == "/a b/c/d"
    assert routing.decoded_path("/bad%zz") == "/bad%zz"  # refused by normalize_path: kept as written


@pytest.mark.parametrize("rewrite,path,expected", [
    (ir.PathRewrite("prefix", "/new", "/o%6Cd"), ir.PathMatch("prefix", "/x"), "/old"),
    (ir.PathRewrite("prefix", "/new", None), ir.PathMatch("prefix", "/a%2Fb/"), "/a/b/"),
    (ir.PathRewrite("prefix", "/new", None), ir.PathMatch("exact", "/e"), "/e"),
    (ir.PathRewrite("prefix", "/new", None), ir.PathMatch("regex", "/r.*"), None),
])
def test_rewritten_prefix(rewrite, path, expected):
    assert routing.rewritten_prefix(rewrite, ir.Match(path)) == expected
