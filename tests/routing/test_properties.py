"""Property: the order routes are written in decides the winner only between routes of
equal specificity (the last tie-break)."""
from __future__ import annotations

import dataclasses

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from edgec import ir
from edgec.routing import Request, compile, normalize_path

from .helpers import edge

BASE = edge("route base { forward v1 }")

segments = st.sampled_from(["a", "b", "ab"])
paths = st.lists(segments, max_size=3).map(lambda s: "/" + "/".join(s))
path_match = st.one_of(
    st.builds(lambda p: ir.PathMatch("exact", p), paths),
    st.builds(lambda p, slash: ir.PathMatch("prefix", p + ("/" if slash and p != "/" else "")), paths, st.booleans()),
)
hosts = st.lists(st.sampled_from(["x.example.com", "*.example.com", "*.x.example.com", "example.com"]),
                 max_size=2, unique=True)
methods = st.lists(st.sampled_from(["GET", "POST"]), max_size=1)
headers = st.lists(st.sampled_from([ir.ValueMatch("x", "exact", "1"), ir.ValueMatch("y", "present")]),
                   max_size=2, unique=True)
query = st.lists(st.sampled_from([ir.ValueMatch("q", "exact", "1"), ir.ValueMatch("r", "present")]),
                 max_size=2, unique=True)
match = st.builds(lambda p, h, m, hd, q: ir.Match(p, tuple(h), tuple(m), tuple(hd), tuple(q)),
                  path_match, hosts, methods, headers, query)


def route(name, m):
    return ir.Route(name, (m,), ir.Forward("forward", (ir.Backend("v1", 1),)))


request = st.builds(
    lambda p, h, m, hd, q: Request.from_url(m, p + ("?" + "&".join(q) if q else ""), hd, host=h),
    paths.flatmap(lambda p: st.sampled_from([p, p + "/"]) if p != "/" else st.just(p)),
    st.sampled_from(["x.example.com", "y.x.example.com", "example.com", "other.org"]),
    st.sampled_from(["GET", "POST", "HEAD"]),
    st.lists(st.sampled_from([("x", "1"), ("X", "2"), ("y", "")]), max_size=2, unique_by=lambda h: h[0].lower()),
    st.lists(st.sampled_from(["q=1", "q=2", "r"]), max_size=2, unique=True),
)


@settings(max_examples=400, deadline=None)
@given(match, match, request)
def test_winner_does_not_depend_on_route_order(m1, m2, req):
    ab = dataclasses.replace(BASE, routes=(route("A", m1), route("B", m2)))
    ba = dataclasses.replace(BASE, routes=(route("B", m2), route("A", m1)))
    path = normalize_path(req.path)
    matching = compile(ab).matching(req, path)
    if len(matching) == 2:
        (k1, _, _), (k2, _, _) = matching
        assume(k1[:-2] != k2[:-2])  # same specificity: file order decides, by design
    assert compile(ab).decide(req).route == compile(ba).decide(req).route


@settings(max_examples=300, deadline=None)
@given(st.lists(match, min_size=1, max_size=5), request)
def test_fast_lookup_agrees_with_the_full_scan(matches, req):
    e = dataclasses.replace(BASE, routes=tuple(route(f"r{i}", m) for i, m in enumerate(matches)))
    router = compile(e)
    path = normalize_path(req.path)
    full = router.matching(req, path)
    best = router.winner(req, path)
    assert (best.route.name if best else None) == (full[0][1].route.name if full else None)
