"""Envoy Gateway BackendTrafficPolicies: what a route does between the gateway and its
servers (rate limit, retries, and the balancing, health checks, ejection and timeouts of
the upstream it forwards to).

Envoy Gateway makes one cluster of each HTTPRoute rule's backends, and a policy that
targets the rule (its name as sectionName) sets that cluster: so a route's policy carries
its upstream's settings, and a route whose weighted upstreams differ in them is refused
(`problems`).
"""
from __future__ import annotations

from edgec import ir
from edgec.targets import envoy_outlier

from .capabilities import FAILED_CONNECTION
from .envoy_gateway import API
from .names import label
from .routes import duration

Plan = dict
GROUP = "gateway.networking.k8s.io"
# Envoy Gateway's rate limit units, by their length in seconds
UNITS = {"Second": 1, "Minute": 60, "Hour": 3600, "Day": 86_400}
# an ejection rule that is never met: edgec ejects on failures the gateway itself sees
# (connect errors, timeouts, resets), not on the statuses a server answers with
NEVER = 2_147_483_647
LIMITED = 429  # Envoy's local rate limit answers with it


def policies(edge: ir.Edge, targets: dict[str, list[tuple[str, str]]], meta) -> list[Plan]:
    out = []
    for route in edge.routes:
        refs = targets.get(route.name)
        spec = _spec(edge, route)
        if spec and refs:
            out.append({"apiVersion": API, "kind": "BackendTrafficPolicy", "metadata": meta(label(edge.name, route.name)),
                        "spec": {"targetRefs": [{"group": GROUP, "kind": "HTTPRoute", "name": name, "sectionName": rule}
                                                for name, rule in refs], **spec}})
    return out


def problems(edge: ir.Edge) -> list[tuple[ir.Route, str, str]]:
    """(route, what, hint) for what one policy per rule only approximates."""
    out = []
    for route in edge.routes:
        ups = _upstreams(edge, route)
        if len({_cluster(u) for u in ups}) > 1:
            others = ", ".join(u.name for u in ups[1:] if _cluster(u) != _cluster(ups[0]))
            out.append((route, f"the upstreams of route '{route.name}': Envoy Gateway gives the backends of one rule "
                               "one balancing, health check, ejection and timeout setting: those of "
                               f"'{ups[0].name}' (the heaviest) hold for {others} too",
                        "give the upstreams the same settings"))
    return out


def _upstreams(edge: ir.Edge, route: ir.Route) -> list[ir.Upstream]:
    """The route's upstreams, heaviest first."""
    if not isinstance(route.action, ir.Forward):
        return []
    backends = sorted((b for b in route.action.backends if b.weight > 0), key=lambda b: -b.weight)
    return [edge.upstream(b.upstream) for b in backends]


def _spec(edge: ir.Edge, route: ir.Route) -> Plan:
    spec: Plan = {}
    ups = _upstreams(edge, route)
    if ups:
        spec.update(_cluster_plan(ups[0]))
    if route.retry.attempts:
        spec["retry"] = retry(route.retry)
    overrides = []
    if route.rate_limit:
        limit = route.rate_limit
        spec["rateLimit"] = {"type": "Local", "local": {"rules": rate_rules(limit)}}
        answer: Plan = {"header": {"set": [{"name": n, "value": v} for n, v in limit.refusal_headers(route.name)]}}
        if limit.status != LIMITED:
            answer["statusCode"] = limit.status
        overrides.append({"match": {"statusCodes": [{"type": "Value", "value": LIMITED}]}, "response": answer})
    if ups and not answers_503(edge, route, ups):
        # Envoy's 503 for a server that refused the connection, reset it before answering, was
        # not connected within the connect timeout or was out of the pool (every one failing
        # its checks) is edgec's 502. Envoy's own answers only (source Local): a backend's 503
        # is relayed as it is
        overrides.append({"match": {"statusCodes": [{"type": "Value", "value": FAILED_CONNECTION}]},
                          "source": "Local", "response": {"statusCode": 502}})
    if overrides:
        spec["responseOverride"] = overrides
    return spec


def answers_503(edge: ir.Edge, route: ir.Route, ups: list[ir.Upstream]) -> bool:
    """Whether edgec itself answers 503 on the route: the overflow of its upstream's circuit
    breaker, an authorization service that fails (ir.EXTERNAL_AUTH_ERROR_STATUS). Envoy's own
    answer to those is a 503 too, which must stay one, so on such a route a failed connection
    is Envoy's 503 (the upstream.circuit_breaker and auth.external rows say so)."""
    return (any(u.circuit_breaker for u in ups)
            or (route.auth is not None and isinstance(edge.auth_provider(route.auth), ir.ExternalAuth)))


def _cluster(up: ir.Upstream) -> tuple:
    """What of an upstream the rule's cluster takes."""
    return (up.balance, up.hash_key, up.health, up.passive, up.sticky, up.timeouts.connect_ms,
            up.keepalive.idle_timeout_ms, up.circuit_breaker)


