"""IR routes → one Envoy route configuration per listener: virtual hosts and their routes.

Envoy picks one virtual host by domain (exact, then the longest suffix wildcard, then
`*`) and then takes the first route of that host whose match holds. `edgec.routing`
tries host buckets from the most specific down and falls through to the next bucket
when nothing in one matches, so each virtual host lists, in routing's precedence order,
every (route, match) that accepts its hosts: its own, then those of the wildcards that
cover it, then those without a host condition.
"""
from __future__ import annotations

from edgec import ir, routing

from . import policies, regex
from .actions import action_fields
from .headers import header_ops
from .names import ADMIN_CLUSTER, route_name

Plan = dict


def _covers(pattern: str | None, host: str | None) -> bool:
    """Does the host pattern of an alternative accept every request Envoy sends to the
    virtual host `host` (an exact name, "*.suffix", or None for `*`)?"""
    if pattern is None:
        return True
    if host is None:
        return False
    if host.startswith("*."):
        return pattern.startswith("*.") and host[1:].endswith(pattern[1:])
    return routing.host_matches(pattern, host)


def virtual_hosts(edge: ir.Edge, listener: ir.Listener) -> list[Plan]:
    order = routing.first_match_order(edge)
    names = sorted({a.host for a in order if a.host is not None}, key=lambda h: (h.startswith("*."), h))
    metrics = [metrics_route(edge)] if edge.observability.metrics_path else []
    out = []
    for host in [*names, None]:
        chosen, seen = [], set()
        for alt in order:  # a (route, match) through its most specific covering host only
            if _covers(alt.host, host) and (alt.route_index, alt.match_index) not in seen:
                seen.add((alt.route_index, alt.match_index))
                chosen.append(alt)
        if host is None and not chosen:
            continue
        out.append({
            "name": host or "any",
            "domains": ["*"] if host is None else [host, host + "."],
            "routes": metrics + [route(edge, listener, alt) for alt in chosen],
        })
    return out


def route(edge: ir.Edge, listener: ir.Listener, alt: routing.Alternative) -> Plan:
    r = alt.route
    plan: Plan = {"name": route_name(r, alt.match_index), "match": match(alt.match)}
    plan.update(action_fields(edge, listener, r, alt.match))
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
