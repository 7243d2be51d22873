"""Lint rules that need the routing semantics (docs/semantics.md): routes that can never
win, identical matches, redirect loops, and winners picked by a tie-break rule.

They look only at what is certain: a match is "taken" by another only when that other
match accepts every request it accepts and ranks above it for each of them, so a finding
is never a guess (W318 says "may" where a regex is involved). Matches are grouped by their
path so the work stays close to linear in the number of routes.
"""
from __future__ import annotations

import re
from collections import Counter
from itertools import combinations
from typing import Iterator

from .. import ir
from ..keptcode import dataclass
from ..routing import (DEFAULT_PORTS, Alternative, Entry, Request, alternative, compile, host_matches, host_of,
                       per_edge, prefix_matches, regex_literal_prefix)
from . import Finding, Rule, edges, rule

MAX_SUBSET_CONDITIONS = 4  # above this many exact conditions, compare within the bucket instead
MAX_REDIRECT_HOPS = 10


def _cond(vm: ir.ValueMatch, header: bool) -> tuple[str, str, str | None]:
    return (vm.name.lower() if header else vm.name, vm.type, vm.value)


def identity(e: Entry) -> tuple:
    """Two matches with the same identity accept exactly the same requests: the path is the
    router's (a prefix without its trailing "/", %XX decoded), so "/a/" and "/a" are one."""
    m = e.match
    return ((m.path.type, e.path_value), frozenset(m.hosts), frozenset(m.methods),
            frozenset(_cond(h, True) for h in m.headers), frozenset(_cond(q, False) for q in m.query))


def _implied(d: tuple[str, str, str | None], conds: dict[str, tuple[str, str, str | None]]) -> bool:
    """Does every value the match's condition on this name accepts satisfy `d`?"""
    m = conds.get(d[0])
    if m is None:
        return False
    if d[1] == "present":
        return True
    if d[1] == "exact":
        return m[1] == "exact" and m[2] == d[2]
    if m[1] == "regex":
        return m[2] == d[2]
    return m[1] == "exact" and re.fullmatch(d[2] or "", m[2] or "") is not None


class _Shape:
    """A match reduced to what dominance compares."""

    __slots__ = ("route_index", "match_index", "route", "match", "hosts", "methods", "headers", "query", "exacts")

    def __init__(self, ri: int, mi: int, route: ir.Route, m: ir.Match):
        self.route_index, self.match_index, self.route, self.match = ri, mi, route, m
        self.hosts = frozenset(m.hosts)
        self.methods = frozenset(m.methods)
        self.headers = {c[0]: c for c in (_cond(h, True) for h in m.headers)}
        self.query = {c[0]: c for c in (_cond(q, False) for q in m.query)}
        self.exacts = frozenset([("h",) + c for c in self.headers.values() if c[1] == "exact"]
                                + [("q",) + c for c in self.query.values() if c[1] == "exact"])

    def takes(self, m: "_Shape", host: str | None, method: str | None) -> bool:
        """self accepts every request m accepts through the host pattern `host` (None: m
        names none) with `method` (None: m names none), ranking at least as high."""
        if (self.hosts and host not in self.hosts) or bool(self.hosts) != (host is not None):
            return False
        if self.methods and method not in self.methods:
            return False
        return self.conditions_implied_by(m)

    def conditions_implied_by(self, m: "_Shape") -> bool:
        """Does every request m accepts meet self's header and query conditions?"""
        return (all(_implied(d, m.headers) for d in self.headers.values())
                and all(_implied(d, m.query) for d in self.query.values()))

    def dominates(self, m: "_Shape") -> bool:
        """self takes every request m accepts (self is earlier in the file, which settles a full tie)."""
        return all(self.takes(m, host, method) for host in (m.hosts or (None,)) for method in (m.methods or (None,)))


def _union_cover(s: _Shape, pool: list[_Shape]) -> list[_Shape]:
    """Earlier matches that together take every request s accepts, one taking each of its
    hosts and methods (route `GET POST` after a `GET` route and a `POST` route); [] when
    some host or method is left to s."""
    takers: dict[int, _Shape] = {}
    for host in sorted(s.hosts) or [None]:
        for method in sorted(s.methods) or [None]:
            d = next((d for d in pool if d.takes(s, host, method)), None)
            if d is None:
                return []
            takers.setdefault(id(d), d)
    return list(takers.values())


