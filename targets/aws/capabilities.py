"""What an Application Load Balancer (with a WAFv2 web ACL) can express, feature by feature."""
from __future__ import annotations

from edgec.targets import approximate, native, unsupported

_CASE = ("ALB compares {what} case-insensitively and edgec does not; "
         "a value with the wildcard characters * or ? is a compile error")

CAPABILITIES = {
    "listener.http": native(),
    "listener.https": approximate("the certificate is the ACM certificate given as `certificate` in "
                                  "`target aws { }` (EDGE_AWS_CERTIFICATE), not the cert/key files"),
    "listener.http2": native("ALB negotiates HTTP/2 on every HTTPS listener (routing.http2.enabled)"),
    "listener.tls_min_version": native("security policy ELBSecurityPolicy-TLS13-1-3-2021-06"),
    "listener.redirect_https": native("the listener's default action is a redirect"),
    "listener.hsts": native("the listener attribute routing.http.response.strict_transport_security."
                            "header_value; deploy.sh sets it while the file declares hsts and does not clear "
                            "it when hsts is removed"),
    "listener.client_cert": unsupported("ALB verifies client certificates against a trust store created from a CA "
                                        "bundle in S3 (create-trust-store), which edgec does not create, and passes "
                                        "the subject in X-Amzn-Mtls-Clientcert-Subject only"),
    "match.path.exact": native(),
    "match.path.prefix": native("prefix /p becomes the path patterns /p and /p/*"),
    "match.path.regex": unsupported("ALB regex conditions (RegexValues) use another dialect and anchoring; "
                                    "use exact or prefix paths"),
    "match.host": native(),
    "match.host.wildcard": native(),
    "match.method": native(),
    "match.header.exact": approximate(_CASE.format(what="header values")),
    "match.header.regex": unsupported("ALB header regexes use another dialect; match exact values"),
    "match.header.present": approximate("becomes the header value pattern *, which also matches an empty value",
                                        when="empty_header_tested"),
    "match.query.exact": approximate(_CASE.format(what="query parameter names and values")),
    "match.query.regex": unsupported("ALB query-string conditions have no regular expressions"),
    "match.query.present": approximate("becomes the value pattern *; the name is compared case-insensitively"),
    "balance.round_robin": native(),
    "balance.least_conn": approximate("becomes least_outstanding_requests: ALB counts outstanding requests, "
                                      "not connections"),
    "balance.ip_hash": unsupported("ALB has no hash-based balancing; use sticky cookie"),
    "balance.hash.header": unsupported("ALB has no hash-based balancing; use sticky cookie"),
    "balance.hash.cookie": unsupported("ALB has no hash-based balancing; use sticky cookie"),
    "balance.hash.client_ip": unsupported("ALB has no hash-based balancing; use sticky cookie"),
    "balance.hash.uri": unsupported("ALB has no hash-based balancing; use sticky cookie"),
    "balance.random": native("load_balancing.algorithm.type weighted_random, anomaly mitigation off"),
    "upstream.weights": unsupported("an ALB target group sends every registered target an equal share; "
                                    "split the servers into upstreams and use forward a 75%, b 25%"),
    "upstream.backup": unsupported("ALB target groups have no backup targets"),
    "upstream.health_check": native("ALB health checks always use GET"),
    "upstream.passive_check": approximate("ALB has no passive ejection: only the active health check "
                                          "takes a target out of service"),
    "upstream.passive_check.statuses": approximate("ALB does not count the answers to traffic: only the active "
                                                   "health check's expected statuses take a target out"),
    "upstream.sticky_cookie": approximate("stickiness uses ALB's own AWSALB cookie, not the cookie named; "
                                          "a session cookie (no ttl) lasts one day"),
    "upstream.tls": unsupported("an ALB target group of protocol HTTPS never checks its targets' certificates "
                                "(no CA, no name) and sends none of its own"),
    "upstream.circuit_breaker": unsupported("a target group has no connection limit or request queue"),
    "upstream.tls.no_verify": unsupported("an ALB target group of protocol HTTPS never checks its targets' "
                                "certificates: with the rest of upstream TLS, refused"),
    "upstream.tls.client_cert": unsupported("an ALB sends no certificate of its own to its targets"),
    "upstream.service": unsupported("an ALB target group registers instances or IP addresses, not a Kubernetes "
                                  "Service (the AWS Load Balancer Controller binds the two)"),
    "upstream.keepalive": native("ALB reuses connections to targets from a pool it sizes itself"),
    "upstream.timeouts": approximate("ALB has one idle timeout per load balancer (set to the largest read "
                                     "timeout); connect and send timeouts cannot be set"),
    "auth.jwt": approximate("jwt-validation action on HTTPS listeners: RS256 and a JWKS URL only, "
                            "the token is read from Authorization, leeway is ALB's own, "
                            "each audience is checked as the single-string claim aud"),
    "auth.claims": unsupported("ALB's jwt-validation action and API Gateway's JWT authorizer check the signature, "
                               "issuer, audience, expiry (and scopes) only: neither can require a claim value"),
    "auth.scopes": unsupported("ALB's jwt-validation action checks the signature, issuer, audience "
                               "and expiry only: it cannot require a scope"),
    "auth.basic": unsupported("ALB has no basic authentication; use auth jwt"),
    "auth.api_key": unsupported("ALB has no API-key authentication; use auth jwt"),
    "auth.external": unsupported("ALB cannot ask an authorization service about a request (its authenticate-oidc "
                                 "action is a browser sign-in with an identity provider, not a check per request); "
                                 "use auth jwt, or a target that can"),
    "auth.external.timeout": unsupported("ALB cannot ask an authorization service about a request"),
    "rate_limit.client_ip": approximate("a WAF rate-based rule per route: WAF counts over a window of "
                                        "60, 120, 300 or 600 s, checks about every 10 s, and scopes the "
                                        "count by the route's path, host and method conditions only"),
    "rate_limit.header": approximate("a WAF rate-based rule keyed by the header (same window and "
                                     "scope rules as by client_ip)"),
    "rate_limit.claim": unsupported("WAF cannot read JWT claims; rate limit by client_ip or header"),
    "rate_limit.retry_after": approximate("the WAF rule's custom 429 carries Retry-After with the route's refill "
                                          "time, but WAF blocks until the count over its window (1 to 10 minutes) "
                                          "falls below the limit, which can take longer"),
    "rate_limit.headers": approximate("the WAF rule's custom 429 carries RateLimit-Policy and RateLimit "
                                      "(draft-ietf-httpapi-ratelimit-headers-10) with the route's limit, which WAF "
                                      "counts over its own window (see rate_limit.retry_after)"),
    "rate_limit.burst": approximate("WAF has no burst allowance: the limit counts every request "
                                    "in the window"),
    "cache": unsupported("ALB does not cache responses; put CloudFront in front of it"),
    "cache.vary": unsupported("ALB does not cache responses"),
    "request_headers.set": unsupported("ALB cannot set request headers"),
    "request_headers.add": unsupported("ALB cannot add request headers"),
    "request_headers.remove": unsupported("ALB cannot remove request headers"),
    "response_headers.set": unsupported("ALB sets only a few fixed response headers per listener "
                                        "(HSTS, CORS, CSP), never per route"),
    "response_headers.add": unsupported("ALB cannot add response headers per route"),
    "response_headers.remove": unsupported("ALB cannot remove response headers"),
    "rewrite.prefix": native("url-rewrite transform"),
    "rewrite.full": native("url-rewrite transform"),
    "rewrite.host": native("host-header-rewrite transform"),
    "cors": unsupported("ALB sets CORS headers per listener, not per route, and does not answer preflights"),
    "timeout.request": unsupported("ALB has only the load balancer's idle timeout, no request timeout"),
    "timeout.per_try": unsupported("ALB does not retry, so it has no per-try timeout"),
    "retry": unsupported("ALB never retries a request"),
    "retry.statuses": unsupported("ALB never retries a request"),
    "retry.backoff": unsupported("ALB never retries a request"),
    "mirror": unsupported("ALB cannot mirror traffic"),
    "mirror.percent": unsupported("ALB cannot mirror traffic"),
    "action.forward": native(),
    "action.forward.weighted": native("ForwardConfig weights 0-999, at most 5 upstreams"),
    "protocol.websocket": native("ALB passes WebSocket upgrades on HTTP and HTTPS listeners"),
    "action.redirect": native("status 301 or 302 only; a prefix replacement only on exact paths"),
    "action.respond": native("status 2xx, 4xx or 5xx, body up to 1024 bytes, five content types"),
    "action.aggregate": unsupported("ALB cannot aggregate responses; use the runtime target"),
    "action.aggregate.timeout": unsupported("ALB cannot aggregate responses; use the runtime target"),
    "observability.access_log": approximate("ALB writes its own access-log format to S3 once "
                                            "access_logs.s3.* is enabled with a bucket; edgec does not enable it"),
    "observability.metrics": approximate("ALB publishes CloudWatch metrics; there is no metrics endpoint"),
    "observability.tracing": approximate("ALB sends no spans and reads no traceparent: the client's traceparent "
                                         "reaches the backend untouched (none when the client sent none), and "
                                         "ALB adds its own X-Amzn-Trace-Id, which its access log records as "
                                         "trace_id"),
    "limits": approximate("ALB has fixed request limits; they cannot be set"),
    "access": approximate("the edge's lists are WAF IP sets (one per list and address family) with web ACL rules "
                          "that block with 403 (WAF's own body) a denied client and one outside the allow list, "
                          "by the connection's address; a route's own lists are source-ip conditions of its "
                          "listener rules, a 403 fixed-response rule before the route's for a denied client and "
                          "after them for one outside the allow list (each network chunk of three is one more "
                          "rule against the 100-rule quota)"),
    "trusted_proxies": unsupported("ALB appends the client address to X-Forwarded-For and never trusts "
                                   "a previous hop's value"),
    "request.path.unnormalised": native(),
    "request.path.unsafe_characters": native(),
    "request.path.trailing_slash": native(),
    "request.query.bare": approximate("the load balancer forwards and redirects to the path and the query it "
                                      "parsed: an empty query leaves no bare '?' behind", when="path_goes_on"),
    "request.host.spelling": native(),
    "request.target.non_ascii": native(),
    "request.header.underscore": native(),
    "request.header.repeated": native(),
    "request.header.empty": native(),
    "request.header.request_id": approximate("ALB neither checks nor makes a request id (it adds X-Amzn-Trace-Id): "
                                             "the client's X-Request-Id reaches the backend as it came, a request "
                                             "without one reaches it without one, and the answer carries only the "
                                             "backend's"),
}

