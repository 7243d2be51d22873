"""Route matches → ALB rule conditions, split across rules when a quota requires it.

A Match is an AND of conditions whose path, host and method parts are OR-sets of values.
ALB allows 3 values per condition and 5 match evaluations (values) and 5 wildcards per
rule, so an OR-set is split over several rules with the same action: that keeps the
meaning, because the rules are alternatives. Header and query conditions are ANDed and
cannot be split; too many of them is a compile error naming the quota.
"""
from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

from edgec import ir
from edgec.routing import strip_slash

from .errors import CANNOT, QUOTA, PlanError

MAX_VALUES_PER_CONDITION = 3
MAX_VALUES_PER_RULE = 5
MAX_WILDCARDS_PER_RULE = 5
PATH_CHARS = re.compile(r"^[A-Za-z0-9_\-.$/~\"'@:+&]+$")
HOST_CHARS = re.compile(r"^(\*\.)?[A-Za-z0-9\-.]+$")
HOST_TAIL = re.compile(r"\.[A-Za-z]+$")
HEADER_NAME = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,40}$")
VISIBLE_ASCII = re.compile(r"^[\x21-\x7e]*$")
MAX_VALUE = 128


@dataclass(frozen=True)
class PathPiece:
    """One path-pattern value and what it means: `exact` is the whole path; `under` is
    prefix + '/*' (every path below prefix)."""

    kind: str  # "exact" | "under" | "any"
    value: str  # the literal path, or the prefix without its trailing '/'

    @property
    def pattern(self) -> str:
        return {"exact": self.value, "under": self.value + "/*", "any": "/*"}[self.kind]


@dataclass(frozen=True)
class RuleMatch:
    conditions: tuple[dict, ...]
    paths: tuple[PathPiece, ...]


def path_pieces(path: ir.PathMatch, span) -> tuple[PathPiece, ...]:
    if path.type == "regex":
        raise PlanError(CANNOT, "ALB cannot match a path by regular expression", span)
    value = path.value
    if not PATH_CHARS.match(value):
        raise PlanError(CANNOT, f"ALB path patterns cannot contain the characters of {value!r}", span,
                        hint="ALB allows A-Z a-z 0-9 _ - . $ / ~ \" ' @ : + & in paths "
                             "(* and ? are its wildcards)")
    if path.type == "exact":
        pieces = (PathPiece("exact", value),)
    else:
        base = strip_slash(value)
        pieces = (PathPiece("exact", base), PathPiece("under", base)) if base else (PathPiece("any", ""),)
    for p in pieces:
        if len(p.pattern) > MAX_VALUE:
            raise PlanError(QUOTA, f"path pattern {p.pattern!r} is longer than ALB's {MAX_VALUE} characters", span)
    return pieces


def _host(host: str, span) -> str:
    if not HOST_CHARS.match(host) or not HOST_TAIL.search(host) or len(host) > MAX_VALUE:
        raise PlanError(CANNOT, f"ALB cannot match the host {host!r}", span,
                        hint="an ALB host condition has only A-Z a-z 0-9 - . and a leading *., "
                             "at most 128 characters, and ends in a dot and letters (example.com)")
    return host


def _literal(value: str, what: str, span, escape: bool) -> str:
    if not VISIBLE_ASCII.match(value) or len(value) > MAX_VALUE:
        raise PlanError(CANNOT, f"ALB cannot match the {what} {value!r}", span,
                        hint="ALB condition values are visible ASCII, at most 128 characters")
    if any(c in value for c in "*?"):
        if not escape:
            raise PlanError(CANNOT, f"the {what} {value!r} holds * or ?, which ALB reads as wildcards", span)
        if "\\" in value:
            raise PlanError(CANNOT, f"the {what} {value!r} mixes \\ with wildcard characters", span)
        value = value.replace("*", "\\*").replace("?", "\\?")
    return value


def _header(h: ir.ValueMatch, span) -> dict:
    if h.type == "regex":
        raise PlanError(CANNOT, "ALB cannot match a header by regular expression", span)
    if not HEADER_NAME.match(h.name) or h.name.lower() == "host":
        raise PlanError(CANNOT, f"ALB cannot match the header {h.name!r}", span,
                        hint="header names of at most 40 token characters, not Host (use match host)")
    value = "*" if h.type == "present" else _literal(h.value or "", "header value", span, escape=False)
    return {"Field": "http-header", "HttpHeaderConfig": {"HttpHeaderName": h.name, "Values": [value]}}


