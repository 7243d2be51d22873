"""Per-route policies as HTTP filters: each filter sits once in every connection manager
that serves routes (doing nothing by itself) and acts on a route through that route's
typed_per_filter_config."""
from __future__ import annotations

from edgec import ir

from . import claims, credentials, external_auth, jwt
from .actions import seconds
from .headers import literal, option

Plan = dict

_T = "type.googleapis.com/envoy.extensions.filters.http."
RATELIMIT = "envoy.filters.http.local_ratelimit"
CORS = "envoy.filters.http.cors"
STICKY = "envoy.filters.http.stateful_session"
RBAC = "envoy.filters.http.rbac"
ACCESS = "edgec.access"  # a second RBAC filter: the edge's lists
# clients tracked at once per rate-limited route (least recently seen forgotten first)
MAX_CLIENTS = 10_000
# requests without the limit's key (no such header) are not limited
_UNLIMITED = {"max_tokens": 1_000_000_000, "tokens_per_fill": 1_000_000_000, "fill_interval": "1s"}
_MIN_FILL_NS = 50_000_000  # Envoy's shortest fill interval


def filters(edge: ir.Edge, metrics: bool, creds: dict[str, Plan]) -> list[Plan]:
    """The filters before the router, in the order a request meets them."""
    out = []
    if metrics or any(not r.access.empty for r in edge.routes):
        out.append({"name": RBAC, "typed_config": {"@type": _T + "rbac.v3.RBAC"}})
    if any(r.cors for r in edge.routes):
        out.append({"name": CORS, "typed_config": {"@type": _T + "cors.v3.Cors"}})
    if edge.auth and any(r.auth for r in edge.routes):
        out += jwt.filters(edge, claims.providers(edge)) + credentials.filters(edge, creds) \
            + external_auth.filters(edge) + claims.filters(edge)
    if any(r.rate_limit for r in edge.routes):
        out.append({"name": RATELIMIT, "typed_config": {"@type": _T + "local_ratelimit.v3.LocalRateLimit",
                                                         "stat_prefix": "edgec_rate_limit"}})
    if any(u.sticky for u in edge.upstreams):
        out.append({"name": STICKY, "typed_config": {"@type": _T + "stateful_session.v3.StatefulSession"}})
    return out


def route_policies(edge: ir.Edge, route: ir.Route, creds: dict[str, Plan]) -> Plan:
    """The route's typed_per_filter_config for its policies."""
    per_filter: Plan = {}
    if not route.access.empty:
        per_filter[RBAC] = {"@type": _T + "rbac.v3.RBACPerRoute", "rbac": {"rules": access_rules(route.access)}}
    if route.cors:
        per_filter[CORS] = cors(route.cors)
    if route.auth:
        auth = edge.auth_provider(route.auth)
        per_filter.update(jwt.per_route(auth) if isinstance(auth, ir.JwtAuth)
                          else external_auth.per_route(auth) if isinstance(auth, ir.ExternalAuth)
                          else credentials.per_route(auth, creds))
        if not route.require.empty:
            per_filter.update(claims.per_route(route))
    if route.rate_limit:
        per_filter[RATELIMIT] = rate_limit(route.rate_limit, route.name)
    if isinstance(route.action, ir.Forward):
        sticky = next((edge.upstream(b.upstream).sticky for b in route.action.backends
                       if b.weight > 0 and edge.upstream(b.upstream).sticky), None)
        if sticky:
            per_filter[STICKY] = session(sticky)
    return per_filter


def cors(c: ir.Cors) -> Plan:
    origins = [{"safe_regex": {"regex": ".*"}}] if "*" in c.origins else [{"exact": o} for o in c.origins]
    out: Plan = {"@type": _T + "cors.v3.CorsPolicy", "allow_origin_string_match": origins,
                 "allow_methods": ", ".join(c.methods), "max_age": str(c.max_age_s),
                 "allow_credentials": c.credentials}
    if c.headers:
        out["allow_headers"] = ", ".join(c.headers)
    if c.expose:
        out["expose_headers"] = ", ".join(c.expose)
    return out