def _subsets(items: frozenset) -> Iterator[frozenset]:
    for n in range(len(items) + 1):
        for combo in combinations(sorted(items, key=repr), n):
            yield frozenset(combo)


def _bucket(e: Entry) -> tuple:
    """What a match and its dominators share: the path, whether methods are named, and how
    many header and query names are tested (identical matches share it too)."""
    m = e.match
    return (m.path.type, e.path_value, bool(m.methods), len({h.name.lower() for h in m.headers}) if m.headers else 0,
            len({q.name for q in m.query}) if m.query else 0)


@per_edge
def dominators(edge: ir.Edge) -> dict[int, list[tuple[list[_Shape], _Shape | None]]]:
    """Route index → for each of its matches: earlier matches that together take every
    request it accepts ([] when there are none), and the one identical to it (if any)."""
    # the router's entries: one per match, in the order of the routes and their matches
    entries = compile(edge).entries
    buckets = [_bucket(e) for e in entries]
    counts = Counter(buckets)
    # bucket → exact-condition set → shapes (an exact condition of a dominator must appear in the match)
    index: dict[tuple, dict[frozenset, list[_Shape]]] = {}
    identical: dict[tuple, _Shape] = {}
    out: dict[int, list[tuple[list[_Shape], _Shape | None]]] = {}
    k = 0  # the entry of the route's first match
    for ri, route in enumerate(edge.routes):
        results: list[tuple[list[_Shape], _Shape | None]] = []
        added = []
        for mi, m in enumerate(route.matches):
            e, bucket = entries[k], buckets[k]
            k += 1
            if counts[bucket] == 1:  # most matches: no other has its bucket, so nothing to compare
                results.append(([], None))
                continue
            s = _Shape(ri, mi, route, m)
            same = identity(e)
            added.append((bucket, same, s))
            by_exacts = index.get(bucket, {})
            if len(s.exacts) <= MAX_SUBSET_CONDITIONS:
                pool = (d for sub in _subsets(s.exacts) for d in by_exacts.get(sub, ()))
            else:
                pool = (d for group in by_exacts.values() for d in group)
            candidates = list(pool)
            whole = next((d for d in candidates if d.dominates(s)), None)
            found = [whole] if whole is not None else _union_cover(s, candidates)
            results.append((found, identical.get(same)))
        out[ri] = results
        for bucket, same, s in added:
            index.setdefault(bucket, {}).setdefault(s.exacts, []).append(s)
            identical.setdefault(same, s)
    return out


def _where(s: _Shape) -> str:
    line = s.match.span.line if s.match.span else (s.route.span.line if s.route.span else None)
    return f"route '{s.route.name}' match {s.match_index + 1}" + (f" (line {line})" if line else "")


@per_edge
def never_wins(edge: ir.Edge) -> dict[str, list[str]]:
    """Route name → the routes that take every request it accepts, for each route that can
    never win (a route whose every match is only a duplicate is left to W305)."""
    out = {}
    for ri, results in dominators(edge).items():
        if not results or not all(found for found, _ in results):
            continue
        if all(same is not None for _, same in results):
            continue
        out[edge.routes[ri].name] = sorted({d.route.name for found, _ in results for d in found})
    return out


def may_overlap(a: Alternative, b: Alternative) -> bool:
    """Can one request be accepted by both? False only when certain (a regex is assumed to
    accept anything its literal rivals do not rule out)."""
    if not _hosts_overlap(a.host, b.host):
        return False
    if a.match.methods and b.match.methods and not set(a.match.methods) & set(b.match.methods):
        return False
    for conds_a, conds_b in ((a.entry.headers, b.entry.headers), (a.entry.query, b.entry.query)):
        exact_b = dict((n, t) for n, t in conds_b if isinstance(t, str))
        if any(isinstance(t, str) and exact_b.get(n, t) != t for n, t in conds_a):
            return False
    pa, pb = a.match.path.type, b.match.path.type
    va, vb = a.entry.path_value, b.entry.path_value
    if "regex" in (pa, pb):
        if pa == pb:
            return True
        regex, other, kind = (a.entry.regex, vb, pb) if pa == "regex" else (b.entry.regex, va, pa)
        return kind == "prefix" or regex(other) is not None
    if pa == "exact" and pb == "exact":
        return va == vb
    if pa == "exact":
        return prefix_matches(vb, va)
    if pb == "exact":
        return prefix_matches(va, vb)
    return prefix_matches(va, vb) or prefix_matches(vb, va)


