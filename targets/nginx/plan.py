"""Which server blocks and locations an edge needs, and which (route, match) pairs each
location must choose between, in the order `edgec.routing` ranks them.

nginx picks a server by host name and a location by path; edgec's precedence (host, then
path, then method, headers, query, then source order) is the same order, so the plan keeps
nginx's selection for host and path and leaves the rest to a per-location choice:

* one server per host name a match names (exact or `*.` wildcard), plus the default server
  for requests no host name covers: routing.virtual_hosts says what each must list (every
  match whose host condition covers all of its names, and every match with no host
  condition), so a more specific route wins only when it matches, exactly as routing
  falls back to less specific hosts.
* per server: `location = P` for each exact path and each prefix P (and for P when an exact
  path is P/), `location P/` for each prefix, and `location /`. A request that reaches a location can only be matched by the
  listed candidates; regex paths are tested per request (they outrank every prefix), except
  in exact locations where the path is known and the regex is decided here.
* candidates are cut after the first one with no condition left to test: nothing after it
  can ever win.
* when per-host servers would repeat too many locations (many hosts and many routes without
  a host condition), there is one server and the host pattern is one more condition tested
  per request, ranked first as routing ranks it.

No nginx syntax here: emit.py turns the plan into directives.
"""
from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from typing import NamedTuple

from edgec import ir
from edgec import routing
from edgec.routing import Entry, regex_literal_prefix

DEFAULT = None  # the default server's key


class Candidate(NamedTuple):
    """One (route, match) a location may serve. A tuple: a frozen dataclass's __init__ (an
    object.__setattr__ per field) cost more than the rest of making one."""

    entry: Entry
    host_pattern: str | None  # the host pattern of the match that covers this server
    runtime_regex: bool  # the path regex is tested per request
    host_test: bool  # the host pattern is tested per request (one server for every host)
    # precedence_key(entry, host_pattern), the Alternative's: a candidate is sorted into
    # every location it can serve, and computing the key each time was most of the plan
    key: tuple

    @property
    def conditional(self) -> bool:
        e = self.entry
        return bool(self.runtime_regex or self.host_test or e.methods or e.headers or e.query)


@dataclass
class Location:
    kind: str  # "exact" (location = P), "prefix" (location P/), "root" (location /)
    path: str  # decoded path: P for exact, P for prefix (without its trailing "/"), "" for root
    candidates: list[Candidate]


@dataclass
class ServerPlan:
    name: str | None  # host pattern, or None for the default server
    locations: list[Location] = field(default_factory=list)


# Above this many locations, per-host servers (each repeating every route without a host
# condition) cost more than testing the host per request in one server.
SPLIT_LIMIT = 2000


def plan(edge: ir.Edge) -> list[ServerPlan]:
    hosts = {h for route in edge.routes for m in route.matches for h in m.hosts}  # one server each
    if hosts:
        # the default server lists the matches without a host: whether per-host servers would
        # repeat too many of its locations is known before any server's list is sorted
        order = routing.first_match_order(edge)
        if len(hosts) * _location_count([a.entry for a in order if a.host is None]) > SPLIT_LIMIT:
            return [ServerPlan(DEFAULT, _locations([Candidate(a.entry, a.host, False, a.host is not None, a.key)
                                                    for a in order]))]
    vhosts = routing.virtual_hosts(edge)
    servers = [ServerPlan(DEFAULT, _locations([Candidate(a.entry, None, False, False, a.key)
                                               for a in vhosts[-1].alternatives]))]
    for vh in vhosts[:-1]:
        servers.append(ServerPlan(vh.name, _locations([Candidate(a.entry, a.host, False, False, a.key)
                                                       for a in vh.alternatives])))
    return servers


def _location_count(entries: list[Entry]) -> int:
    """len(_locations(...)) of these entries' candidates, without choosing between them."""
    exact, prefix = set(), set()
    for e in entries:
        t = e.match.path.type
        if t == "exact":
            exact.add(e.path_value)
        elif t == "prefix" and e.path_value:  # "" is `location /`, counted below
            prefix.add(e.path_value)
    return len(exact | prefix | _slashless(exact)) + len(prefix) + 1


def _slashless(exact) -> set[str]:
    # nginx answers "/p" with a 301 to "/p/" when a location "/p/" (exact ones too) proxies
    # and no location "= /p" exists: every such "/p" gets its own location
    return {p[:-1] for p in exact if p.endswith("/") and len(p) > 1}


def _locations(cands: list[Candidate]) -> list[Location]:
    exact: dict[str, list[Candidate]] = {}
    prefix: dict[str, list[Candidate]] = {}
    regex: list[Candidate] = []
    for c in cands:
        t = c.entry.match.path.type
        if t == "exact":
            exact.setdefault(c.entry.path_value, []).append(c)
        elif t == "prefix":
            prefix.setdefault(c.entry.path_value, []).append(c)
        else:
            regex.append(c)
    runtime_regex = [Candidate(c.entry, c.host_pattern, True, c.host_test, c.key) for c in regex]
    by_start = _RegexStarts([c.entry.match.path.value for c in regex])
    out: list[Location] = []
    for path in sorted(set(exact) | {p for p in prefix if p} | _slashless(exact)):
        found = list(exact.get(path, ()))
        found += [regex[i] for i in by_start.under(path) if regex[i].entry.regex(path) is not None]
        found += _covering(prefix, path)
        out.append(Location("exact", path, _cut(found)))
    for path in sorted(p for p in prefix if p):
        under = path + "/"
        found = [runtime_regex[i] for i in by_start.related(under)]
        out.append(Location("prefix", path, _cut(found + _covering(prefix, under))))
    out.append(Location("root", "", _cut(runtime_regex + prefix.get("", []))))
    return out


class _RegexStarts:
    """The regexes (by index, in their order) found by the text their matches start with, so
    that a path is tried only against the regexes that can match it: trying every regex at
    every path was quadratic (most of a 10,000-route build)."""

    def __init__(self, patterns: list[str]):
        self.by_start: dict[str, list[int]] = {}
        for i, pattern in enumerate(patterns):
            self.by_start.setdefault(regex_literal_prefix(pattern), []).append(i)
        self.starts = sorted(self.by_start)
        self.lengths = sorted({len(s) for s in self.by_start})  # the only cuts of a path worth looking up

    def under(self, path: str) -> list[int]:
        """The regexes whose start `path` begins with."""
        by_start, found = self.by_start, []
        for n in self.lengths:
            if n > len(path):
                break
            found += by_start.get(path[:n], ())
        return sorted(found)

    def related(self, path: str) -> list[int]:
        """Those, and the regexes whose start begins with `path`."""
        found = set(self.under(path))
        for start in self.starts[bisect.bisect_left(self.starts, path):]:
            if not start.startswith(path):
                break
            found.update(self.by_start[start])
        return sorted(found)


def _covering(prefix: dict[str, list[Candidate]], path: str) -> list[Candidate]:
    """Prefix candidates whose prefix matches `path` element-wise."""
    found: list[Candidate] = []
    probe = path[:-1] if path.endswith("/") else path
    while probe:
        found += prefix.get(probe, ())
        probe = probe[:probe.rfind("/")]
    found += prefix.get("", ())
    return found


def _cut(found: list[Candidate]) -> list[Candidate]:
    found.sort(key=lambda c: c.key)
    for i, c in enumerate(found):
        if not c.conditional:
            return found[:i + 1]
    return found
