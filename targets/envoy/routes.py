"""IR routes → one Envoy route configuration per listener: virtual hosts and their routes.

Envoy picks one virtual host by domain (exact, then the longest suffix wildcard, then
`*`) and then takes the first route of that host whose match holds. `edgec.routing`
tries host buckets from the most specific down and falls through to the next bucket
when nothing in one matches, so each virtual host lists, in routing's precedence order,
every (route, match) that accepts its hosts: its own, then those of the wildcards that
cover it, then those without a host condition.
"""
from __future__ import annotations

from dataclasses import dataclass

from edgec import ir, routing

from . import policies, regex
from .actions import action_fields
from .headers import header_ops
from .names import ADMIN_CLUSTER, route_name

Plan = dict


@dataclass(frozen=True)
class Ranked:
    key: tuple
    entry: routing.Entry


def _accepting(entry: routing.Entry, host: str | None) -> str | None | bool:
    """The most specific host pattern of the entry that accepts every request Envoy sends to
    the virtual host `host` (an exact name, "*.suffix", or None for `*`); None when the
    entry names no host; False when it does not belong there."""
    hosts = entry.match.hosts
    if not hosts:
        return None
    if host is None:
        return False
    if host.startswith("*."):
        found = [p for p in hosts if p.startswith("*.") and host[1:].endswith(p[1:])]
    else:
        found = [p for p in hosts if routing.host_matches(p, host)]
    return min(found, key=routing.host_rank) if found else False


def virtual_hosts(edge: ir.Edge, listener: ir.Listener) -> list[Plan]:
    router = routing.compile(edge)
    names = sorted({h for e in router.entries for h in e.match.hosts}, key=lambda h: (h.startswith("*."), h))
    metrics = [metrics_route(edge)] if edge.observability.metrics_path else []
    out = []
    for host in [*names, None]:
        ranked = []
        for e in router.entries:
            pattern = _accepting(e, host)
            if pattern is not False:
                ranked.append(Ranked(routing.precedence_key(e, pattern), e))
        if host is None and not ranked:
            continue
        ranked.sort(key=lambda r: r.key)
        domains = ["*"] if host is None else [host, host + "."]
        out.append({
            "name": host or "any",
            "domains": domains,
            "routes": metrics + [route(edge, listener, r.entry) for r in ranked],
        })
    return out


def route(edge: ir.Edge, listener: ir.Listener, e: routing.Entry) -> Plan:
    r = e.route
    plan: Plan = {"name": route_name(r, e.match_index), "match": match(e.match)}
    plan.update(action_fields(edge, listener, r, e.match))
    plan.update(header_ops(r))
    per_filter = policies.route_policies(edge, r)
    if per_filter:
        plan["typed_per_filter_config"] = {**plan.get("typed_per_filter_config", {}), **per_filter}
    return plan


def metrics_route(edge: ir.Edge) -> Plan:
    """The metrics path answers Envoy's Prometheus stats from the admin listener, to loopback
    and the trusted proxies only."""
    return {"name": "metrics", "match": {"path": regex.path(edge.observability.metrics_path or "")},
            "route": {"cluster": ADMIN_CLUSTER, "regex_rewrite": {"pattern": {"regex": "^.*$"},
                                                                  "substitution": "/stats/prometheus"}},
            "typed_per_filter_config": policies.loopback_only(edge.trusted_proxies)}


def match(m: ir.Match) -> Plan:
    out: Plan = {}
    p = m.path
    if p.type == "exact":
        out["path"] = regex.path(p.value)
    elif p.type == "regex":
        out["safe_regex"] = {"regex": regex.full(p.value)}
    else:
        prefix = regex.prefix_path(p.value)
        if prefix:
            out["path_separated_prefix"] = prefix
        else:
            out["prefix"] = "/"
    headers = []
    if m.methods:
        headers.append({"name": ":method", "string_match": (
            {"exact": m.methods[0]} if len(m.methods) == 1 else
            {"safe_regex": {"regex": "|".join(regex.literal(x) for x in m.methods)}})})
    for h in m.headers:
        headers.append({"name": h.name.lower(), **value_match(h, query=False)})
    if headers:
        out["headers"] = headers
    if m.query:
        out["query_parameters"] = [{"name": q.name, **value_match(q, query=True)} for q in m.query]
    return out


def value_match(vm: ir.ValueMatch, query: bool) -> Plan:
    if vm.type == "present":
        return {"present_match": True}
    if vm.type == "regex":
        return {"string_match": {"safe_regex": {"regex": regex.full(vm.value or "")}}}
    if query:
        # routing compares %XX-decoded values; Envoy compares the raw one
        return {"string_match": {"safe_regex": {"regex": regex.percent_tolerant(vm.value or "")}}}
    return {"string_match": {"exact": vm.value or ""}}