def _hosts_overlap(a: str | None, b: str | None) -> bool:
    if a is None or b is None or a == b:
        return True
    if a.startswith("*.") and b.startswith("*."):
        return a.endswith(b[1:]) or b.endswith(a[1:])
    if a.startswith("*."):
        return host_matches(a, b)
    return b.startswith("*.") and host_matches(b, a)


@rule
class ShadowedRoute(Rule):
    code = "W304"
    scope = "env"

    def check(self, ctx):
        for _, edge in edges(ctx):
            for name, by in never_wins(edge).items():
                yield Finding(f"route '{name}' can never win: every request it matches is taken by "
                              "route " + ", ".join(f"'{b}'" for b in by), edge.route(name).span,
                              "make its matches more specific (host, exact path, method, headers, query), "
                              "or move it above the routes that take its requests if it should win")


@rule
class DuplicateMatch(Rule):
    code = "W305"
    scope = "env"

    def check(self, ctx):
        for _, edge in edges(ctx):
            for ri, results in dominators(edge).items():
                route = edge.routes[ri]
                for mi, (_, same) in enumerate(results):
                    if same is not None:
                        m = route.matches[mi]
                        yield Finding(f"route '{route.name}' match {mi + 1} is identical to {_where(same)}, "
                                      f"which always takes its requests", m.span or route.span,
                                      "remove one of them, or tell them apart with another condition")


def _sample_request(m: ir.Match, edge: ir.Edge) -> Request | None:
    """A request the match accepts, or None when one cannot be written down for sure."""
    p = m.path
    if p.type == "regex" or any(c.type == "regex" for c in m.headers + m.query):
        return None
    path = p.value if p.type == "exact" or p.value != "/" else "/"
    host = "edge.test"
    if m.hosts:
        h = m.hosts[0]
        host = "x" + h[1:] if h.startswith("*.") else h
    headers = [(c.name, c.value if c.type == "exact" else "1") for c in m.headers]
    query = "&".join(f"{c.name}={c.value if c.type == 'exact' else '1'}" for c in m.query)
    lst = next((x for x in edge.listeners if not x.redirect), edge.listeners[0] if edge.listeners else None)
    scheme, port = (lst.protocol, lst.port) if lst else ("http", 80)
    return Request(m.methods[0] if m.methods else "GET", scheme, host, port, path, query, tuple(headers))


def _follow(location: str, req: Request, ports: dict[int, str]) -> Request | None:
    """The request a client sends after a redirect, when it comes back to this edge."""
    from urllib.parse import urlsplit
    parts = urlsplit(location)
    try:
        port = parts.port or DEFAULT_PORTS.get(parts.scheme)
    except ValueError:  # not a port this edge could listen on
        return None
    if ports.get(port) != parts.scheme:
        return None
    host = parts.netloc
    return Request(req.method, parts.scheme, host, port, parts.path or "/", parts.query, req.headers)


