"""IR routes → Spring Cloud Gateway routes: the one table from IR nodes to Java DSL calls.

SCG tries routes in `order` and takes the first whose predicates all hold, so each line
of `routing.first_match_order` (route, match alternative, host) becomes one SCG route per
weighted backend, numbered in that order. Predicates are a
conjunction only (`.and()`): SCG folds `and`/`or` left to right without precedence.

Every value is turned into Java here, through `java.literal`; the templates only lay
the fragments out.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import quote

from edgec import ir, routing

from . import config
from .java import Java, literal, literals, regex
from .names import Names

@dataclass
class SpringRoute:
    id: str
    edge_route: str
    note: str  # which alternative / backend, for the comment above the route
    order: int
    predicates: list[Java]
    filters: list[Java] = field(default_factory=list)
    metadata: list[tuple[Java, Java]] = field(default_factory=list)
    uri: Java = Java('"no://op"')


def call(name: str, *args) -> Java:
    return Java(f"{name}({', '.join(literal(a) for a in args)})")


# ---- predicates ---------------------------------------------------------------------------
# edgec matches the normalised path (%XX decoded, dot segments resolved, slashes merged) and
# the first line of a header or the first value of a query parameter, %XX-decoded with "+"
# kept; SCG's Path, Header and Query predicates do neither, so those are EdgeMatching's.

# feature → (the EdgeMatching helper that expresses it, what it does): the capability notes of
# these features are read from here, so they say what the generated code does
MATCHING = {
    "match.path.exact": ("pathExact", "EdgeMatching.pathExact: the normalised path (%XX decoded, dot segments "
                                      "resolved, slashes merged) equals the value"),
    "match.path.prefix": ("pathPrefix", "EdgeMatching.pathPrefix: the normalised path, on segment boundaries"),
    "match.path.regex": ("pathRegex", "EdgeMatching.pathRegex: a Java regex, full match on the normalised path"),
    "match.host": ("host", "EdgeMatching.host: the Host header without port or trailing dot, any case"),
    "match.host.wildcard": ("host", "EdgeMatching.host: any subdomain depth under the suffix"),
    "match.header.exact": ("headerEquals", "EdgeMatching.headerEquals: the first line of the header equals "
                                          "the value"),
    "match.header.regex": ("headerMatches", "EdgeMatching.headerMatches: a Java regex, full match on the first "
                                            "line of the header"),
    "match.header.present": ("headerPresent", "EdgeMatching.headerPresent"),
    "match.query.exact": ("queryEquals", "EdgeMatching.queryEquals: the first value of the parameter, "
                                         "%XX-decoded (+ kept), equals the value"),
    "match.query.regex": ("queryMatches", "EdgeMatching.queryMatches: a Java regex, full match on the first "
                                          "value of the parameter, %XX-decoded (+ kept)"),
    "match.query.present": ("queryPresent", "EdgeMatching.queryPresent"),
}


def path_predicate(path: ir.PathMatch) -> Java:
    name = MATCHING[f"match.path.{path.type}"][0]
    return helper(name, regex(path.value) if path.type == "regex" else routing.decoded_path(path.value))


def helper(name: str, *args) -> Java:
    return Java(f"predicate({call('EdgeMatching.' + name, *args)})")


def value_predicate(kind: str, m: ir.ValueMatch) -> Java:
    args = (m.name,) if m.type == "present" else (m.name, regex(m.value) if m.type == "regex" else m.value)
    return helper(MATCHING[f"match.{kind}.{m.type}"][0], *args)


def predicates(m: ir.Match, host: str | None) -> list[Java]:
    out = []
    if host is not None:
        out.append(helper(MATCHING["match.host"][0], host))
    out.append(path_predicate(m.path))
    if m.methods:
        out.append(call("method", *m.methods))
    out += [value_predicate("header", h) for h in m.headers]
    out += [value_predicate("query", q) for q in m.query]
    return out


# ---- filters ----------------------------------------------------------------------------------

def _expands(value: str) -> bool:
    """SCG's header filters expand {variables} in values; such values need the literal filter."""
    return "{" in value


def request_header_filters(ops: ir.HeaderOps) -> list[Java]:
    out = []
    for verb, dsl in (("set", "setRequestHeader"), ("add", "addRequestHeader")):
        for name, value in getattr(ops, verb):
            out.append(Java(f"filter(EdgeFilters.requestHeader({literal(verb)}, {literal(name)}, {literal(value)}))")
                       if _expands(value) else call(dsl, name, value))
    out += [call("removeRequestHeader", name) for name in ops.remove]
    return out


