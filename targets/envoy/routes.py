"""IR routes → one Envoy route configuration per listener: virtual hosts and their routes.

Envoy picks one virtual host by domain (exact, then the longest suffix wildcard, then
`*`) and then takes the first route of that host whose match holds. `edgec.routing`
tries host buckets from the most specific down and falls through to the next bucket
when nothing in one matches, so each virtual host lists what routing.virtual_hosts says,
in its order: every (route, match) that accepts its hosts, its own, then those of the
wildcards that cover it, then those without a host condition.
"""
from __future__ import annotations

from edgec import ir, routing
from edgec.targets import envoy_regex as regex

from . import policies
from .actions import action_fields
from .headers import header_ops
from .names import ADMIN_CLUSTER, route_name

Plan = dict


def virtual_hosts(edge: ir.Edge, listener: ir.Listener, creds: dict[str, Plan]) -> list[Plan]:
    metrics = [metrics_route(edge)] if edge.observability.metrics_path else []
    out = []
    for vh in routing.virtual_hosts(edge):
        if vh.name is None and not vh.alternatives:
            continue
        out.append({
            "name": vh.name or "any",
            "domains": ["*"] if vh.name is None else [vh.name, vh.name + "."],
            "routes": metrics + [route(edge, listener, alt, creds) for alt in vh.alternatives],
        })
    return out


def route(edge: ir.Edge, listener: ir.Listener, alt: routing.Alternative, creds: dict[str, Plan]) -> Plan:
    r = alt.route
    plan: Plan = {"name": route_name(r, alt.match_index), "match": match(alt.match)}
    plan.update(action_fields(edge, listener, r, alt.match))
    plan.update(header_ops(r))
    per_filter = policies.route_policies(edge, r, creds)
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
    if p.type == "regex":
        out["safe_regex"] = {"regex": regex.full(p.value, path=True).text}
    elif p.type == "exact":
        if regex.needs_pattern(p.value):
            out["safe_regex"] = {"regex": regex.path_pattern(routing.decoded_path(p.value))}
        else:
            out["path"] = regex.path(p.value)
    elif not regex.prefix_path(p.value):
        out["prefix"] = "/"
    elif regex.needs_pattern(p.value):
        prefix = routing.strip_slash(routing.decoded_path(p.value))
        out["safe_regex"] = {"regex": regex.path_pattern(prefix) + "(?:/.*)?"}
    else:
        out["path_separated_prefix"] = regex.prefix_path(p.value)
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
        return {"string_match": {"safe_regex": {"regex": regex.full(vm.value or "").text}}}
    if query:
        # routing compares %XX-decoded values; Envoy compares the raw one
        return {"string_match": {"safe_regex": {"regex": regex.percent_tolerant(vm.value or "")}}}
    return {"string_match": {"exact": vm.value or ""}}
