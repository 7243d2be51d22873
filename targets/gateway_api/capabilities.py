"""What the Gateway API manifests can express, feature by feature: GENERIC for any conformant
implementation (the standard channel's core and extended fields of the pinned release),
ENVOY_GATEWAY for Envoy Gateway, whose own policy resources add what the core API lacks."""
from __future__ import annotations

from edgec.targets import Capability, approximate, native, unsupported

# what an implementation decides for itself is a declared difference, not a silent one
IMPL = "implementation-specific in the Gateway API"
NO_CORE = "the standard channel of the Gateway API has no field for it"
FAILED_CONNECTION = 503  # Envoy's answer to a connection to a server that failed
# (Envoy Gateway's BackendTrafficPolicy makes it a 502: see backend_traffic)
BACKEND_TLS = ("a BackendTLSPolicy: the CA bundle from a ConfigMap (key ca.crt; `edgec build` prints the kubectl "
               "command that makes it from the file), the hostname sent as SNI and matched (the servers' host name "
               "when no sni is given); a server that fails the check is a failed connection")
# on a route whose own refusal is Envoy's 503, a failed connection stays one
STAYS_503 = (f"; on its routes a failed connection to a server (refused, not made within the connect timeout, "
             f"failing the TLS check) is answered {FAILED_CONNECTION} (Envoy's), where edgec answers 502")