def response_header_filters(ops: ir.HeaderOps) -> list[Java]:
    out = [Java(f"filter(EdgeFilters.responseHeader(\"set\", {literal(n)}, {literal(v)}))") for n, v in ops.set]
    out += [Java(f"filter(EdgeFilters.responseHeader(\"add\", {literal(n)}, {literal(v)}))") for n, v in ops.add]
    out += [Java(f"filter(EdgeFilters.responseHeader(\"remove\", {literal(n)}, null))") for n in ops.remove]
    return out


def uri_path(path: str, safe: str = "/-._~!$&'()*+,;=:@") -> str:
    """A configured path made fit for a request line: characters outside RFC 3986 paths as
    %XX (UTF-8); %XX escapes already written are kept, a lone "%" is escaped."""
    return "".join(part if re.fullmatch(r"%[0-9A-Fa-f]{2}", part) else quote(part, safe=safe)
                   for part in re.split(r"(%[0-9A-Fa-f]{2})", path))


def uri_target(target: str) -> str:
    """A configured path with an optional query, made fit for a request line."""
    path, sep, query = target.partition("?")
    return uri_path(path) + sep + uri_path(query, safe="/?-._~!$&'()*+,;=:@")


def rewrite_filters(rewrite: ir.Rewrite, m: ir.Match) -> list[Java]:
    out = []
    if rewrite.path and rewrite.path.type == "prefix":
        prefix = routing.rewritten_prefix(rewrite.path, m)
        out.append(Java(f"filter(EdgeFilters.replacePrefix({literal(prefix)}, "
                        f"{literal(rewrite.path.replacement)}))"))
    elif rewrite.path:
        out.append(Java(f"filter(EdgeFilters.replacePath({literal(uri_path(rewrite.path.replacement))}))"))
    # without a rewrite the backend sees the client's Host: EdgeIdentity keeps it for every route
    if rewrite.host is not None:
        out.append(Java(f"filter(EdgeFilters.hostHeader({literal(rewrite.host)}))")
                   if _expands(rewrite.host) else call("setHostHeader", rewrite.host))
    return out


def cors_filter(c: ir.Cors) -> Java:
    def arr(items):
        return Java("List.of(" + ", ".join(literal(i) for i in items) + ")")
    return Java(f"filter(EdgeFilters.cors({arr(c.origins)}, {arr(c.methods)}, {arr(c.headers)}, "
                f"{arr(c.expose)}, {literal(c.credentials)}, {c.max_age_s}))")


def token_bucket(rate: ir.RateLimit) -> tuple[int, int, int]:
    """(replenishRate, burstCapacity, requestedTokens) for RedisRateLimiter.

    RedisRateLimiter adds `replenishRate` whole tokens a second and charges
    `requestedTokens` a request, so count/window_s requests a second is
    replenish/requested with g = gcd(count, window): replenish = count/g,
    requested = window/g (100/min: 5 tokens a second, 3 a request). The bucket holds
    the burst on top of one request, as many requests' worth of tokens, but never less
    than a second's refill: RedisRateLimiter refuses a smaller bucket at start-up (it
    refills in whole seconds), so such a limit takes a second's worth at once
    (`bucket_raised` says when).
    """
    from math import gcd
    g = gcd(rate.count, rate.window_s)
    replenish, requested = rate.count // g, rate.window_s // g
    return replenish, max((rate.burst + 1) * requested, replenish), requested


def bucket_raised(rate: ir.RateLimit) -> int | None:
    """The requests Spring accepts at once for a limit whose burst is below a second's
    refill, else None (see token_bucket)."""
    _, capacity, requested = token_bucket(rate)
    return capacity // requested if capacity // requested > rate.burst + 1 else None


def http_method(name: str) -> str:
    constants = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE")
    return f"HttpMethod.{name}" if name in constants else f"HttpMethod.valueOf({literal(name)})"


def retry_filter(retry: ir.Retry) -> Java:
    parts = [f"setRetries({retry.attempts})",
             "setStatuses(" + ", ".join(f"HttpStatus.valueOf({s})" for s in retry.statuses) + ")",
             "setSeries()",
             "setMethods(" + ", ".join(http_method(m) for m in retry.methods) + ")"]
    if not retry.connect_errors:
        # SCG's default exceptions are IOException and TimeoutException: the connect errors
        parts.append("setExceptions()")
    if retry.backoff_ms:
        b = retry.backoff_ms
        parts.append(f"setBackoff(Duration.ofMillis({literal(b)}), Duration.ofMillis({literal(b)}), 1, false)")
    return Java("retry(c -> c." + "\n                            .".join(parts) + ")")


@dataclass
class RouteContext:
    """What building the routes of one edge needs besides the route itself."""

    edge: ir.Edge
    names: Names
    key_resolvers: dict[tuple[str, str | None], str]  # (source, name) → bean name
    response_timeout_ms: int | None = field(init=False)  # the HTTP client's (config.client_response_timeout_ms)

    def __post_init__(self):
        self.response_timeout_ms = config.client_response_timeout_ms(self.edge)


