"""The per-request choice between the candidates of one location.

When host and path leave more than one (route, match) possible, each condition still to
test becomes a 0/1 map variable (an "atom"), and one map over the atoms, in precedence
order, names the location that serves the request; `try_files "" $choice` goes there.
"""
from __future__ import annotations

from typing import Callable

from . import regex
from .conf import PARAMETER_BYTES, D, Expr, entry, header_var, map_key
from .plan import Candidate
from .variables import Variables


class Matching:
    def __init__(self, variables: Variables):
        self.vars = variables
        self._atoms: dict[tuple, str] = {}  # condition → its variable, asked once per candidate
        self._longest = 0  # the longest of their names

    def selector(self, cands: list[Candidate], named: Callable[[Candidate], str], not_found: Callable[[], str]) -> str:
        """The variable naming the location for the first candidate whose conditions hold:
        named(c) is the candidate's named location, not_found() the 404 one."""
        rows = [([self.atom(a) for a in conditions(c)], named(c), c) for c in cands]
        last = rows[-1]
        default = last[1] if not last[2].conditional else not_found()
        if not last[2].conditional:
            rows = rows[:-1]
        # nginx reads no token over PARAMETER_BYTES, and the map's source names every atom of its
        # rows: many rows are split over a chain of maps, each one's default the next one's
        # value. nginx evaluates a map when its variable is read, so a request reads the next
        # map's atoms only when no row before them matched. Most locations choose between a
        # few rows, whose atoms fit however long the longest is.
        if sum([len(bits) for bits, _, _ in rows]) * (self._longest + 1) <= PARAMETER_BYTES:
            return self._choice(rows, default)
        for part in reversed(_parts(rows)):
            default = Expr("$" + self._choice(part, default))
        return default[1:]

    def _choice(self, rows: list, default: str) -> str:
        """One map of the chain: the first of `rows` whose atoms are all 1, else `default`."""
        atoms = dict.fromkeys([b for bits, _, _ in rows for b in bits])  # in order of first use
        key = ("sel", tuple(atoms), tuple([(tuple(b), n) for b, n, _ in rows]), default)
        source = Expr("".join(["$" + a for a in atoms]))

        def make(name: str) -> D:
            column = {a: i for i, a in enumerate(atoms)}
            entries = []
            for bits, target, _ in rows:  # a row's key: 1 where it has the atom, '.' elsewhere
                pattern = ["."] * len(atoms)
                for b in bits:
                    pattern[column[b]] = "1"
                entries.append(entry("~^" + "".join(pattern), target))
            return D("map", source, Expr("$" + name), block=entries + [entry("default", default)])
        return self.vars.define(key, make)

    def atom(self, cond: tuple) -> str:
        """A variable that is "1" when the condition holds."""
        name = self._atoms.get(cond)
        if name is None:
            name = self._atoms[cond] = self.vars.define(("a", cond), lambda n: self._atom_map(cond, n))
            self._longest = max(self._longest, len(name))
        return name

    def _atom_map(self, cond: tuple, name: str) -> D:
        source, entries = _ATOMS[cond[0]](self, cond)
        return D("map", source, Expr("$" + name), block=entries)

    def _host(self, cond: tuple):
        pattern = cond[1]
        key = ("~^.+" + regex.literal(pattern[1:]) + "\\z") if pattern.startswith("*.") else map_key(pattern)
        return Expr("$host"), [D(key, "1"), D("default", "0")]

    def _regex(self, cond: tuple):
        return Expr("$uri"), [entry("~" + regex.full(cond[1]), "1"), entry("default", "0")]

    def _method(self, cond: tuple):
        alt = "|".join(cond[1])
        return Expr("$request_method"), [entry(f"~^(?:{alt})\\z", "1"), entry("default", "0")]

    def _header(self, cond: tuple):
        _, name, typ, value = cond
        if typ == "present":
            entries = [D("", "0"), D("default", "1")]
        else:
            entries = [entry("~" + (regex.exact(value) if typ == "exact" else regex.full(value)), "1"),
                       entry("default", "0")]
        return Expr("$" + header_var(name)), entries

    def _query(self, cond: tuple):
        _, name, typ, value = cond
        found = self.query_var(name)
        if typ == "present":
            entries = [entry("~^!", "1"), entry("default", "0")]
        elif typ == "exact":
            entries = [entry("~^!" + regex.percent_tolerant(value) + "\\z", "1"), entry("default", "0")]
        else:
            entries = [entry(f"~^!(?:{value})\\z", "1"), entry("default", "0")]
        return Expr("$" + found), entries

    def query_var(self, name: str) -> str:
        """'!' + the raw value of the first `name` parameter, or '' when there is none."""
        def make(n: str) -> D:
            pattern = f"(?:^|&){regex.percent_tolerant(name)}(?:=(?<{n}_v>[^&]*))?(?:&|\\z)"
            return D("map", Expr("$args"), Expr("$" + n), block=[D("~" + pattern, Expr(f"!${n}_v")),
                                                                  D("default", "")])
        return self.vars.define(("q", name), make)


_ATOMS = {"host": Matching._host, "regex": Matching._regex, "method": Matching._method,
          "header": Matching._header, "query": Matching._query}


def _parts(rows: list) -> list[list]:
    """The rows in order, cut where the next row's new atoms would make the map's source (each
    atom as `$name`) longer than nginx reads; at least one part, however few the rows."""
    parts: list[list] = [[]]
    seen: set[str] = set()
    size = 0
    for row in rows:
        new = [b for b in dict.fromkeys(row[0]) if b not in seen]
        grow = sum(len(b) + 1 for b in new)
        if parts[-1] and size + grow > PARAMETER_BYTES:
            parts.append([])
            seen, size = set(), 0
            new = list(dict.fromkeys(row[0]))
            grow = sum(len(b) + 1 for b in new)
        parts[-1].append(row)
        seen.update(new)
        size += grow
    return parts


def conditions(c: Candidate) -> list[tuple]:
    """What is left to test per request for this candidate, as hashable atoms."""
    e = c.entry
    m = e.match
    out: list[tuple] = []
    if c.host_test:
        out.append(("host", c.host_pattern))
    if c.runtime_regex:
        out.append(("regex", m.path.value))
    if m.methods:
        out.append(("method", tuple(sorted(m.methods))))
    out += [("header", h.name.lower(), h.type, h.value) for h in m.headers]
    out += [("query", q.name, q.type, q.value) for q in m.query]
    return out