_RESPONSE = ("integration response mapping {op}:header for each status code HTTP registers from 200 to 599 "
             "(API Gateway maps per status code): a load balancer answer with an unregistered status, and the "
             "answers API Gateway makes itself (401 from the authorizer, 429 from throttling, 503, 504), keep "
             "their headers")

# -O gateway=apigw: an HTTP API (API Gateway v2) in front of the same load balancer, which
# still decides the route; API Gateway adds what the rows below say.
GATEWAY = {
    "auth.jwt": approximate("an HTTP API JWT authorizer per auth: issuer and audience are checked, the keys are "
                            "found through the issuer's OpenID discovery document (not the jwks URL), RSA tokens "
                            "only, leeway is API Gateway's own; keep the load balancer internal "
                            "(scheme \"internal\" in target aws { }) so that nothing reaches it around the authorizer"),
    "auth.scopes": approximate("AuthorizationScopes on the route's API Gateway routes, read from scope or scp: "
                               "a valid token without the scope is answered 403 without WWW-Authenticate; API "
                               "Gateway accepts a token with any one of a route's scopes, so a route requiring "
                               "more than one is refused"),
    "rate_limit.client_ip": approximate("stage throttling of the route's API Gateway routes is one token bucket "
                                        "per route shared by every client, not per client; the per-client limit "
                                        "stays a WAF rate rule on the load balancer, counted by the first "
                                        "X-Forwarded-For address (which API Gateway forwards and a client can "
                                        "prefill)"),
    "rate_limit.header": approximate("stage throttling per route (not per header value), plus the WAF rate rule "
                                     "keyed by the header on the load balancer"),
    "rate_limit.burst": approximate("the route's throttling burst limit, shared by every client"),
    "rate_limit.retry_after": approximate("API Gateway's stage throttling answers 429 without Retry-After; the "
                                          "WAF rule's 429 behind it carries one (see the load balancer's row)"),
    "rate_limit.headers": approximate("API Gateway's stage throttling answers 429 without RateLimit headers; the "
                                      "WAF rule's 429 behind it carries them (see the load balancer's row)"),
    "access": approximate("the edge's lists are WAF IP sets on the load balancer (see its row), matched against "
                          "the last X-Forwarded-For address, the one API Gateway appended for the client it saw; a "
                          "request without that header is in no list; a route's own lists are refused (E410): "
                          "the load balancer's source-ip is API Gateway's"),
    "request_headers.set": native("parameter mapping overwrite:header on the route's integration"),
    "request_headers.add": native("parameter mapping append:header on the route's integration"),
    "request_headers.remove": native("parameter mapping remove:header on the route's integration"),
    "response_headers.set": approximate(_RESPONSE.format(op="overwrite")),
    "response_headers.add": approximate(_RESPONSE.format(op="append")),
    "response_headers.remove": approximate(_RESPONSE.format(op="remove")),
    "upstream.tls": approximate("an upstream of one server named by DNS, with tls (verify on, no cert/key), is an "
                                "HTTP_PROXY integration to https://HOST:PORT with the request's path, reached over "
                                "the internet, not through the load balancer: API Gateway checks the certificate "
                                "for the sni name against public CAs only, not the ca bundle; any other upstream with "
                                "tls is refused at the upstream (a target group never checks certificates), and so "
                                "are a health check, sticky sessions, a rewrite or a split to another upstream on "
                                "such a one"),
    "cors": approximate("an HTTP API has one CORS configuration: every route must declare the same cors, and "
                        "API Gateway answers every preflight itself"),
    "timeout.request": approximate("the integration timeout of the route (50 ms to 30 s): API Gateway answers "
                                   "504 after it; the load balancer's idle timeout still applies behind it"),
    "request.path.trailing_slash": approximate("AWS documents that a greedy path variable {proxy+} \"catches all "
                                               "child resources of a route\" and that a literal route matches its "
                                               "path exactly, but not whether a path ending in '/' (an empty last "
                                               "segment, as in /api/) is a child of /api, matches /api, or neither: "
                                               "which API Gateway route, and so which authorizer and throttling, "
                                               "such a request meets is not claimed to be decide's"),
    "request.header.request_id": approximate("neither API Gateway nor the load balancer checks or makes an "
                                             "X-Request-Id: the client's reaches the backend as it came, a request "
                                             "without one reaches it without one, and the answer carries only the "
                                             "backend's (API Gateway's own id is the apigw-requestid header)"),
    "observability.access_log": approximate("the $default stage writes JSON lines with the other targets' field "
                                            "names to the CloudWatch Logs group log_group of target aws { }; the duration is "
                                            "duration_ms (API Gateway's responseLatency), there is no cache field"),
}
# Features neither API Gateway nor the load balancer has, which the apigw profile builds
# without, route by route, and says so: what the deployment does instead is in the note.
WITHOUT = {
    "cache": approximate("an HTTP API does not cache: every request reaches the upstream (put CloudFront in front "
                         "of the API to cache)"),
    "cache.vary": approximate("an HTTP API does not cache"),
    "retry": approximate("neither API Gateway nor the load balancer retries: the first attempt's answer (or "
                         "API Gateway's 503/504) reaches the client"),
    "retry.statuses": approximate("nothing is retried"),
    "retry.backoff": approximate("nothing is retried"),
    "timeout.per_try": approximate("nothing is retried: the route's whole-request timeout (the integration "
                                   "timeout) is the only one"),
    "rate_limit.claim": approximate("stage throttling of the route's API Gateway routes, one token bucket per route "
                                    "shared by every client; WAF cannot read JWT claims, so there is no limit per "
                                    "claim value"),
    "action.aggregate": approximate("the route is not built: API Gateway and the load balancer cannot aggregate, so "
                                    "the load balancer answers its requests 501 (after the route's authorizer and "
                                    "throttling); the runtime target serves it"),
    "action.aggregate.timeout": approximate("the route is not built (action.aggregate)"),
    "trusted_proxies": approximate("API Gateway logs and throttles by the address of the connection it accepts "
                                   "($context.identity.sourceIp) and passes X-Forwarded-For on with that address; "
                                   "it believes no proxy in front of it"),
}
APIGW_CAPABILITIES = {**CAPABILITIES, **GATEWAY, **WITHOUT}
