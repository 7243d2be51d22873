"""What NGINX open source (1.22, Debian's package, no njs) can express, feature by feature."""
from __future__ import annotations

from edgec.targets import Capability, approximate, native, unsupported

RETRYABLE_STATUSES = (403, 404, 429, 500, 502, 503, 504)  # the statuses proxy_next_upstream can name

CAPABILITIES: dict[str, Capability] = {
    "listener.http": native(),
    "listener.https": native("ssl_protocols TLSv1.2 TLSv1.3 and the Mozilla intermediate ciphers"),
    "listener.http2": native("`listen … http2` before 1.25.1, `http2 on` from it (-O nginx_version)"),
    "listener.tls_min_version": native(),
    "listener.redirect_https": native(),
    "listener.hsts": native("add_header Strict-Transport-Security … always, valued per listener by a map over "
                            "$https, $server_port and $server_addr"),
    "listener.client_cert": native("ssl_client_certificate and ssl_verify_client; a connection without a trusted "
                                   "certificate is closed unanswered (error_page 495 496 → 444); the subject from "
                                   "$ssl_client_s_dn"),
    "match.path.exact": native("location = /p"),
    "match.path.prefix": native("location = /p plus location /p/ (never /pfoo, no 301 for /p)"),
    "match.path.regex": native("tested per request with a PCRE map over $uri, ranked as routing ranks it; "
                               "use the PCRE/RE2 common subset"),
    "match.host": native("one server block per host name"),
    "match.host.wildcard": native("server_name *.example.com (any depth, never the bare domain)"),
    "match.method": native("map over $request_method"),
    "match.header.exact": native("map over $http_name, case-sensitive value; repeated header lines: the first "
                                 "(nginx 1.22; 1.23+ joins them)"),
    "match.header.regex": native("map over $http_name"),
    "match.header.present": approximate("nginx cannot tell an empty header from a missing one: a header sent "
                                        "with an empty value counts as absent", when="empty_header_tested"),
    "match.query.exact": native("map over the raw $args with every character accepted %-encoded or not"),
    "match.query.regex": approximate("the regex is matched against the raw (undecoded) value: a value the "
                                     "client %-encoded may not match", when="query_escaped"),
    "match.query.present": native(),
    "balance.round_robin": native(),
    "balance.least_conn": native(),
    "balance.ip_hash": native("ip_hash keys on the first three octets of an IPv4 address"),
    "balance.hash.header": native("hash $http_name consistent"),
    "balance.hash.cookie": native("hash $cookie_name consistent"),
    "balance.hash.client_ip": native("hash $remote_addr consistent"),
    "balance.hash.uri": native("hash $request_uri consistent"),
    "balance.random": native(),
    "upstream.weights": native(),
    "upstream.backup": native("not with hash, ip_hash, random or sticky balancing (nginx refuses the combination)"),
    "upstream.health_check": approximate("active health checks are NGINX Plus only: nginx ejects a server after "
                                         "passive failures (max_fails/fail_timeout) and does not probe the path"),
    "upstream.passive_check": native("max_fails / fail_timeout per server"),
    "upstream.passive_check.statuses": approximate("nginx counts an answer against max_fails only when it tries "
                                                   "another server for it (proxy_next_upstream http_500 ... and a "
                                                   "try left): only on routes that retry on the status, never the "
                                                   "last attempt's answer; 501 and 505-599 never count"),
    "upstream.sticky_cookie": approximate("the sticky directive is NGINX Plus before 1.29.6: edgec sets the cookie "
                                          "to a random id on the first response and balances by `hash` of it "
                                          "(consistent), so a session moves when servers are added or removed; "
                                          "native with -O nginx_version=1.29.6 or later"),
    "upstream.tls": native("proxy_pass https with proxy_ssl_verify, proxy_ssl_trusted_certificate, proxy_ssl_name "
                           "and proxy_ssl_server_name"),
    "upstream.circuit_breaker": approximate("max_conns on each server (the connections shared out among the "
                                            "servers, rounded up), counted across workers in the upstream's zone; "
                                            "the queue is NGINX Plus only: a request finding every server full is "
                                            "answered 502 at once, max_pending is not used"),
    "upstream.tls.no_verify": native("proxy_ssl_verify off"),
    "upstream.tls.client_cert": native("proxy_ssl_certificate and proxy_ssl_certificate_key"),
    "upstream.service": native("the Service's name as the servers' host name, which the cluster's DNS "
                               "resolves for a gateway in its namespace (a name resolved when nginx starts, or "
                               "with -O resolver)"),
    "upstream.keepalive": native("keepalive pool with proxy_http_version 1.1 and a cleared Connection header"),
    "upstream.timeouts": native(),
    "auth.jwt": native("with njs (-O njs=auto): WebCrypto checks of RS, PS, ES (P-256/384/521) and HS signatures, "
                       "iss/aud/exp/nbf as the runtime checks them; the JWKS is fetched by nginx (its host name "
                       "resolved at start, https verified against the system CAs) and cached 10 minutes, refetched "
                       "at most every 30 s for an unknown key id"),
    "auth.claims": native("with njs: the route's gate checks the verified claims after the signature"),
    "auth.scopes": native("with njs: the words of scope and scp, strings or arrays"),
    "auth.basic": native("auth_basic with the htpasswd file (a secret is written to secrets/<name>.htpasswd, "
                         "mode 0600)"),
    "auth.api_key": approximate("keys are read at build time (keys_file and secrets) into secrets/<name>.keys "
                                "(mode 0600): rebuild and reload nginx when the keys change"),
    "auth.external": native("auth_request to an internal location that proxies the check; auth_request_set "
                            "carries the copied headers"),
    "auth.external.timeout": approximate("the internal location bounds the connection (proxy_connect_timeout) and "
                                         "then each read of the answer (proxy_read_timeout) with the timeout, each "
                                         "on its own: a service slow to connect to and slow to answer holds the "
                                         "request up to twice the timeout, longer if it answers a little at a "
                                         "time, before the 503"),
    "rate_limit.client_ip": native("limit_req_zone $binary_remote_addr, nodelay, 429"),
    "rate_limit.header": native("limit_req_zone $http_name; requests without the header are not limited"),
    "rate_limit.claim": native("with njs (-O njs=auto): the checked token's claim is the limit_req key, after "
                               "the token is checked (a token without the claim counts by client address)"),
    "rate_limit.retry_after": native("add_header Retry-After from a map on $status:$upstream_status: on limit_req's "
                                     "refusals, not on a backend's own 429"),
    "rate_limit.headers": native("add_header RateLimit-Policy and RateLimit (draft-ietf-httpapi-ratelimit-headers-10) "
                                 "beside Retry-After, on limit_req's refusals only"),
    "rate_limit.burst": native(),
    "cache": native("proxy_cache of 200 responses; the backend's Cache-Control/Expires max-age overrides the "
                    "TTL, responses with Set-Cookie or no-store are not stored"),
    "cache.vary": native("the Vary request headers are part of proxy_cache_key"),
    "request_headers.set": native(),
    "request_headers.add": approximate("a header the client sends on several lines is appended to its first line "
                                       "only (nginx 1.22's $http_*: `X-Trace: c1`, `X-Trace: c2` + add `edge` "
                                       "reaches the backend as `c1,edge`)", when="repeated_header_added"),
    "request_headers.remove": native(),
    "response_headers.set": native("proxy_hide_header + add_header … always"),
    "response_headers.add": native("a second header line, which HTTP reads as the comma list"),
    "response_headers.remove": native("proxy_hide_header; nginx always sends its own Server and Date"),
    "rewrite.prefix": native("rewrite … break on the normalised path"),
    "rewrite.full": native(),
    "rewrite.host": native(),
    "cors": native("preflight answered with 204 at the edge"),
    "timeout.request": approximate("nginx has no whole-request deadline: the timeout bounds the connect, each "
                                   "read and each write to the backend, and the retries"),
    "timeout.per_try": native("proxy_read_timeout"),
    "retry": native("proxy_next_upstream with tries; a pool with fewer servers than tries is emitted again "
                    "with each server listed several times (and no passive ejection) so that retries can reach "
                    "the same server"),
    "retry.statuses": native("403, 404, 429, 500, 502, 503 and 504 only"),
    "retry.backoff": approximate("nginx retries at once: there is no backoff between attempts"),
    "mirror": native("mirror to an internal location"),
    "mirror.percent": native("split_clients on $request_id"),
    "action.forward": native(),
    "action.forward.weighted": native("split_clients on $request_id"),
    "protocol.websocket": native("Upgrade and Connection passed on when the client asks (map $http_upgrade); "
                                 "other requests keep the backend connection alive"),
    "action.redirect": native(),
    "action.respond": native(),
    "action.aggregate": native("with njs (-O njs=auto): parallel subrequests to the parts' upstreams, merged into "
                               "the runtime's JSON byte for byte; a body over max_body is a failed part as in "
                               "the runtime"),
    "action.aggregate.timeout": approximate("the part's internal location bounds the connection "
                                            "(proxy_connect_timeout) and then each read of the answer "
                                            "(proxy_read_timeout) with the timeout, each on its own: a part slow to "
                                            "connect to and slow to answer is merged up to twice the timeout later, "
                                            "longer if it answers a little at a time, where the runtime answers "
                                            "504 at the timeout"),
    "observability.access_log": native("log_format escape=json"),
    "observability.metrics": approximate("stub_status counters in nginx's text format, not Prometheus, "
                                         "answered to loopback and trusted proxies only"),
    "observability.tracing": approximate("nginx open source has no OpenTelemetry module (Debian's nginx ships "
                                         "none): no spans are sent; the client's well-formed traceparent is "
                                         "passed on as it came (the backend's parent is the client's span), "
                                         "else a new trace (id $request_id, sampled by split_clients at the "
                                         "share) whose parent span id no collector receives; the log's trace_id "
                                         "is the trace passed on"),
    "limits": approximate("nginx bounds the header bytes (large_client_header_buffers), not the number of "
                          "header lines: max_headers is not enforced"),
    "access": native("a geo variable on the realip client address, and `return 403` in the server's and the "
                     "route's rewrite phase"),
    "request.path.unnormalised": native("the backend receives $request_uri as sent; a rewritten path or a "
                                        "prefix redirect is built from the normalised $uri"),
    "request.path.unsafe_characters": native(),
    "request.path.trailing_slash": native(),
    "request.query.bare": native(),
    "request.host.spelling": native("$host is lower-case, without a trailing dot"),
    "request.target.non_ascii": native(),
    "request.header.underscore": native(),
    "request.header.repeated": native(),
    "request.header.request_id": native("a map on $http_x_request_id, else $request_id"),
    "request.header.empty": approximate("an empty value counts as none: `request_header add` gives the added "
                                        "value alone (`edge`, not `,edge`)", when="empty_header_added"),
    "trusted_proxies": native("realip module: set_real_ip_from, X-Forwarded-For read right to left"),
}

# what -O njs=off leaves
WITHOUT_NJS: dict[str, Capability] = {
    "auth.jwt": unsupported("JWT validation (auth_jwt) is NGINX Plus only; nginx open source does it with njs "
                            "(-O njs=auto or on, package libnginx-mod-http-js)"),
    "auth.claims": unsupported("reading JWT claims needs njs (-O njs=auto or on)"),
    "auth.scopes": unsupported("reading JWT claims needs njs (-O njs=auto or on)"),
    "rate_limit.claim": unsupported("reading JWT claims needs njs (-O njs=auto or on)"),
    "action.aggregate": unsupported("merging several backend responses into one JSON document needs njs "
                                    "(-O njs=auto or on)"),
    "action.aggregate.timeout": unsupported("merging several backend responses into one JSON document needs njs "
                                            "(-O njs=auto or on)"),
}

# nginx 1.29.6 brought `sticky` to open source
STICKY_OSS = (1, 29, 6)
