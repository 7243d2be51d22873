"""Spring Cloud Gateway: a Maven project (Spring Boot + SCG server-webflux, Java DSL routes)."""
from __future__ import annotations

import re

from edgec import ir
from edgec.targets import BuildContext, Target, approximate, native, unsupported

from .java import KEYWORDS
from .routes import MATCHING, bucket_raised
from .project import SUPPORTED_JWT_ALGORITHMS, VERSIONS, emit_project

# the 4xx and 5xx codes Spring's HttpStatus enum names (RetryConfig.setStatuses takes only those)
HTTP_STATUS_ENUM = frozenset([*range(400, 419), 422, 423, 424, 425, 426, 428, 429, 431, 451,
                              *range(500, 509), 510, 511])


class SpringTarget(Target):
    name = "spring"
    description = ("Spring Cloud Gateway (server-webflux) Maven project: Java DSL RouteLocator, "
                   "Spring Cloud LoadBalancer, RedisRateLimiter, application.yml")
    options = {
        "boot": ("3", "Spring Boot generation: 3 (Boot 3.5.7, Spring Cloud 2025.0.0, SCG 4.3) or "
                      "4 (Boot 4.0.7, Spring Cloud 2025.1.4, SCG 5.0)"),
        "package": ("", "Java package of the generated classes (default: edge.<edge name>)"),
    }
    capabilities = {
        "listener.http": native(),
        "listener.https": native("spring.ssl.bundle.pem with server.ssl.bundle"),
        "listener.http2": native("server.http2.enabled"),
        "listener.tls_min_version": native("server.ssl.enabled-protocols"),
        "listener.redirect_https": native("a reactor-netty listener that answers every request with the redirect"),
        "listener.hsts": native("a WebFilter adding the header to every response over TLS"),
        "request.path.unnormalised": native(),
        "request.path.unsafe_characters": approximate("Spring's URI parsing answers 400"),
        "request.path.trailing_slash": native(),
        "request.query.bare": approximate("a bare '?' is dropped when the client's own path is forwarded "
                                          "(`/x?` reaches the backend as `/x`) and kept after a prefix "
                                          "redirect's new path", when="path_goes_on"),
        "request.host.spelling": native(),
        "request.target.non_ascii": approximate("raw non-ASCII bytes in the target are routed and forwarded, "
                                                "not answered 400"),
        "request.header.underscore": approximate("header lines named with '_' are forwarded", when="forwarded"),
        "request.header.repeated": approximate("a header sent on several lines whose names differ in letter case "
                                               "reaches the backend with every line twice (`A: a`, `a: b` → "
                                               "`a,b,a,b`)", when="forwarded"),
        "request.header.empty": native(),
        "request.header.request_id": native("the generated EdgeIdentity filter"),
        **{feature: native(note) for feature, (_, note) in MATCHING.items()},
        "listener.client_cert": native("server.ssl.client-auth with the CA as the SSL bundle's trust store; a "
                                       "WebFilter puts the subject in the header"),
        "match.method": native(),
        "balance.round_robin": native(),
        "balance.least_conn": native("fewest requests in flight / weight, ties in turn (a LoadBalancer of "
                                     "edgec's; counted per process until the response headers arrive)"),
        "balance.ip_hash": native("rendezvous hash of the client address (a LoadBalancer of edgec's)"),
        "balance.hash.header": native("rendezvous hash of the header value (a LoadBalancer of edgec's)"),
        "balance.hash.cookie": native("rendezvous hash of the cookie value (a LoadBalancer of edgec's)"),
        "balance.hash.client_ip": native("rendezvous hash of the client address (a LoadBalancer of edgec's)"),
        "balance.hash.uri": native("rendezvous hash of path and query (a LoadBalancer of edgec's)"),
        "balance.random": native("RandomLoadBalancer"),
        "upstream.weights": native("the 'weighted' instance supplier (instance metadata weight)"),
        "upstream.backup": native("an instance supplier after the health checks: backups only while no "
                                  "primary is in the list"),
        "upstream.health_check": approximate("the LoadBalancer health-check supplier probes the path every "
                                             "interval; a server counts as healthy only on 200, after one probe "
                                             "(no timeout, thresholds or status range)"),
        "upstream.passive_check": approximate("no passive ejection: a failed server is not taken out; "
                                              "retries go to the next server"),
        "upstream.passive_check.statuses": approximate("no passive ejection: a server answering errors is not "
                                                       "taken out; retries on the status go to the next server"),
        "upstream.sticky_cookie": native("request-based sticky sessions, plus a filter that sets the cookie"),
        "upstream.tls": unsupported("the gateway's HTTP client has one TLS setting for every route "
                                    "(spring.cloud.gateway.httpclient.ssl): no CA, name or client certificate per "
                                    "upstream"),
        "upstream.circuit_breaker": unsupported("the gateway's HTTP client has one connection pool setting for "
                                                "every route (spring.cloud.gateway.httpclient.pool), and "
                                                "Resilience4j's circuit breaker opens on failure rates, not on "
                                                "connections in use"),
        "upstream.tls.no_verify": unsupported("the gateway's HTTP client has one TLS setting for every route"),
        "upstream.tls.client_cert": unsupported("the gateway's HTTP client has one TLS setting for every route"),
        "upstream.service": native("the Service's name as the servers' host name, which the cluster's DNS "
                                   "resolves for a gateway in its namespace"),
        "upstream.keepalive": approximate("one connection pool for every upstream; only its idle time is set"),
        "upstream.timeouts": approximate("connect and read timeouts: the HTTP client's for the edge's longest, "
                                         "route metadata for a shorter one; no send timeout"),
        "auth.jwt": native("Spring Security's NimbusReactiveJwtDecoder in a route filter"),
        "auth.claims": native("a route filter after the jwt filter reads the verified Jwt's claims"),
        "auth.scopes": native("the same filter: the words of scope and scp, strings or lists"),
        "auth.basic": native("bcrypt and {SHA} htpasswd entries"),
        "auth.api_key": native(),
        "auth.external": native("a route filter that asks the service with WebClient"),
        "auth.external.timeout": native("Mono.timeout over the WebClient exchange, connecting included"),
        "rate_limit.client_ip": native("RedisRateLimiter (needs Redis)"),
        "rate_limit.header": native("RedisRateLimiter (needs Redis)"),
        "rate_limit.claim": native("RedisRateLimiter (needs Redis)"),
        "rate_limit.retry_after": native("a route filter sets Retry-After on the rate limiter's 429 (besides "
                                         "RedisRateLimiter's own X-RateLimit-* headers)"),
        "rate_limit.headers": native("the same filter sets RateLimit-Policy and RateLimit "
                                     "(draft-ietf-httpapi-ratelimit-headers-10) on the limiter's 429"),
        "rate_limit.burst": native("token bucket capacity"),
        "cache": approximate("LocalResponseCache: only GET responses with status 200, 206 or 301 are cached"),
        "cache.vary": approximate("LocalResponseCache keys entries by the headers the backend's Vary "
                                  "response header names, not by the listed ones"),
        "request_headers.set": native(),
        "request_headers.add": native(),
        "request_headers.remove": native(),
        "response_headers.set": native(),
        "response_headers.add": native(),
        "response_headers.remove": native(),
        "rewrite.prefix": native(),
        "rewrite.full": native(),
        "rewrite.host": native(),
        "cors": native(),
        "timeout.request": native(),
        "timeout.per_try": native("the HTTP client's response timeout for the edge's longest attempt, route "
                                  "metadata response-timeout for a shorter one"),
        "retry": native("Retry filter; the next attempt goes to the next server"),
        "retry.statuses": native(),
        "retry.backoff": native(),
        "mirror": native("copies of bodiless requests through the upstream's LoadBalancer client "
                         "(WebClient); requests with a body are not mirrored"),
        "mirror.percent": native(),
        "action.forward": native("a bodiless request reaches the backend framed as Content-Length: 0 (GET, "
                                 "DELETE) or as chunked with only the last chunk (POST, PUT, PATCH): "
                                 "the same empty body"),
        "action.forward.weighted": native("Weight route predicate"),
        "protocol.websocket": native("the WebSocket routing filter (an Upgrade request to an http or lb route)"),
        "action.redirect": native(),
        "action.respond": native(),
        "action.aggregate": native("parts fetched in parallel through the upstreams' LoadBalancer clients "
                                   "(WebClient), merged with Jackson"),
        "action.aggregate.timeout": native("Mono.timeout over the part's WebClient exchange, connecting included"),
        "observability.access_log": approximate("reactor-netty's access log, in its own format, "
                                                "to the application log"),
        "observability.metrics": native("actuator + micrometer Prometheus endpoint"),
        "observability.tracing": approximate("Micrometer Tracing's OpenTelemetry bridge (Boot's parent-based "
                                             "sampler at the share, OTLP/HTTP): a server span per request and a "
                                             "client span per upstream call of the gateway; the access log "
                                             "(reactor-netty's format) has no trace_id"),
        "limits": approximate("the header size, the idle timeout and max_body (a WebFilter: a Content-Length "
                              "over it is refused before routing, so that 413 has none of the route's response "
                              "headers; a chunked body is refused as it grows over); no header count or header "
                              "timeout limits"),
        "access": native("the edge's lists in the first WebFilter (and the HTTPS-redirect listener), a route's in "
                         "its first filter, on the client address trust_proxies finds"),
        "trusted_proxies": native("the client address of rate limits and ip hash: the nearest untrusted "
                                  "X-Forwarded-For hop when the peer is trusted"),
    }

    def check(self, ctx: BuildContext) -> None:
        super().check(ctx)
        edge = ctx.edge
        boot = self.option(ctx, "boot")
        if boot not in VERSIONS:
            ctx.sink.error("E403", f"target 'spring' option boot={boot} is not one of {', '.join(VERSIONS)}", None,
                           hint="write it like -O boot=3")
        package = self.option(ctx, "package")
        if package and not all(re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", part) and part not in KEYWORDS
                               for part in package.split(".")):
            ctx.sink.error("E403", f"target 'spring' option package={package} is not a Java package name", None,
                           hint="write it like -O package=com.example.edge")
        https = [lst for lst in edge.listeners if lst.protocol == "https"]
        for extra in https[1:]:
            ctx.unsupported("a second HTTPS listener: Spring Boot serves one (server.ssl)", extra.span,
                            hint="keep one `listen https`")
        for auth in edge.auth:
            if isinstance(auth, ir.JwtAuth):
                bad = [a for a in auth.algorithms if a not in SUPPORTED_JWT_ALGORITHMS]
                if bad:
                    ctx.unsupported(f"JWT algorithm {', '.join(bad)} in auth '{auth.name}'", auth.span,
                                    hint="Spring Security supports " + ", ".join(SUPPORTED_JWT_ALGORITHMS))
        if edge.observability.tracing and boot == "4":
            ctx.unsupported("tracing with Spring Boot 4 (its OpenTelemetry properties and starter differ from "
                            "Boot 3's, which edgec writes)", edge.observability.tracing.span,
                            hint="build with -O boot=3")
        for route in edge.routes:
            at_once = route.rate_limit and bucket_raised(route.rate_limit)
            if at_once:
                ctx.approximates(f"rate_limit of route '{route.name}' with burst {route.rate_limit.burst}: Spring's "
                                 f"RedisRateLimiter refills in whole seconds and needs a bucket of at least a "
                                 f"second's refill, so up to {at_once} requests are accepted at once",
                                 route.span, hint=f"write `burst {at_once - 1}` to say what Spring does")
            if route.retry.attempts:
                odd = [s for s in route.retry.statuses if s not in HTTP_STATUS_ENUM]
                if odd:
                    ctx.unsupported(f"retries on status {', '.join(map(str, odd))} in route '{route.name}': "
                                    "SCG's retry takes Spring's HttpStatus values", route.span)

    def emit(self, ctx: BuildContext) -> dict[str, str]:
        return emit_project(ctx.edge, self.option(ctx, "boot"), self.option(ctx, "package"))


TARGET = SpringTarget