def _cluster_plan(up: ir.Upstream) -> Plan:
    out: Plan = {"loadBalancer": load_balancer(up)}
    health: Plan = {}
    if up.health:
        health["active"] = active(up.health)
    if up.passive.max_fails:
        health["passive"] = passive(up.passive)
    if health:
        health["panicThreshold"] = 0  # with every server out, none is tried (routing answers 502)
        out["healthCheck"] = health
    if up.circuit_breaker:
        cb = up.circuit_breaker
        # one request per HTTP/1.1 connection bounds the requests by the connections and the
        # queue: maxParallelRequests (default 1024) must not bind first
        out["circuitBreaker"] = {"maxConnections": cb.max_connections, "maxPendingRequests": cb.max_pending,
                                 "maxParallelRequests": cb.max_connections + cb.max_pending}
    out["timeout"] = {"tcp": {"connectTimeout": duration(up.timeouts.connect_ms)},
                      "http": {"connectionIdleTimeout": duration(up.keepalive.idle_timeout_ms)}}
    return out


def load_balancer(up: ir.Upstream) -> Plan:
    if up.sticky:
        cookie: Plan = {"name": up.sticky.cookie}
        if up.sticky.ttl_ms:
            cookie["ttl"] = duration(up.sticky.ttl_ms)  # Envoy sets the cookie when the request has none
        return {"type": "ConsistentHash", "consistentHash": {"type": "Cookie", "cookie": cookie}}
    if up.balance == "hash" and up.hash_key:
        key = up.hash_key
        if key.source == "header":
            return {"type": "ConsistentHash", "consistentHash": {"type": "Header", "header": {"name": key.name}}}
        if key.source == "cookie":
            return {"type": "ConsistentHash", "consistentHash": {"type": "Cookie", "cookie": {"name": key.name}}}
        if key.source == "uri":
            # Envoy hashes any header it is given, the :path pseudo-header too (path and query)
            return {"type": "ConsistentHash", "consistentHash": {"type": "Header", "header": {"name": ":path"}}}
    if up.balance in ("ip_hash", "hash"):
        return {"type": "ConsistentHash", "consistentHash": {"type": "SourceIP"}}
    return {"type": {"round_robin": "RoundRobin", "least_conn": "LeastRequest", "random": "Random"}[up.balance]}


def active(h: ir.HealthCheck) -> Plan:
    low, high = h.expect_status
    return {"type": "HTTP", "http": {"path": h.path, "method": h.method,
                                     "expectedStatuses": list(range(max(low, 100), min(high, 599) + 1))},
            "interval": duration(h.interval_ms), "timeout": duration(h.timeout_ms),
            "unhealthyThreshold": h.unhealthy_threshold, "healthyThreshold": h.healthy_threshold}


def passive(p: ir.PassiveCheck) -> Plan:
    """max_fails consecutive failures (as envoy_outlier counts them) eject a server for
    fail_timeout."""
    kind = envoy_outlier.counter(p)
    out: Plan = {"splitExternalLocalOriginErrors": kind == "local_origin", "consecutive5XxErrors": NEVER,
                 "consecutiveGatewayErrors": NEVER}
    field = {"local_origin": "consecutiveLocalOriginFailures", "gateway": "consecutiveGatewayErrors",
             "5xx": "consecutive5XxErrors"}[kind]
    out[field] = p.max_fails
    return out | {"interval": duration(p.fail_timeout_ms), "baseEjectionTime": duration(p.fail_timeout_ms),
                  "maxEjectionPercent": 100}


def retry(r: ir.Retry) -> Plan:
    on: Plan = {"triggers": (["retriable-status-codes"] if r.statuses else [])
                + (["connect-failure", "reset"] if r.connect_errors else [])}
    if r.statuses:
        on["httpStatusCodes"] = list(r.statuses)
    out: Plan = {"numRetries": r.attempts, "retryOn": on}
    if r.backoff_ms:
        out["perRetry"] = {"backOff": {"baseInterval": duration(r.backoff_ms), "maxInterval": duration(r.backoff_ms)}}
    return out


def rate(limit: ir.RateLimit) -> tuple[int, str]:
    """(requests, unit) with the limit's rate whose bucket is nearest burst + 1 requests (the
    most edgec lets through at once); the window is itself a unit, so one always fits."""
    fits = [(limit.count * seconds // limit.window_s, unit) for unit, seconds in UNITS.items()
            if limit.count * seconds % limit.window_s == 0]
    return min(fits, key=lambda f: abs(f[0] - (limit.burst + 1)))


def rate_rules(limit: ir.RateLimit) -> list[Plan]:
    """A bucket per header value, or per client address (a rule for each address family:
    the conditions of one rule must all hold)."""
    requests, unit = rate(limit)
    key = limit.key
    if key.source == "header":
        selectors = [{"headers": [{"name": key.name, "type": "Distinct"}]}]
    else:
        selectors = [{"sourceCIDR": {"type": "Distinct", "value": every}} for every in ("0.0.0.0/0", "::/0")]
    return [{"clientSelectors": [s], "limit": {"requests": requests, "unit": unit}} for s in selectors]