@rule
class RedirectLoop(Rule):
    code = "W306"
    scope = "env"

    def check(self, ctx):
        for _, edge in edges(ctx):
            router = compile(edge)
            ports = {x.port: x.protocol for x in edge.listeners}
            for route in edge.routes:
                if not isinstance(route.action, ir.Redirect):
                    continue
                for m in route.matches:
                    req = _sample_request(m, edge)
                    if req is None:
                        continue
                    chain = self._loop(router, req, route.name, ports)
                    if chain:
                        yield Finding(f"route '{route.name}' redirects in a loop: {' → '.join(chain)}",
                                      m.span or route.span,
                                      "change the redirect's path, host or scheme so the target is not matched "
                                      "by the same route")
                        break

    @staticmethod
    def _loop(router, req: Request, name: str, ports: dict[int, str]) -> list[str] | None:
        d = router.decide(req)
        if d.route != name or d.location is None:
            return None
        chain = [req.target]
        for _ in range(MAX_REDIRECT_HOPS):
            nxt = _follow(d.location, req, ports)
            if nxt is None:
                return None
            if d.route is not None and host_of(nxt.host) != host_of(req.host) \
                    and not router.edge.route(d.route).matches[d.match_index].hosts:
                return None  # another host name may well be served elsewhere: not certain
            chain.append(d.location)
            d = router.decide(nxt)
            if d.location is None:
                return None
            if d.route == name:
                return chain
            req = nxt
        return None


# paths below a prefix a regex is tried on before W318 supposes it accepts them all
_PROBES = ("", "/", "/x", "/x/y-1.z")
@per_edge
def may_never_win(edge: ir.Edge) -> dict[str, list[str]]:
    """Route name → the routes whose regex paths seem to accept every request it accepts:
    regexes rank above prefixes, but whether a pattern accepts every path under a prefix is
    only tried on a few paths, so this is "may", never "can never" (W304)."""
    # a regex takes a prefix's paths only if it accepts the prefix, so only if its literal
    # start is a start of the prefix: the regexes by literal start, each with its position
    # (the router's entries: one per match, in the order of the routes and their matches)
    entries = compile(edge).entries
    regexes: dict[str, list[tuple[int, Entry]]] = {}
    for i, e in enumerate(entries):
        if e.match.path.type == "regex":  # (not e.regex: that compiles the pattern)
            regexes.setdefault(regex_literal_prefix(e.match.path.value), []).append((i, e))
    if not regexes:
        return {}
    starts = sorted({len(start) for start in regexes})
    certain = never_wins(edge)
    out = {}
    k = 0  # the entry of the route's first match
    for route in edge.routes:
        first, k = k, k + len(route.matches)
        if route.name in certain or not route.matches:
            continue
        by: list[str] = []
        for e in entries[first:k]:
            taker = _regex_taker(e, regexes, starts)
            if taker is None:
                break
            by.append(taker.route.name)
        else:
            if set(by) != {route.name}:
                out[route.name] = sorted(set(by) - {route.name})
    return out


def _regex_taker(entry: Entry, regexes: dict[str, list[tuple[int, Entry]]], starts: list[int]) -> Entry | None:
    """The first regex entry that seems to take every request the prefix match of `entry`
    accepts (`starts`: the lengths of the regexes' literal starts, the only prefixes to look
    up). The prefix is the router's: decoded as a request's path is."""
    if entry.match.path.type != "prefix":
        return None
    prefix = entry.path_value
    first = prefix or "/"
    candidates = [c for n in starts if n <= len(first) for c in regexes.get(first[:n], ())]
    if not candidates:  # most prefixes
        return None
    candidates.sort(key=lambda c: c[0])
    probes = [prefix + p if prefix + p else "/" for p in _PROBES]
    shape = _Shape(0, 0, entry.route, entry.match)
    for _, e in candidates:
        d = _Shape(e.route_index, e.match_index, e.route, e.match)
        if (bool(d.hosts) == bool(shape.hosts) and shape.hosts <= d.hosts
                and (not d.methods or (shape.methods and shape.methods <= d.methods))
                and d.conditions_implied_by(shape)
                and all(e.regex(p) is not None for p in probes)):
            return e
    return None


@rule
class MayShadow(Rule):
    code = "W318"
    scope = "env"

    def check(self, ctx):
        for _, edge in edges(ctx):
            for name, by in may_never_win(edge).items():
                yield Finding(f"route '{name}' may never win: the regex path of route "
                              + ", ".join(f"'{b}'" for b in by) + " seems to accept every path under its "
                              "prefix, and a regex path ranks above a prefix", edge.route(name).span,
                              "anchor the regex more narrowly, or give the route an exact path or a host "
                              "condition if it should win; silence this if the regex leaves paths to it")