def _bucket(limit: ir.RateLimit) -> Plan:
    """burst + 1 tokens, refilled at count per window (routing's and nginx's bucket)."""
    per_fill = 1
    while limit.window_s * 1_000_000_000 * per_fill // limit.count < _MIN_FILL_NS:
        per_fill += 1
    ns = limit.window_s * 1_000_000_000 * per_fill // limit.count
    return {"max_tokens": limit.burst + 1, "tokens_per_fill": per_fill,
            "fill_interval": f"{ns // 1_000_000_000}.{ns % 1_000_000_000:09d}s"}


def rate_limit(limit: ir.RateLimit, policy: str) -> Plan:
    key = limit.key
    if key.source == "header":
        entry = {"request_headers": {"header_name": key.name, "descriptor_key": "client_header",
                                     "skip_if_absent": True}}
        descriptor_key = "client_header"
    else:
        entry = {"remote_address": {}}
        descriptor_key = "remote_address"
    config = {
        "@type": _T + "local_ratelimit.v3.LocalRateLimit",
        "stat_prefix": "edgec_rate_limit",
        "status": {"code": limit.status},
        "token_bucket": _UNLIMITED,
        "filter_enabled": {"default_value": {"numerator": 100, "denominator": "HUNDRED"}},
        "filter_enforced": {"default_value": {"numerator": 100, "denominator": "HUNDRED"}},
        # an entry without a value is a wildcard: one bucket per distinct client
        "descriptors": [{"entries": [{"key": descriptor_key}], "token_bucket": _bucket(limit)}],
        "max_dynamic_descriptors": MAX_CLIENTS,
        "always_consume_default_token_bucket": False,
        "rate_limits": [{"actions": [entry]}],
        "response_headers_to_add": [option(n.lower(), literal(v)) for n, v in limit.refusal_headers(policy)],
    }
    return config


def session(sticky: ir.Sticky) -> Plan:
    cookie: Plan = {"name": sticky.cookie, "path": sticky.path}
    if sticky.ttl_ms:
        cookie["ttl"] = seconds(sticky.ttl_ms)
    return {"@type": _T + "stateful_session.v3.StatefulSessionPerRoute", "stateful_session": {"session_state": {
        "name": "envoy.http.stateful_session.cookie",
        "typed_config": {"@type": "type.googleapis.com/envoy.extensions.http.stateful_session.cookie.v3."
                                  "CookieBasedSessionState", "cookie": cookie}}}}


def cidr_ranges(cidrs) -> list[Plan]:
    """CIDR texts as Envoy CidrRange messages (a bare address is one host)."""
    out = []
    for cidr in cidrs:
        address, _, length = cidr.partition("/")
        out.append({"address_prefix": address, "prefix_len": int(length or (128 if ":" in address else 32))})
    return out


def edge_access(edge: ir.Edge) -> list[Plan]:
    """The edge's address lists: an RBAC filter of its own, first on every listener, which no
    route overrides (a route's lists override the RBAC filter that `filters` puts after it)."""
    if edge.access.empty:
        return []
    return [{"name": ACCESS, "typed_config": {"@type": _T + "rbac.v3.RBAC", "rules": access_rules(edge.access)}}]


def access_rules(access: ir.Access) -> Plan:
    """Allow a client address (remote_ip: the one original IP detection found past the trusted
    proxies) outside every denied network and, when any is listed, inside an allowed one; 403
    otherwise."""
    def any_of(cidrs) -> Plan:
        return {"or_ids": {"ids": [{"remote_ip": c} for c in cidr_ranges(cidrs)]}}
    ids = ([any_of(access.allow)] if access.allow else []) + ([{"not_id": any_of(access.deny)}] if access.deny else [])
    principal = ids[0] if len(ids) == 1 else {"and_ids": {"ids": ids}}
    return {"action": "ALLOW", "policies": {"access": {"permissions": [{"any": True}], "principals": [principal]}}}


def loopback_only(trusted: tuple[str, ...]) -> Plan:
    """RBAC for the metrics route: loopback and the trusted proxies only."""
    principals = [{"direct_remote_ip": c} for c in cidr_ranges(("127.0.0.0/8", "::1/128", *trusted))]
    return {RBAC: {"@type": _T + "rbac.v3.RBACPerRoute", "rbac": {"rules": {"action": "ALLOW", "policies": {
        "loopback": {"permissions": [{"any": True}], "principals": principals}}}}}}