def route_filters(route: ir.Route, m: ir.Match, ctx: RouteContext) -> list[Java]:
    out: list[Java] = []
    if route.rate_limit:
        pairs = [text for header in route.rate_limit.refusal_headers(route.name) for text in header]
        out.append(Java(f"filter(EdgeFilters.refusalHeaders({route.rate_limit.status}, {literals(pairs)}))"))
    # before every guard: a refusal on the route carries its response headers as its other answers
    # do (routing.Decision), and they apply at commit after the refusal's own (registered first)
    out += response_header_filters(route.response_headers)
    if not route.access.empty:  # first guard: before a token, a preflight or a limit is looked at
        out.append(Java(f"filter(EdgeFilters.access(List.of({literals(route.access.allow)}), "
                        f"List.of({literals(route.access.deny)})))"))
    if route.timeouts.request_ms:
        out.append(Java(f"filter(EdgeFilters.deadline(Duration.ofMillis({literal(route.timeouts.request_ms)})))"))
    if route.cors:
        out.append(cors_filter(route.cors))
    if route.auth:
        out.append(Java(f"filter(security.{ctx.names.auth_method(route.auth)}())"))
    if not route.require.empty:
        out.append(require_filter(route, ctx.edge.auth_provider(route.auth)))
    if route.rate_limit:
        out.append(rate_limit_filter(route, ctx))
    action = route.action
    if isinstance(action, ir.Redirect):
        out.append(redirect_filter(action, m))
        return out
    if isinstance(action, ir.Respond):
        out.append(Java(f"filter(EdgeFilters.respond({action.status}, {literal(action.content_type)}, "
                        f"{literal(action.body)}))"))
        return out
    if isinstance(action, ir.Aggregate):
        parts = [f"new EdgeSubrequests.Part({literal(p.name)}, {literal(p.method)}, "
                 f"{literal(ctx.names.service(p.upstream))}, {literal(uri_target(p.path))}, "
                 f"Duration.ofMillis({literal(p.timeout_ms)}))" for p in action.parts]
        out += request_header_filters(route.request_headers)
        out.append(Java("filter(subrequests.aggregate(\n                            "
                        + ",\n                            ".join(parts) + "))"))
        return out
    if route.cache:
        # SCG's cache answers a hit without going on along the route's filters, which are ordered
        # after it unless told otherwise: the guards and response header operations above hold for
        # a hit too (as nginx's access, auth and limit phases come before its cache), so they are
        # ordered before it, in the order written (the sort is stable)
        out = [Java("filter(EdgeIdentity.afterCache())")] + [before_cache(f) for f in out]
        out.append(Java(f"localResponseCache(Duration.ofMillis({literal(route.cache.ttl_ms)}), "
                        "DataSize.ofMegabytes(16))"))
    out += request_header_filters(route.request_headers)
    out += rewrite_filters(route.rewrite, m)
    out += [Java(f"filter(subrequests.mirror({literal(ctx.names.service(mirror.upstream))}, {mirror.percent!r}))")
            for mirror in route.mirrors]
    return out


def before_cache(f: Java) -> Java:
    """A route filter `filter(F)` ordered just before a route's response cache (EdgeIdentity.BEFORE_CACHE)."""
    assert f.startswith("filter(") and f.endswith(")"), f
    return Java(f"{f[:-1]}, EdgeIdentity.BEFORE_CACHE)")


def require_filter(route: ir.Route, auth: ir.Auth) -> Java:
    claims = ", ".join(f"new EdgeSecurity.Claim({literal(c.name)}, List.of({literals(c.values)}))"
                       for c in route.require.claims)
    return Java(f"filter(EdgeSecurity.require({literal(routing.forbidden_challenge(auth))}, List.of({claims}), "
                f"List.of({literals(route.require.scopes)})))")


def rate_limit_filter(route: ir.Route, ctx: RouteContext) -> Java:
    """The route's limit as a filter of its own (EdgeRateLimits.limit), its bucket keyed by the
    edge route: every SCG route made from it shares one, and a cached route can order it before
    its cache (before_cache), which the DSL's requestRateLimiter() cannot."""
    rate = route.rate_limit
    replenish, capacity, requested = token_bucket(rate)
    resolver = ctx.key_resolvers[(rate.key.source, rate.key.name)]
    configure = f"c -> c.setKeyResolver({resolver})"
    if rate.status != 429:
        configure += f".setStatusCode(HttpStatus.valueOf({rate.status}))"
    return Java(f"filter(rateLimits.limit({literal(route.name)}, {replenish}, {capacity}, {requested},"
                f"\n                                {configure}))")


