"""Which server blocks and locations an edge needs, and which (route, match) pairs each
location must choose between, in the order `edgec.routing` ranks them.

nginx picks a server by host name and a location by path; edgec's precedence (host, then
path, then method, headers, query, then source order) is the same order, so the plan keeps
nginx's selection for host and path and leaves the rest to a per-location choice:

* one server per host name a match names (exact or `*.` wildcard), plus the default server
  for requests no host name covers. A server lists every match whose host condition covers
  all of its names, and every match with no host condition: a more specific route wins only
  when it matches, exactly as routing falls back to less specific hosts.
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

from dataclasses import dataclass, field

from edgec import ir
from edgec.routing import Entry, Router, host_rank, precedence_key

DEFAULT = None  # the default server's key


@dataclass(frozen=True)
class Candidate:
    entry: Entry
    host_pattern: str | None  # the host pattern of the match that covers this server
    runtime_regex: bool  # the path regex is tested per request
    host_test: bool = False  # the host pattern is tested per request (one server for every host)

    @property
    def conditional(self) -> bool:
        e = self.entry
        return bool(self.runtime_regex or self.host_test or e.methods or e.headers or e.query)

    @property
    def key(self) -> tuple:
        return precedence_key(self.entry, self.host_pattern)


@dataclass
class Location:
    kind: str  # "exact" (location = P), "prefix" (location P/), "root" (location /)
    path: str  # decoded path: P for exact, P for prefix (without its trailing "/"), "" for root
    candidates: list[Candidate]


@dataclass
class ServerPlan:
    name: str | None  # host pattern, or None for the default server
    locations: list[Location] = field(default_factory=list)


def covers(pattern: str, server: str) -> bool:
    """Every host the server name `server` accepts is accepted by the match host `pattern`."""
    if pattern == server:
        return True
    if pattern.startswith("*."):
        base = server[1:] if server.startswith("*.") else "." + server
        return base.endswith(pattern[1:]) and base != pattern[1:]
    return False


def _suffixes(name: str) -> list[str]:
    """Wildcard patterns that may cover server `name`: "*.b.c", "*.c" for "a.b.c"."""
    labels = name[2:].split(".") if name.startswith("*.") else name.split(".")
    start = 0 if name.startswith("*.") else 1
    return ["*." + ".".join(labels[i:]) for i in range(start, len(labels))]


# Above this many locations, per-host servers (each repeating every route without a host
# condition) cost more than testing the host per request in one server.
SPLIT_LIMIT = 2000


def plan(edge: ir.Edge, router: Router) -> list[ServerPlan]:
    by_exact: dict[str, list[Entry]] = {}
    by_wild: dict[str, list[Entry]] = {}
    hostless: list[Entry] = []
    for e in router.entries:
        if not e.match.hosts:
            hostless.append(e)
        for h in e.match.hosts:
            (by_wild if h.startswith("*.") else by_exact).setdefault(h, []).append(e)
    default = _locations([Candidate(e, None, False) for e in hostless])
    if (len(by_exact) + len(by_wild)) * len(default) > SPLIT_LIMIT:
        cands = [Candidate(e, None, False) for e in hostless]
        cands += [Candidate(e, h, False, True) for e in router.entries for h in e.match.hosts]
        return [ServerPlan(DEFAULT, _locations(cands))]
    servers = [ServerPlan(DEFAULT, default)]
    for name in sorted(set(by_exact) | set(by_wild), key=_server_order):
        entries: dict[int, tuple[Entry, str]] = {}
        for pattern in ([] if name.startswith("*.") else [name]) + _suffixes(name):
            for e in (by_exact if not pattern.startswith("*.") else by_wild).get(pattern, ()):
                if covers(pattern, name):
                    best = entries.get(id(e))
                    if best is None or host_rank(pattern) < host_rank(best[1]):
                        entries[id(e)] = (e, pattern)
        cands = [Candidate(e, p, False) for e, p in entries.values()]
        cands += [Candidate(e, None, False) for e in hostless]
        servers.append(ServerPlan(name, _locations(cands)))
    return servers


def _server_order(name: str) -> tuple:
    return (name.startswith("*."), name)


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
    runtime_regex = [(Candidate(c.entry, c.host_pattern, True, c.host_test), literal_prefix(c.entry.match.path.value))
                     for c in regex]
    out: list[Location] = []
    # nginx answers "/p" with a 301 to "/p/" when a location "/p/" (exact ones too) proxies
    # and no location "= /p" exists: every such "/p" gets its own location
    slashless = {p[:-1] for p in exact if p.endswith("/") and len(p) > 1}
    for path in sorted(set(exact) | {p for p in prefix if p} | slashless):
        found = list(exact.get(path, ()))
        found += [c for c in regex if c.entry.regex(path) is not None]  # type: ignore[operator]
        found += _covering(prefix, path)
        out.append(Location("exact", path, _cut(found)))
    for path in sorted(p for p in prefix if p):
        under = path + "/"
        found = [c for c, lit in runtime_regex if lit.startswith(under) or under.startswith(lit)]
        out.append(Location("prefix", path, _cut(found + _covering(prefix, under))))
    out.append(Location("root", "", _cut([c for c, _ in runtime_regex] + prefix.get("", []))))
    return out


def literal_prefix(pattern: str) -> str:
    """The text every full match of `pattern` starts with ("" when unsure), so that a regex
    is tested only in the locations whose paths it can match."""
    if "|" in pattern:
        return ""
    out = []
    for i, ch in enumerate(pattern):
        if ch in "\\^$.|?*+()[]{}":
            if ch in "?*{" and out:
                out.pop()  # the quantifier may take the last character away
            break
        out.append(ch)
    return "".join(out)


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
