"""What Envoy (1.40, the static bootstrap edgec writes) can express, feature by feature."""
from __future__ import annotations

from edgec.targets import Capability, approximate, native, unsupported

# Envoy forwards the path it routed on: a differing raw path is a declared difference,
# which the conformance runner skips by this note
PATH_NOTE = ("Envoy matches the normalised path (RFC 3986 dot segments, merged slashes, %XX of unreserved "
             "characters decoded) and, unlike the other targets, forwards that normalised path; '..' above the "
             "root is resolved to the root instead of answered 400")

CAPABILITIES: dict[str, Capability] = {
    "listener.http": native(),
    "listener.https": native("DownstreamTlsContext with the certificate and key files"),
    "listener.http2": native("ALPN h2 and http/1.1 on the TLS listener"),
    "listener.tls_min_version": native("tls_minimum_protocol_version TLSv1_3"),
    "listener.redirect_https": native("a route configuration whose one route is https_redirect"),
    "listener.hsts": native("response_headers_to_add of the TLS listener's route configuration"),
    "listener.client_cert": native("the downstream TLS context's validation context and require_client_certificate; "
                                   "the subject from %DOWNSTREAM_PEER_SUBJECT%"),
    "match.path.exact": native("path; " + PATH_NOTE),
    "match.path.prefix": native("path_separated_prefix (never /pfoo); " + PATH_NOTE),
    "match.path.regex": native("safe_regex: the pattern is rewritten as RE2 with Python's meaning (Unicode "
                               "\\d \\w \\s); a construct RE2 lacks is a compile error. " + PATH_NOTE
                               + "; characters outside that set stay %XX-encoded in what the regex sees"),
    "match.host": native("one virtual host per host name; the port and a trailing dot are ignored"),
    "match.host.wildcard": native("virtual host *.example.com (any depth, never the bare domain)"),
    "match.method": native("a :method header matcher"),
    "match.header.exact": native("a header sent on several lines is matched as its lines joined with ','"),
    "match.header.regex": native("safe_regex (RE2, rewritten from the source pattern)"),
    "match.header.present": native("present_match"),
    "match.query.exact": native("a regex over the raw value accepting every character %-encoded or not; the "
                                "name is compared as sent (a name that needs %-encoding is a compile error)"),
    "match.query.regex": approximate("the regex is matched against the raw (undecoded) value: a value the "
                                     "client %-encoded may not match", when="query_escaped"),
    "match.query.present": native("present_match; the name is compared as sent (see match.query.exact)"),
    "balance.round_robin": native(),
    "balance.least_conn": approximate("LEAST_REQUEST: Envoy counts active requests (power of two choices), not "
                                      "connections"),
    "balance.ip_hash": approximate("RING_HASH on the whole client address (nginx's ip_hash keys on the first "
                                   "three octets)"),
    "balance.hash.header": native("RING_HASH with a header hash policy"),
    "balance.hash.cookie": native("RING_HASH with a cookie hash policy"),
    "balance.hash.client_ip": native("RING_HASH with the source_ip hash policy"),
    "balance.hash.uri": native("RING_HASH over :path (path and query)"),
    "balance.random": native(),
    "upstream.weights": native("load_balancing_weight"),
    "upstream.backup": approximate("backup servers are priority 1: Envoy moves traffic there gradually as "
                                   "priority 0 loses healthy servers (overprovisioning factor 1.4), and only "
                                   "health checks or outlier detection mark a server down"),
    "upstream.health_check": native("http_health_check with the path, expected statuses and thresholds"),
    "upstream.passive_check": native("outlier detection: max_fails consecutive connect failures, timeouts or "
                                     "resets eject a server for fail_timeout; with every server out Envoy "
                                     "balances over all of them again (panic threshold)"),
    "upstream.passive_check.statuses": native("outlier detection's consecutive_gateway_failure for 502 503 504, "
                                              "consecutive_5xx (every 5xx, warned) for other statuses; connect "
                                              "failures, timeouts and resets count as 503 and 504"),
    "upstream.sticky_cookie": approximate("stateful session with the cookie named: its value is the chosen "
                                          "server's address (base64), which the client can read; a session "
                                          "whose server is gone is balanced again"),
    "upstream.tls": native("the cluster's TLS transport socket: trusted CA, SNI, the name matched against the "
                           "certificate's subject alternative names"),
    "upstream.circuit_breaker": approximate("the cluster's circuit_breakers (max_connections, "
                                            "max_pending_requests, 503): Envoy counts idle "
                                            "keep-alive connections against max_connections too, and a request "
                                            "waiting for a new connection to open as pending"),
    "upstream.tls.no_verify": native("a TLS transport socket without a validation context"),
    "upstream.tls.client_cert": native("the transport socket's tls_certificates"),
    "upstream.service": native("the Service's name as the servers' host name, which the cluster's DNS "
                               "resolves for a gateway in its namespace (a STRICT_DNS cluster)"),
    "upstream.keepalive": native("the idle timeout of upstream connections; Envoy sizes the pool itself (no "
                                 "cap on idle connections)"),
    "upstream.timeouts": native("connect_timeout; the read timeout bounds each attempt (per_try_timeout, "
                                "unless the route gives per_try); the send timeout becomes the route's stream "
                                "idle timeout (no byte either way for that long)"),
    "auth.jwt": approximate("jwt_authn with the issuer, audiences and leeway, keys from the JWKS URL (cached "
                            "5 min), exp required: the algorithms list is not enforced (Envoy accepts what the JWKS "
                            "keys allow, never `none`); a valid token for another audience is answered 403, not "
                            "401; a shared secret is a compile error (give a JWKS)"),
    "auth.claims": native("jwt_authn puts the verified payload in dynamic metadata, an RBAC filter after it matches "
                          "the claim as a string or a list element; a local reply mapper adds the 403's "
                          "insufficient_scope challenge"),
    "auth.scopes": native("RBAC metadata matchers on scope and scp: a word of the space-separated string (RE2) or "
                          "an element of the list"),
    "auth.basic": approximate("basic_auth filter: only {SHA} (SHA-1) htpasswd entries, the file read when "
                              "Envoy starts (a secret is written into envoy.yaml, mode 0600); the realm is not "
                              "sent: Envoy's WWW-Authenticate names the request URL"),
    "auth.api_key": approximate("api_key_auth filter with the header named; the keys are read at build time "
                                "into envoy.yaml (mode 0600): rebuild and restart Envoy when they change"),
    "auth.external": native("ext_authz with the HTTP service, one filter per auth; a header_mutation filter "
                            "takes the copied headers off the client's request first"),
    "auth.external.timeout": native("the http_service's server_uri timeout bounds the whole check, connecting "
                                    "included"),
    "rate_limit.client_ip": native("local rate limit with one token bucket per client address (the connection's "
                                   "peer, or behind trusted proxies the address read from X-Forwarded-For), at most 10,000 clients tracked per "
                                   "route (least recently seen forgotten); every Envoy instance counts on its own: "
                                   "a limit shared by several needs Envoy's global rate limit service, which edgec "
                                   "does not deploy"),
    "rate_limit.header": native("local rate limit with one token bucket per header value; requests without "
                                "the header are not limited; per Envoy instance (see rate_limit.client_ip)"),
    "rate_limit.claim": unsupported("Envoy's local rate limit cannot key on a JWT claim without a rate limit "
                                    "service"),
    "rate_limit.retry_after": native("local rate limit response_headers_to_add, on the limited responses only"),
    "rate_limit.headers": native("RateLimit-Policy and RateLimit (draft-ietf-httpapi-ratelimit-headers-10) in the "
                                 "local rate limit's response_headers_to_add, edgec's values (Envoy's own "
                                 "x-ratelimit-* headers are off)"),
    "rate_limit.burst": native("the bucket holds burst + 1 tokens, refilled at count per window"),
    "cache": unsupported("Envoy's cache filter is marked work-in-progress, not for production; use the nginx "
                         "or runtime target"),
    "cache.vary": unsupported("Envoy's cache filter is marked work-in-progress, not for production"),
    "request_headers.set": native(),
    "request_headers.add": native("a second header line, which HTTP reads as the comma list"),
    "request_headers.remove": native(),
    "response_headers.set": native("Envoy always sends its own Server header"),
    "response_headers.add": native("a second header line, which HTTP reads as the comma list"),
    "response_headers.remove": native("Envoy always sends its own Server header"),
    "rewrite.prefix": native("regex_rewrite anchored on the prefix's path elements"),
    "rewrite.full": native("regex_rewrite of the whole path"),
    "rewrite.host": native("host_rewrite_literal"),
    "cors": approximate("the CORS filter answers preflights with 200 (the others 204), without the route's "
                        "response header operations, and echoes an allowed origin where the others send `*` for "
                        "any origin without credentials"),
    "timeout.request": native("the route timeout (0 disables it)"),
    "timeout.per_try": native("per_try_timeout"),
    "retry": native("retry_policy with previous_hosts (another server when there is one), idempotent "
                    "methods only"),
    "retry.statuses": native("retriable-status-codes"),
    "retry.backoff": approximate("Envoy waits a random time up to the backoff (growing with each retry); "
                                 "with no backoff given it waits up to 25 ms"),
    "mirror": native("request_mirror_policies (the Host is not suffixed with -shadow)"),
    "mirror.percent": native("runtime_fraction of a million"),
    "action.forward": native(),
    "action.forward.weighted": native("weighted_clusters"),
    "protocol.websocket": native("upgrade_configs websocket on the connection manager"),
    "action.redirect": native(),
    "action.respond": native("direct_response with the content type"),
    "action.aggregate": unsupported("Envoy cannot merge several backend responses into one JSON document "
                                    "without custom code; use the runtime target"),
    "action.aggregate.timeout": unsupported("Envoy cannot merge several backend responses into one JSON "
                                            "document without custom code; use the runtime target"),
    "observability.access_log": approximate("the same fields as the other targets, but the duration is "
                                            "duration_ms (Envoy has no seconds), there are no upstream_status "
                                            "and cache fields, and the combined format does not escape quotes"),
    "observability.metrics": native("the metrics path answers Envoy's /stats/prometheus from the admin "
                                    "listener, to loopback and trusted proxies only (403 otherwise)"),
    "observability.tracing": native("the OpenTelemetry tracer (OTLP/HTTP through a cluster of its own) with "
                                    "random_sampling at the share and a span per upstream attempt "
                                    "(spawn_upstream_span); %TRACE_ID% in the log"),
    "limits": approximate("Envoy bounds the whole header block (max_request_headers_kb: line limit × count), "
                          "not each line; the body limit buffers the request body (buffer filter, 413)"),
    "access": approximate("RBAC on remote_ip (the address original IP detection finds): the edge's lists in a "
                          "filter of their own on every listener, a route's as the per-route policy of a second "
                          "one; Envoy picks the route first, so the 403 of the edge's lists carries the response "
                          "header operations of the route the request is for (the others send them only once a "
                          "route has taken the request)", when="edge_lists_and_route_headers"),
    "request.path.unnormalised": approximate(PATH_NOTE),
    "request.path.unsafe_characters": approximate("Envoy's path normalisation %XX-encodes them in the path it "
                                                  "forwards and in a redirect's Location"),
    "request.path.trailing_slash": native(),
    "request.query.bare": approximate("a bare '?' is kept after a rewritten path and a redirect's new path too "
                                      "(the others send it only with the client's own path)", when="path_rebuilt"),
    "request.host.spelling": approximate("a redirect that names no host keeps the Host as the client spelled it "
                                         "(`Location: http://C.TEST./…`; the others send the lower-case name "
                                         "without the dot)", when="location_takes_host"),
    "request.target.non_ascii": native(),
    "request.header.underscore": native("headers_with_underscores_action DROP_HEADER"),
    "request.header.repeated": approximate("a header sent on several lines is matched as its lines joined with "
                                           "',' (the others match its first line)", when="repeated_header_tested"),
    "request.header.request_id": native("the connection manager keeps the client's id; a first filter "
                                        "(header_mutation under a matcher on the id) replaces one that is not sane "
                                        "by %UNIQUE_ID%"),
    "request.header.empty": approximate("an empty value is left out of a list: `request_header add` gives the "
                                        "added value alone (`edge`, not `,edge`) and an empty line of a header sent "
                                        "on several lines is dropped (`a,b`, not `,a,b`)", when="empty_header_joined"),
    "trusted_proxies": approximate("original IP detection reads the client address from X-Forwarded-For right "
                                   "to left past the trusted proxies (logs, rate limits, X-Real-IP); the backend "
                                   "gets X-Forwarded-For as sent with the peer appended, and X-Forwarded-Proto as "
                                   "sent, even from an untrusted peer (the others then replace them)"),
}