@dataclass(frozen=True)
class Tie:
    """Two matches that can take one request, where a tie-break rule picks the winner."""

    winner: Alternative
    loser: Alternative
    why: str  # order | method | headers


def _tie_break(a: Alternative, b: Alternative) -> str | None:
    """Why a ranks above b when only a tie-break decides it (None when a is plainly more
    specific). Their host and path rank alike: the key's fields from the third on are the
    method given, the header count, the query count, then the route's place in the file."""
    (method_a, headers_a, query_a, route_a), (method_b, headers_b, query_b, route_b) = a.key[2:6], b.key[2:6]
    if (method_a, headers_a, query_a) == (method_b, headers_b, query_b):
        return "order" if route_a != route_b else None
    if method_a != method_b:  # a names methods, b does not, and b has more other conditions
        return "method" if headers_b < headers_a or query_b < query_a else None
    return "headers" if headers_a != headers_b and query_b < query_a else None


def same_host_and_path(edge: ir.Edge) -> list[list[Alternative]]:
    """first_match_order grouped by host pattern and path, groups of two or more only, in the
    order of their best. Only those groups hold pairs, so only they are ranked: sorting the
    whole order would rank every match (the position in the order written settles equal
    keys, as first_match_order's stable sort does)."""
    by_path: dict[tuple, list[tuple[int, Entry, str | None]]] = {}
    written = ((e, host) for e in compile(edge).entries for host in e.match.hosts or (None,))
    for position, (e, host) in enumerate(written):
        by_path.setdefault((host, e.match.path.type, e.path_value), []).append((position, e, host))
    ranked = []
    for members in by_path.values():
        if len(members) > 1:
            alts = [(alternative(e, host), position) for position, e, host in members]
            ranked.append(sorted(alts, key=lambda pair: (pair[0].key, pair[1])))
    ranked.sort(key=lambda alts: (alts[0][0].key, alts[0][1]))
    return [[a for a, _ in alts] for alts in ranked]


@per_edge
def tie_breaks(edge: ir.Edge) -> list[Tie]:
    """For each pair of routes, the first of their matches that can take one request (the
    same host pattern and path) where a tie-break rule decides between them, best first.
    Routes that can never win (W304) and identical matches (W305) are left to those rules."""
    lost = set(never_wins(edge))
    seen: set[tuple[str, str]] = set()
    out = []
    for group in same_host_and_path(edge):
        for i, a in enumerate(group):
            for b in group[i + 1:]:
                pair = (a.route.name, b.route.name)
                if a.route is b.route or b.route.name in lost or pair in seen \
                        or identity(a.entry) == identity(b.entry) or not may_overlap(a, b):
                    continue
                why = _tie_break(a, b)
                if why:
                    seen.add(pair)
                    out.append(Tie(a, b, why))
    return sorted(out, key=lambda t: (t.loser.route_index, t.loser.match_index, t.winner.route_index))


_WHY = {"order": "only because {it} written first",
        "method": "because a method condition ranks above header and query conditions",
        "headers": "because header conditions rank above query conditions"}


@rule
class TieBreak(Rule):
    """One finding per losing match and reason, naming every route that wins that way."""
    code = "W321"
    scope = "env"

    def check(self, ctx):
        for _, edge in edges(ctx):
            by_loser: dict[tuple, list[Alternative]] = {}
            for tie in tie_breaks(edge):
                b = tie.loser
                by_loser.setdefault((b.route_index, b.match_index, tie.why), [b]).append(tie.winner)
            for (_, _, why), (b, *winners) in by_loser.items():
                names = " and ".join(f"'{a.route.name}'" + (f" (line {a.match.span.line})" if a.match.span else "")
                                     for a in winners)
                one = len(winners) == 1
                who = f"'{winners[0].route.name}' wins" if one else "they win"
                reason = _WHY[why].format(it="it is" if one else "they are")
                yield Finding(f"route '{b.route.name}' loses the requests route{'' if one else 's'} {names} also "
                              f"take{'s' if one else ''}: {who} them {reason}",
                              b.match.span or b.route.span,
                              "if that is what you mean, silence this; otherwise tell the routes apart with a "
                              "condition one has and the other refuses, or make the one that should win more specific")
