"""The features an IR uses, named as the capability tables name them.

Every target declares, for each name in FEATURES, whether it expresses it natively,
approximately or not at all (targets/<name>/ capability table). `used_features(edge)`
says which features an edge actually uses and where, so that a target can report
every feature it cannot express, by name, route and source position.
"""
from __future__ import annotations

import functools
from typing import Iterator

from . import directives, ir
from .diagnostics import Span
from .keptcode import dataclass

# what requests send that a product may treat otherwise than routing.decide: a request uses
# these (edgec.harness.live.case_features says which), an edge file only those of EVERY_REQUEST
REQUEST_FEATURES: dict[str, str] = {
    "request.path.unnormalised": "a request path that normalisation changes (dot segments, '//', %XX of a "
                                 "character that needs none): what the backend receives",
    "request.path.unsafe_characters": "raw ASCII characters RFC 3986 leaves out of a path "
                                      "(| { } [ ] < > ^ \\ \" and backtick): passed on as sent",
    "request.path.trailing_slash": "a path below '/' that ends in '/' (an empty last segment): the route it "
                                   "selects",
    "request.query.bare": "a target ending in a bare '?' (an empty query): where it goes on",
    "request.host.spelling": "a Host with upper-case letters or a trailing dot: the host of a redirect's Location",
    "request.target.non_ascii": "a raw byte over 0x7f in the request target: answered 400",
    "request.header.underscore": "a header line named with '_': dropped before routing, never forwarded",
    "request.header.repeated": "a header sent on several lines: matched by its first line, added to as one list",
    "request.header.empty": "a header sent with an empty value: present, and an empty element when joined with "
                            "its other lines or a value `request_header add` appends (`,edge`)",
    "request.header.request_id": f"X-Request-Id: the client's kept when it is {ir.SANE_REQUEST_ID_WORDS}, any other "
                                 "replaced by one the gateway makes, one made when none is sent; to the backend and "
                                 "back in the answer",
}

# the request features every request meets whatever it sends (an id is kept, replaced or made): every
# edge uses them, so a target that treats them otherwise says so for each file; a conformance case
# has one only when it sends what the rule changes (edgec.harness.live.request_features)
EVERY_REQUEST: tuple[str, ...] = ("request.header.request_id",)

# when an approximate row's difference can show at all (its `when`): a case outside it is held
# to decide like any other (edgec.harness.live.exercised says which a case is in)
EXERCISED: dict[str, str] = {
    "location_takes_host": "a redirect's Location takes the request's host (the redirect names none)",
    "path_goes_on": "the request is forwarded or redirected, so its path and query go on",
    "path_rebuilt": "a rewrite or a redirect builds a new path",
    "forwarded": "the request reaches a backend",
    "repeated_header_tested": "a header sent on several lines is one a header condition tests",
    "repeated_header_added": "a header sent on several lines is one the route's `request_header add` extends",
    "empty_header_tested": "a header a `present` condition tests is sent with an empty value",
    "query_escaped": "the query holds a %XX escape",
    "empty_header_joined": "a header sent with an empty value reaches the backend joined with another line of its "
                           "name or a value `request_header add` appends",
    "empty_header_added": "a header sent with an empty value is one the route's `request_header add` extends",
    "edge_lists_and_route_headers": "the edge has allow/deny lists and the request's route has response header "
                                    "operations",
}

# name → what it means (docs/targets.md is generated from this and the tables), as the
# directives declare them, then the request features
FEATURES: dict[str, str] = {**directives.features(), **REQUEST_FEATURES}


@dataclass(frozen=True)
class Use:
    feature: str
    where: str  # "route 'users'", "upstream 'orders'", "listener https:443"
    span: Span | None
    default: bool = False  # the language's default, not written in the file


def used_features(edge: ir.Edge) -> Iterator[Use]:
    for feature, where, span, default in feature_uses(edge):
        yield Use(feature, where, span, default)


def feature_uses(edge: ir.Edge, among: frozenset[str] | None = None) -> Iterator[tuple[str, str, Span | None, bool]]:
    """used_features as plain (feature, where, span, default) tuples: a target's check reads
    them all at 10,000 routes and keeps the few its table does not call native. among: the
    features looked for (None: every one); a statement declares each feature it can use, so
    one that declares none of them is not asked (most of a route's, for a target's check)."""
    for lst in edge.listeners:
        yield from _uses(_readers("listen", among), lst, f"listener {lst.protocol}:{lst.port}", lst.span)
    for up in edge.upstreams:
        yield from _uses(_readers("upstream", among), up, f"upstream '{up.name}'", up.span)
    for auth in edge.auth:
        yield from _uses(_readers("auth", among), auth, f"auth '{auth.name}'", auth.span)
    readers = _readers("route", among)
    if readers:
        for route in edge.routes:
            yield from _uses(readers, route, f"route '{route.name}'", route.span)
    for d in directives.of_block("edge").values():
        if d.opens is None and (among is None or not among.isdisjoint(declared(d.kind))):
            for feature, at, unwritten in d.used(edge, None):
                yield feature, "edge", at, unwritten
    for feature in EVERY_REQUEST:
        yield feature, "edge", edge.span, True


def route_features(route: ir.Route) -> Iterator[Use]:
    for feature, where, span, default in _uses(_readers("route", None), route, f"route '{route.name}'", route.span):
        yield Use(feature, where, span, default)


# (block, the features looked for) → the statement that opens the block, then each statement it
# may hold, those that can use one of them
_READERS: dict[tuple[str, frozenset[str] | None], tuple[directives.Directive, ...]] = {}


def _readers(block: str, among: frozenset[str] | None) -> tuple[directives.Directive, ...]:
    readers = _READERS.get((block, among))
    if readers is None:
        readers = _READERS[block, among] = tuple(
            d for d in (directives.opener(block), *directives.of_block(block).values())
            if d.uses is not None and (among is None or not among.isdisjoint(declared(d.kind))))
    return readers


@functools.cache
def declared(kind: str) -> frozenset[str]:
    """The features the statements of this kind declare: a statement written in two blocks
    (allow and deny) declares its feature in one of them, and uses no other."""
    return frozenset(f for block in ("edge", "listen", "upstream", "auth", "route")
                     for d in directives.of_block(block).values() if d.kind == kind for f in d.features)


def _uses(readers: tuple[directives.Directive, ...], node, where: str,
          span: Span | None) -> Iterator[tuple[str, str, Span | None, bool]]:
    """What the node of a block uses, as `readers` (_readers) find it."""
    for d in readers:
        for feature, at, unwritten in d.used(node, span):
            yield feature, where, at, unwritten