def _query(q: ir.ValueMatch, span) -> dict:
    if q.type == "regex":
        raise PlanError(CANNOT, "ALB cannot match a query parameter by regular expression", span)
    key = _literal(q.name, "query parameter name", span, escape=True)
    value = "*" if q.type == "present" else _literal(q.value or "", "query value", span, escape=True)
    return {"Field": "query-string", "QueryStringConfig": {"Values": [{"Key": key, "Value": value}]}}


def _wildcards(values) -> int:
    return sum(len(re.findall(r"(?<!\\)[*?]", v)) for v in values)


def _chunks(values: tuple, size: int) -> list[tuple]:
    return [values[i:i + size] for i in range(0, len(values), size)]


def rule_matches(match: ir.Match, span, split_paths: bool) -> list[RuleMatch]:
    """The ALB rules (as condition lists) that together match exactly what `match` matches.
    `split_paths`: one path piece per rule (when each piece needs its own transform or redirect)."""
    fixed = [_header(h, span) for h in match.headers] + [_query(q, span) for q in match.query]
    fixed_values = [v for c in fixed for v in _values(c)]
    pieces = path_pieces(match.path, span)
    hosts = tuple(_host(h, span) for h in match.hosts)
    methods = tuple(match.methods)
    # a catch-all path costs a condition only when it is the rule's only condition
    implied = pieces[0].kind == "any" and bool(hosts or methods or fixed)
    sets = {"path": () if implied else pieces, "host": hosts, "method": methods}
    sizes = {k: min(MAX_VALUES_PER_CONDITION, len(v)) for k, v in sets.items() if v}
    if split_paths:
        sizes["path"] = 1
    while True:
        combos = list(itertools.product(*(_chunks(sets[k], sizes[k]) for k in sizes)))
        rules = [dict(zip(sizes, combo)) for combo in combos]
        over = [r for r in rules if len(fixed_values) + sum(len(v) for v in r.values()) > MAX_VALUES_PER_RULE
                or _wildcards(fixed_values + [p.pattern for p in r.get("path", ())]
                              + list(r.get("host", ()))) > MAX_WILDCARDS_PER_RULE]
        if not over:
            break
        biggest = max(sizes, key=lambda k: sizes[k])
        if sizes[biggest] == 1:
            raise PlanError(QUOTA, f"this match needs more than ALB's {MAX_VALUES_PER_RULE} match evaluations "
                                   f"or {MAX_WILDCARDS_PER_RULE} wildcards per rule", span,
                            hint="ALB counts every header and query condition and every path, host and "
                                 "method value; split the match into several `match` lines")
        sizes[biggest] -= 1
    out = []
    for r in rules:
        conds = []
        paths = r.get("path", ())
        if paths:
            conds.append({"Field": "path-pattern", "PathPatternConfig": {"Values": [p.pattern for p in paths]}})
        if r.get("host"):
            conds.append({"Field": "host-header", "HostHeaderConfig": {"Values": list(r["host"])}})
        if r.get("method"):
            conds.append({"Field": "http-request-method", "HttpRequestMethodConfig": {"Values": list(r["method"])}})
        out.append(RuleMatch(tuple(conds + fixed), tuple(paths) or pieces))
    return out


def from_sources(conditions: tuple[dict, ...], networks: tuple[str, ...], span) -> list[tuple[dict, ...]]:
    """`conditions` narrowed to clients in `networks`: one rule per chunk of networks that
    fits beside them (a rule holds one source-ip condition)."""
    room = min(MAX_VALUES_PER_CONDITION, MAX_VALUES_PER_RULE - sum(len(_values(c)) for c in conditions))
    if room < 1:
        raise PlanError(QUOTA, f"this match leaves no room for a source-ip condition within ALB's "
                               f"{MAX_VALUES_PER_RULE} match evaluations per rule", span,
                        hint="split the match into several `match` lines")
    return [conditions + ({"Field": "source-ip", "SourceIpConfig": {"Values": list(chunk)}},)
            for chunk in _chunks(networks, room)]


def _values(cond: dict) -> list[str]:
    for key, config in cond.items():
        if key.endswith("Config"):
            return [v["Value"] if isinstance(v, dict) else v for v in config["Values"]]
    return []