GENERIC: dict[str, Capability] = {
    "listener.http": native("a Gateway listener of protocol HTTP"),
    "listener.https": native("a Gateway listener of protocol HTTPS terminating TLS with the Secret named by "
                             "-O tls_secret (create it from the certificate and key files: `edgec build` prints "
                             "the kubectl command)"),
    "listener.http2": approximate("HTTP/2 over TLS is " + IMPL + " (most offer it by ALPN)"),
    "listener.tls_min_version": approximate("the minimum TLS version is " + IMPL + " (" + NO_CORE + ")"),
    "listener.redirect_https": native("an HTTPRoute on that listener whose one rule is a RequestRedirect to https"),
    "listener.hsts": native("a ResponseHeaderModifier on every rule of the routes attached to the HTTPS "
                            "listeners"),
    "listener.client_cert": unsupported("client certificate validation (frontend TLS validation, GEP-91) is not in "
                                        "the standard channel, and " + NO_CORE + " to pass the subject on"),
    "match.path.exact": native("path type Exact"),
    "match.path.prefix": native("path type PathPrefix (element-wise: never /pfoo)"),
    "match.path.regex": approximate("path type RegularExpression (extended): the regex dialect and the order of "
                                    "regex matches against each other and against prefixes are " + IMPL),
    "match.host": native("the HTTPRoute's hostnames; a route per host name repeats the routes its host falls "
                         "back to"),
    "match.host.wildcard": native("hostname *.example.com (any depth, never the bare domain)"),
    "match.method": native("one HTTPRouteMatch per method (extended)"),
    "match.header.exact": native("header match type Exact"),
    "match.header.regex": approximate("header match type RegularExpression: the regex dialect is " + IMPL),
    "match.header.present": approximate("a RegularExpression match on any value: the regex dialect is " + IMPL),
    "match.query.exact": approximate("query parameter match type Exact (extended): whether a %-encoded value is "
                                     "decoded first is " + IMPL),
    "match.query.regex": approximate("query parameter match type RegularExpression: the dialect is " + IMPL),
    "match.query.present": approximate("a RegularExpression match on any value: the dialect is " + IMPL),
    "balance.round_robin": approximate("the balancing algorithm is " + IMPL + " (" + NO_CORE + ")"),
    "balance.least_conn": approximate("the balancing algorithm is " + IMPL + " (" + NO_CORE + ")"),
    "balance.ip_hash": approximate("the balancing algorithm is " + IMPL + " (" + NO_CORE + ")"),
    "balance.hash.header": approximate("the balancing algorithm is " + IMPL + " (" + NO_CORE + ")"),
    "balance.hash.cookie": approximate("the balancing algorithm is " + IMPL + " (" + NO_CORE + ")"),
    "balance.hash.client_ip": approximate("the balancing algorithm is " + IMPL + " (" + NO_CORE + ")"),
    "balance.hash.uri": approximate("the balancing algorithm is " + IMPL + " (" + NO_CORE + ")"),
    "balance.random": approximate("the balancing algorithm is " + IMPL + " (" + NO_CORE + ")"),
    "upstream.weights": unsupported("an EndpointSlice endpoint has no weight: split the servers into upstreams "
                                    "and weigh those in the route's forward"),
    "upstream.backup": unsupported("an EndpointSlice has no backup endpoints"),
    "upstream.health_check": approximate("the path is not probed (" + NO_CORE + "): a failing server leaves "
                                         "the pool only if the implementation ejects it on its own"),
    "upstream.passive_check": approximate("ejecting a failing server is " + IMPL),
    "upstream.passive_check.statuses": approximate("counting a server's error answers is " + IMPL),
    "upstream.sticky_cookie": unsupported("session persistence is experimental in the Gateway API"),
    "upstream.tls": approximate(BACKEND_TLS + ", answered with the implementation's own status (Envoy Gateway's: "
                                f"{FAILED_CONNECTION}, where edgec answers 502)"),
    "upstream.circuit_breaker": unsupported(NO_CORE),
    "upstream.tls.no_verify": unsupported("a BackendTLSPolicy always checks the servers' certificate"),
    "upstream.tls.client_cert": native("the Gateway's spec.tls.backend.clientCertificateRef (a TLS Secret): one "
                                       "certificate for every upstream reached with TLS, so they must all name the "
                                       "same one"),
    "upstream.service": native("backendRefs to the Service, of the edge's namespace, that the cluster already "
                                "has: no Service or EndpointSlice is written for it"),
    "upstream.keepalive": approximate("connection reuse to the servers is " + IMPL),
    "upstream.timeouts": approximate("the read timeout bounds each request to a backend (timeouts."
                                     "backendRequest); connect and send timeouts are " + IMPL),
    "auth.jwt": unsupported(NO_CORE),
    "auth.claims": unsupported(NO_CORE),
    "auth.scopes": unsupported(NO_CORE),
    "auth.basic": unsupported(NO_CORE),
    "auth.api_key": unsupported(NO_CORE),
    "auth.external": unsupported(NO_CORE),
    "auth.external.timeout": unsupported(NO_CORE),
    "rate_limit.client_ip": unsupported(NO_CORE),
    "rate_limit.header": unsupported(NO_CORE),
    "rate_limit.claim": unsupported(NO_CORE),
    "rate_limit.burst": unsupported(NO_CORE),
    "rate_limit.retry_after": unsupported(NO_CORE),
    "rate_limit.headers": unsupported(NO_CORE),
    "cache": unsupported(NO_CORE),
    "cache.vary": unsupported(NO_CORE),
    "request_headers.set": native("RequestHeaderModifier set"),
    "request_headers.add": native("RequestHeaderModifier add (appends to a value the request has)"),
    "request_headers.remove": native("RequestHeaderModifier remove"),
    "response_headers.set": native("ResponseHeaderModifier set (extended)"),
    "response_headers.add": native("ResponseHeaderModifier add (extended)"),
    "response_headers.remove": native("ResponseHeaderModifier remove (extended)"),
    "rewrite.prefix": native("URLRewrite ReplacePrefixMatch (extended) after a prefix match, ReplaceFullPath "
                             "after an exact one"),
    "rewrite.full": native("URLRewrite ReplaceFullPath (extended)"),
    "rewrite.host": native("URLRewrite hostname (extended)"),
    "cors": approximate("the CORS filter; an implementation built on Envoy (Envoy Gateway) answers preflights "
                        "with 200 (the others 204), without the route's response header operations"),
    "timeout.request": native("timeouts.request (extended)"),
    "timeout.per_try": native("timeouts.backendRequest (extended)"),
    "retry": approximate("retries are experimental in the Gateway API: requests are not retried"),
    "retry.statuses": approximate("retries are experimental in the Gateway API: requests are not retried"),
    "retry.backoff": approximate("retries are experimental in the Gateway API: requests are not retried"),
    "mirror": native("RequestMirror (extended)"),
    "mirror.percent": native("RequestMirror percent or fraction"),
    "action.forward": native("backendRefs to the upstream's Service"),
    "action.forward.weighted": native("weighted backendRefs"),
    "protocol.websocket": approximate("WebSocket upgrades are " + IMPL + " (most pass them)"),
    "action.redirect": native("RequestRedirect"),
    "action.respond": unsupported(NO_CORE),
    "action.aggregate": unsupported("a gateway cannot merge several backend responses into one JSON document; "
                                    "use the runtime target"),
    "action.aggregate.timeout": unsupported("a gateway cannot merge several backend responses into one JSON "
                                            "document; use the runtime target"),
    "observability.access_log": approximate("access logs are the implementation's, in its format"),
    "observability.metrics": approximate("the implementation serves its own metrics, not at the metrics path"),
    "observability.tracing": unsupported(NO_CORE),
    "limits": approximate("request size and time limits are " + IMPL),
    "access": unsupported(NO_CORE),
    "trusted_proxies": approximate("how the client address is read is " + IMPL),
    "request.path.unnormalised": approximate("path normalisation, and the path a backend then receives, are " + IMPL),
    "request.path.unsafe_characters": approximate("how characters outside RFC 3986 are passed on is " + IMPL),
    "request.path.trailing_slash": native(),
    "request.query.bare": approximate("whether a bare '?' goes on is " + IMPL),
    "request.host.spelling": approximate("the host a redirect without a hostname sends is the request's, as the "
                                         "implementation reads it", when="location_takes_host"),
    "request.target.non_ascii": approximate("whether raw non-ASCII bytes in the target are refused is " + IMPL),
    "request.header.underscore": approximate("what happens to header lines named with '_' is " + IMPL +
                                             " (Envoy Gateway answers 400)"),
    "request.header.repeated": approximate("how a header sent on several lines is matched is " + IMPL),
    "request.header.request_id": approximate("whether a gateway makes a request id, and what it does with the "
                                             "client's X-Request-Id, is " + IMPL),
    "request.header.empty": approximate("how a header sent with an empty value is joined with other values is "
                                        + IMPL),
}

