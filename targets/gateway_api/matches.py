"""One (route, match) of the edge as HTTPRouteMatches, and how the Gateway API ranks it.

The Gateway API ranks matches across every rule of the routes that share a host name:
an Exact path, then the PathPrefix of most characters, then a method, then the most
header and query conditions; equals go to the rule written first (regular expressions
rank as the implementation chooses). edgec.routing ranks a (route, match) nearly the same
way within one host bucket, but a host's own routes come before those it falls back to,
and a prefix is measured without its ignored final "/": `rank` and `overlap` say when the
difference shows.
"""
from __future__ import annotations

from edgec import ir, routing

Plan = dict

# the CRD's character set of Exact and PathPrefix values, and what its CEL rules refuse in them
PATH_CHARS = set("-ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/._~!$&'()*+,;=:@%")
PATH_REFUSED = ("//", "/./", "/../", "%2f", "%2F", "#")


def rank(alt: routing.Alternative) -> tuple:
    """The Gateway API's rank of the alternative's match: lower wins."""
    e = alt.entry
    path = {"exact": (0, 0), "regex": (1, 0)}.get(alt.match.path.type, (2, -len(alt.match.path.value)))
    return (*path, not e.methods, -len(e.headers), -len(e.query))


def overlap(a: routing.Alternative, b: routing.Alternative) -> bool:
    """Whether one request can meet both matches (True when it cannot be told)."""
    ma, mb = a.entry.methods, b.entry.methods
    if ma and mb and not ma & mb:
        return False
    for name, test in a.entry.headers:
        for other_name, other in b.entry.headers:
            if name == other_name and isinstance(test, str) and isinstance(other, str) and test != other:
                return False
    pa, pb = a.match.path, b.match.path
    if "regex" in (pa.type, pb.type):
        return True
    va, vb = a.entry.path_value, b.entry.path_value
    if pa.type == pb.type == "exact":
        return va == vb
    if pa.type == "exact":
        return routing.prefix_matches(vb, va)
    if pb.type == "exact":
        return routing.prefix_matches(va, vb)
    return routing.prefix_matches(va, vb) or routing.prefix_matches(vb, va)


def covers(a: routing.Alternative, b: routing.Alternative) -> bool:
    """Whether every request b's match accepts, a's accepts too (a has no method, header or
    query condition and its path takes b's)."""
    if not a.entry.simple:
        return False
    pa, pb = a.match.path, b.match.path
    if pa.type == "prefix" and routing.strip_slash(a.entry.path_value) == "":
        return True
    if "regex" in (pa.type, pb.type):
        return False
    if pa.type == "exact":
        return pb.type == "exact" and a.entry.path_value == b.entry.path_value
    return routing.prefix_matches(a.entry.path_value, b.entry.path_value)


def path_problem(path: ir.PathMatch) -> str | None:
    """Why an Exact or PathPrefix value breaks the CRD's rules, or None."""
    if path.type == "regex":
        return None
    value = path.value
    bad = sorted(set(value) - PATH_CHARS)
    if bad:
        return f"the character {bad[0]!r}"
    for part in PATH_REFUSED:
        if part in value:
            return f"'{part}'"
    if value.endswith(("/..", "/.")):
        return "a final '/.' or '/..'"
    if len(value) > 1024:
        return "more than 1024 characters"
    return None


def path_match(path: ir.PathMatch, regex) -> Plan:
    if path.type == "exact":
        return {"type": "Exact", "value": path.value}
    if path.type == "prefix":
        return {"type": "PathPrefix", "value": path.value}
    return {"type": "RegularExpression", "value": regex(path.value, True)}


def value_match(vm: ir.ValueMatch, regex) -> Plan:
    if vm.type == "exact":
        return {"type": "Exact", "name": vm.name, "value": vm.value or ""}
    if vm.type == "present":
        return {"type": "RegularExpression", "name": vm.name, "value": ".*"}
    return {"type": "RegularExpression", "name": vm.name, "value": regex(vm.value or "", False)}


def http_matches(m: ir.Match, regex, methods: tuple[str, ...] | None = None) -> list[Plan]:
    """The match as HTTPRouteMatches: one per method (the Gateway API takes one)."""
    base: Plan = {"path": path_match(m.path, regex)}
    if m.headers:
        base["headers"] = [value_match(h, regex) for h in m.headers]
    if m.query:
        base["queryParams"] = [value_match(q, regex) for q in m.query]
    methods = m.methods if methods is None else methods
    if not methods:
        return [base]
    return [{**base, "method": method} for method in methods]