def redirect_filter(r: ir.Redirect, m: ir.Match) -> Java:
    path_mode, path_value, prefix = "keep", None, None
    if r.path and r.path.type == "full":
        path_mode, path_value = "full", uri_path(r.path.replacement)
    elif r.path:
        path_mode, path_value = "prefix", r.path.replacement
        prefix = routing.rewritten_prefix(r.path, m)
    return Java(f"filter(EdgeFilters.redirect({r.status}, {literal(r.scheme)}, {literal(r.host)}, "
                f"{literal(r.port or 0)}, {literal(path_mode)}, {literal(path_value)}, {literal(prefix)}))")


def upstream_timeouts(up: ir.Upstream, route: ir.Route, ctx: RouteContext) -> list[tuple[Java, Java]]:
    """The route's timeouts as SCG route metadata, each only where it differs from the client's
    (config.client_connect_timeout_ms, config.client_response_timeout_ms): SCG copies the HTTP
    client for every request of a route that carries a connect timeout, and schedules a timer
    for every request of one that carries a response timeout."""
    limits = routing.time_limits(route.timeouts, up)
    out = []
    if limits.attempt_ms != ctx.response_timeout_ms:
        out.append((Java("RESPONSE_TIMEOUT_ATTR"), Java(literal(limits.attempt_ms))))
    if limits.connect_ms != config.client_connect_timeout_ms(ctx.edge):
        out.append((Java("CONNECT_TIMEOUT_ATTR"), Java(literal(limits.connect_ms))))
    return out


def upstream_uri(up: ir.Upstream, names: Names) -> Java:
    """Where a route forwards: its upstream's LoadBalancer client (lb://) when it is balanced, else
    its one server, read from application.yml, where the servers of every upstream are set."""
    service = names.service(up.name)
    if config.balanced(up):
        return Java(literal(f"lb://{service}"))
    return Java(f"environment.getRequiredProperty({literal(config.instances_property(service) + '[0].uri')})")


def reads_environment(spring_routes: list[SpringRoute]) -> bool:
    """Whether a route's URI is read from the application's properties (upstream_uri)."""
    return any(r.uri.startswith("environment.") for r in spring_routes)


def build_routes(ctx: RouteContext) -> list[SpringRoute]:
    """One SCG route per (route, match, host, backend), numbered in routing's first-match
    order (the backends of one line take consecutive orders: a weight predicate picks one)."""
    backends_of: dict[str, tuple] = {}
    piece_of: dict[tuple[str, int, str | None], int] = {}  # (route, match, host) → its number in the route, for ids
    for route in ctx.edge.routes:
        backends = route.action.backends if isinstance(route.action, ir.Forward) else (None,)
        backends_of[route.name] = tuple(b for b in backends if b is None or b.weight > 0)
        pieces = [(mi, host) for mi, m in enumerate(route.matches) for host in (m.hosts or (None,))]
        piece_of.update({(route.name, mi, host): pi for pi, (mi, host) in enumerate(pieces)})
    out: list[SpringRoute] = []
    for alt in routing.first_match_order(ctx.edge):
        pi = piece_of[(alt.route.name, alt.match_index, alt.host)]
        backends = backends_of[alt.route.name]
        for bi in range(len(backends)):
            out.append(spring_route(alt, pi, backends, bi, len(out) + 1, ctx))
    return out


def spring_route(alt: routing.Alternative, pi: int, backends: tuple, bi: int, order: int,
                 ctx: RouteContext) -> SpringRoute:
    """The SCG route of one line of the order (the pi-th (match, host) of its route) and its
    bi-th backend (None: the route does not forward)."""
    route, m, host, backend = alt.route, alt.match, alt.host, backends[bi]
    rid = route.name + (f"#{pi + 1}" if pi else "") + (f"@{backend.upstream}" if bi else "")
    notes = []
    if len(route.matches) > 1:
        notes.append(f"match {alt.match_index + 1} of {len(route.matches)}")
    if len(m.hosts) > 1:
        notes.append(f"host {host}")
    preds = predicates(m, host)
    if len(backends) > 1:
        preds.append(call("weight", f"{route.name}#{pi + 1}", backend.weight))
        notes.append(f"{backend.weight} of {sum(b.weight for b in backends)} to {backend.upstream}")
    spring = SpringRoute(rid, route.name, ", ".join(notes), order, preds, route_filters(route, m, ctx))
    spring.metadata.append((Java("EDGE_ROUTE"), Java(literal(route.name))))
    if backend is not None:
        up = ctx.edge.upstream(backend.upstream)
        if up.sticky:
            spring.filters.append(Java(
                f"filter(EdgeFilters.stickyCookie({literal(up.sticky.cookie)}, "
                f"{up.sticky.ttl_ms // 1000}, {literal(up.sticky.path)}))"))
        if route.retry.attempts:
            spring.filters.append(retry_filter(route.retry))
        spring.metadata += upstream_timeouts(up, route, ctx)
        spring.uri = upstream_uri(up, ctx.names)
    return spring