# Envoy Gateway's listeners normalise the path and forward what they routed on
PATH_NOTE = ("Envoy Gateway's Envoy matches the normalised path (RFC 3986 dot segments, merged slashes, %XX of "
             "unreserved characters decoded; an escaped slash is unescaped and redirected) and forwards that "
             "normalised path")

ENVOY_GATEWAY: dict[str, Capability] = {
    **GENERIC,
    "observability.tracing": unsupported("Envoy Gateway's OpenTelemetry provider (the EnvoyProxy's "
                                         "telemetry.tracing, v1.9.1) exports over OTLP/gRPC only, and the file "
                                         "names an OTLP/HTTP collector: use the envoy target, or configure the "
                                         "EnvoyProxy with a gRPC collector yourself"),
    "match.path.exact": native("path type Exact; " + PATH_NOTE),
    "protocol.websocket": native("Envoy Gateway lets every route upgrade to WebSocket"),
    "action.respond": native("an HTTPRouteFilter (Envoy Gateway's) with a direct response: status, content type "
                             "and body"),
    "action.redirect": approximate("RequestRedirect: a redirect that names a scheme but no host keeps the port "
                                   "of the request's Host header (Envoy Gateway leaves out the scheme's default "
                                   "port, and Envoy then keeps the Host's)"),
    "match.path.prefix": native("path type PathPrefix (element-wise: never /pfoo); " + PATH_NOTE),
    "match.path.regex": native("RegularExpression, rewritten as RE2 with Python's meaning; the rules keep "
                               "edgec's order (EnvoyProxy preserveRouteOrder)"),
    "match.header.regex": native("RegularExpression, rewritten as RE2 with Python's meaning"),
    "match.header.present": native("RegularExpression .* (RE2)"),
    "match.query.regex": approximate("RegularExpression (RE2) matched against the raw (undecoded) value"),
    "match.query.present": native("RegularExpression .* (RE2)"),
    "match.query.exact": approximate("Envoy compares the raw (undecoded) value"),
    "upstream.tls.no_verify": native("the upstream becomes Envoy Gateway's Backend with tls.insecureSkipVerify "
                                     "(the Backend API must be enabled: extensionApis.enableBackend)"),
    "upstream.tls.client_cert": native("the upstream becomes Envoy Gateway's Backend with its own tls."
                                       "clientCertificateRef, checked by a BackendTLSPolicy (the Backend API must "
                                       "be enabled: extensionApis.enableBackend)"),
    # ClientTrafficPolicy (client_traffic.py)
    "trusted_proxies": native("ClientTrafficPolicy clientIPDetection: X-Forwarded-For read from the right past "
                              "the trusted CIDRs"),
    "request.header.underscore": native("ClientTrafficPolicy headers withUnderscoresAction DropHeader"),
    "request.header.request_id": approximate("Envoy Gateway's Envoy makes its own X-Request-Id for every request, "
                                             "replacing a client's sane one too (the authorization service and the "
                                             "backend see the same id)"),
    "listener.tls_min_version": native("ClientTrafficPolicy tls minVersion"),
    "listener.http2": native("ClientTrafficPolicy tls alpnProtocols: h2 offered only where the listener says "
                             "http2"),
    # BackendTrafficPolicy (backend_traffic.py): one per route, on the cluster of each of its rules
    "balance.round_robin": native("BackendTrafficPolicy loadBalancer RoundRobin"),
    "balance.least_conn": approximate("LeastRequest: Envoy counts active requests (power of two choices), not "
                                      "connections"),
    "balance.ip_hash": approximate("ConsistentHash SourceIP on the whole client address (nginx's ip_hash keys on "
                                   "the first three octets)"),
    "balance.hash.header": native("ConsistentHash Header"),
    "balance.hash.cookie": native("ConsistentHash Cookie"),
    "balance.hash.client_ip": native("ConsistentHash SourceIP"),
    "balance.hash.uri": native("ConsistentHash of the :path header (path and query)"),
    "balance.random": native("loadBalancer Random"),
    "upstream.health_check": approximate("BackendTrafficPolicy healthCheck.active HTTP with the path, method, "
                                         "expected statuses and thresholds, each rule's cluster probing on its own; "
                                         "Envoy Gateway leaves Envoy's no-traffic intervals at 60 s, and servers "
                                         "were probed about once a minute here, not at the interval"),
    "upstream.passive_check": native("healthCheck.passive: max_fails consecutive connect failures, timeouts or "
                                     "resets eject a server for fail_timeout"),
    "upstream.passive_check.statuses": approximate("healthCheck.passive consecutiveGatewayErrors for 502 503 504 "
                                                   "(a connect failure, reset or timeout counts too, as the 503 or "
                                                   "504 Envoy makes of it); any other list is consecutive5XxErrors, "
                                                   "which counts every 5xx"),
    "upstream.circuit_breaker": approximate("BackendTrafficPolicy circuitBreaker (maxConnections, "
                                            "maxPendingRequests, 503) on each rule's cluster, in each Envoy: Envoy "
                                            "counts idle keep-alive connections against maxConnections too, and a "
                                            "request waiting for a new connection to open as pending" + STAYS_503),
    "upstream.sticky_cookie": approximate("ConsistentHash Cookie with the cookie's ttl: Envoy sets a hash cookie "
                                          "when the request has none, so the server is the hash's choice, and a "
                                          "server leaving or joining the pool moves some sessions"),
    "upstream.timeouts": approximate("timeout.tcp.connectTimeout and the read timeout as timeouts.backendRequest; "
                                     "the send timeout is Envoy's"),
    "upstream.tls": native(BACKEND_TLS + ", answered 502 (Envoy's own 503 made one: see upstream.circuit_breaker)"),
    "retry": approximate("BackendTrafficPolicy retry (numRetries, connect-failure and reset): every method is "
                         "retried, POST and PATCH too"),
    "retry.statuses": native("retryOn retriable-status-codes with httpStatusCodes"),
    "retry.backoff": approximate("perRetry backOff: Envoy waits a random time up to the backoff"),
    "rate_limit.client_ip": approximate("BackendTrafficPolicy local rate limit, a bucket per client address "
                                        "(sourceCIDR Distinct, at most 10,000 tracked) in each Envoy and for each rule "
                                        "(every match of the route, under every host, counts on its own): the "
                                        "bucket holds the requests of one second, minute, hour or day and refills "
                                        "whole"),
    "rate_limit.header": approximate("local rate limit, a bucket per header value (headers Distinct; requests "
                                     "without it are not limited) in each Envoy: see rate_limit.client_ip"),
    "rate_limit.burst": approximate("the bucket holds the rate's requests per second, minute, hour or day, "
                                    "whichever is nearest burst + 1, all let through at once"),
    "rate_limit.retry_after": approximate("responseOverride sets Retry-After on every 429 of the route's rules, a "
                                          "backend's own 429 too"),
    "rate_limit.headers": approximate("the same responseOverride sets RateLimit-Policy and RateLimit "
                                      "(draft-ietf-httpapi-ratelimit-headers-10), on a backend's own 429 too"),
    # SecurityPolicy (security.py)
    "auth.jwt": approximate("SecurityPolicy jwt with the issuer, audiences and the JWKS URL (keys cached 5 min): "
                            "Envoy Gateway sets no clock skew and does not require exp, so a token without exp "
                            "is accepted and one expired less than 60 s ago too (Envoy's default leeway); the "
                            "algorithms list is not enforced; a valid token for another audience is answered "
                            "403; a shared secret is refused (give a JWKS)"),
    "auth.basic": approximate("SecurityPolicy basicAuth with the users in a Secret (`edgec build` prints the "
                              "kubectl command that makes it from the htpasswd file or secret): only {SHA} "
                              "entries; the realm is not sent"),
    "auth.api_key": native("SecurityPolicy apiKeyAuth with the keys in a Secret (`edgec build` prints the kubectl "
                           "command that makes it from the keys file and secrets): re-create it when they change"),
    "auth.external": approximate("SecurityPolicy extAuth over HTTP to a Service for the authorization service: "
                                 "a copied header the service does not send reaches the upstream with the "
                                 "client's own value" + STAYS_503),
    "auth.external.timeout": native("the extAuth timeout, Envoy's ext_authz timeout over the whole check, "
                                    "connecting included"),
    "auth.claims": approximate("SecurityPolicy authorization rules with a jwt principal (one per way of reading the "
                               "claims: a string or a string array); a valid token that falls short is answered "
                               "403 without WWW-Authenticate; a claim name with '.' is read as a nested path"),
    "auth.scopes": approximate("the jwt principal's scopes (scope and scp, space-separated or arrays); 403 without "
                               "WWW-Authenticate"),
    "access": approximate("SecurityPolicy authorization on clientCIDRs (the address client IP detection finds): "
                          "the edge's lists on the Gateway, a route's (with the edge's) on its rules; Envoy picks "
                          "the route first, so the 403 of the edge's lists carries the response header operations "
                          "of the route the request is for (the others send them only once a route has taken the "
                          "request)", when="edge_lists_and_route_headers"),
}
