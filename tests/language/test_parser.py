"""One test per construct of the grammar: the statement or option as written, and the IR
fields it produces (through the real pipeline: parse, lower, lint)."""
from __future__ import annotations

import pytest
from hypothesis import given, settings

from edgec import ir
from edgec.ir import to_json
from edgec.pipeline import analyse

from .test_properties import mutated

UPSTREAMS = 'upstream u { server "10.0.0.1:80" }\n  upstream v { server "10.0.0.2:80" }\n'


def compile_ok(source: str, env: str | None = None) -> ir.Edge:
    result = analyse(source, "t.edge", env=env)
    errors = [f"{d.code} {d.message} at {d.span}" for d in result.diagnostics if d.severity == "error"]
    assert not errors and result.edge is not None, errors
    return result.edge


def edge(top: str = "", route: str | None = "forward u") -> ir.Edge:
    """An edge with upstreams u and v, `top` statements, and route r with `route` as its body."""
    body = f"  route r {{\n    {route}\n  }}\n" if route is not None else ""
    return compile_ok(f'edge "t" {{\n  {UPSTREAMS}  {top}\n{body}}}\n')


def route(body: str, top: str = "") -> ir.Route:
    return edge(top, body).route("r")


def upstream(body: str) -> ir.Upstream:
    return compile_ok(f'edge "t" {{\n  upstream w {{ {body} }}\n  route r {{ forward w }}\n}}\n').upstream("w")


# ---- the edge, envs and variables -------------------------------------------------------------

def test_edge_name_and_version():
    e = edge()
    assert (e.name, e.version, e.env) == ("t", ir.IR_VERSION, None)


def test_env_is_chosen_and_its_variables_resolved():
    src = ('edge "t" {\n  env dev { a = "127.0.0.1:9001" }\n  env prod { a = "10.0.0.9:8080" }\n'
           '  upstream u { server ${a} }\n  route r { forward u }\n}\n')
    assert compile_ok(src, "dev").upstream("u").servers[0].address == "127.0.0.1:9001"
    prod = compile_ok(src, "prod")
    assert prod.env == "prod" and prod.upstream("u").servers[0] == ir.Server("10.0.0.9", 8080)


def test_vars_apply_to_every_env_and_an_env_overrides_them():
    src = ('edge "t" {\n  vars { p = "/api" h = "a.example" }\n  env dev { h = "dev.localhost" }\n'
           '  env prod { }\n  upstream u { server "10.0.0.1:80" }\n'
           '  route r { match host ${h} path prefix ${p} forward u }\n}\n')
    dev, prod = compile_ok(src, "dev").route("r").matches[0], compile_ok(src, "prod").route("r").matches[0]
    assert (dev.hosts, dev.path.value) == (("dev.localhost",), "/api")
    assert (prod.hosts, prod.path.value) == (("a.example",), "/api")


def test_variables_interpolate_in_strings_and_env_is_built_in():
    r = edge('vars { v = "1" }', 'request_header set "X-Env" "${env}-v${v}"\n    forward u')
    assert r.route("r").request_headers.set == (("X-Env", "-v1"),)
    src = ('edge "t" {\n  env staging { }\n  upstream u { server "10.0.0.1:80" }\n'
           '  route r { request_header set "X-Env" "${env}" forward u }\n}\n')
    assert compile_ok(src, "staging").route("r").request_headers.set == (("X-Env", "staging"),)


def test_a_list_variable_and_a_variable_naming_a_variable():
    e = compile_ok('edge "t" {\n  vars { s = ["10.0.0.1:80", "10.0.0.2:81",] t = ${s} }\n'
                   '  upstream u { servers ${t} }\n  route r { forward u }\n}\n')
    assert [s.address for s in e.upstream("u").servers] == ["10.0.0.1:80", "10.0.0.2:81"]


def test_string_escapes():
    r = route(r'respond 200 "a\"b\\c\n\t\$\u00e9"')
    assert r.action.body == 'a"b\\c\n\t$\u00e9'


def test_comments_are_ignored():
    e = compile_ok('# head\nedge "t" { # one\n  upstream u { server "10.0.0.1:80" } # two\n'
                   '  route r { forward u } # three\n} # tail\n')
    assert [r.name for r in e.routes] == ["r"]


# ---- listeners -------------------------------------------------------------------------------

def test_no_listener_means_the_default_one():
    from edgec.ir import DEFAULT_LISTENER
    (listener,) = edge().listeners
    assert (listener.protocol, listener.port) == DEFAULT_LISTENER


def test_listen_http_with_port_and_bind():
    (listener,) = edge('listen http 8081 { bind "127.0.0.1" }').listeners
    assert (listener.protocol, listener.port, listener.address, listener.tls) == ("http", 8081, "127.0.0.1", None)


def test_listen_without_a_block_binds_every_address():
    (listener,) = edge("listen http 9000").listeners
    assert (listener.port, listener.address, listener.http2) == (9000, "0.0.0.0", False)


def test_listen_https_tls_min_version_and_http2():
    (listener,) = edge('listen https 8443 { tls cert "/c.pem" key "/k.pem" min_version 1.3 http2 }').listeners
    assert listener.tls == ir.Tls("/c.pem", "/k.pem", "1.3") and listener.http2
    (listener,) = edge('listen https 8443 { tls cert "/c.pem" key "/k.pem" }').listeners
    assert listener.tls.min_version == "1.2" and not listener.http2


def test_redirect_to_https_with_and_without_a_port():
    tls = 'listen https 8443 { tls cert "/c" key "/k" }'
    http, _ = edge(f"listen http 8080 {{ redirect https port 8443 }}\n  {tls}").listeners
    assert http.redirect == ir.HttpsRedirect(8443)
    http, _ = edge(f"listen http 8080 {{ redirect https }}\n  {tls}").listeners
    assert http.redirect.port == 443


# ---- upstreams -------------------------------------------------------------------------------

def test_server_weight_and_backup():
    u = upstream('server "10.0.0.1:80" weight 3 server "b.internal:8080" backup server "[::1]:9000"')
    assert u.servers == (ir.Server("10.0.0.1", 80, 3), ir.Server("b.internal", 8080, 1, True),
                         ir.Server("::1", 9000))


def test_servers_from_a_list():
    u = upstream('servers ["10.0.0.1:80", "10.0.0.2:80"]')
    assert [s.address for s in u.servers] == ["10.0.0.1:80", "10.0.0.2:80"]


def test_upstream_defaults():
    u = upstream('server "10.0.0.1:80"')
    assert (u.balance, u.hash_key, u.health, u.sticky) == ("round_robin", None, None, None)
    assert u.passive == ir.DEFAULT_PASSIVE and u.timeouts == ir.DEFAULT_TIMEOUTS
    assert u.keepalive == ir.Keepalive(ir.DEFAULT_KEEPALIVE_CONNECTIONS, ir.DEFAULT_KEEPALIVE_IDLE_MS)


@pytest.mark.parametrize("algorithm", ["round_robin", "least_conn", "ip_hash", "random"])
def test_balance(algorithm):
    u = upstream(f'server "10.0.0.1:80" balance {algorithm}')
    assert (u.balance, u.hash_key) == (algorithm, None)


@pytest.mark.parametrize("written,key", [
    ('hash header "X-User"', ir.HashKey("header", "X-User")),
    ('hash cookie "sid"', ir.HashKey("cookie", "sid")),
    ("hash client_ip", ir.HashKey("client_ip")),
    ("hash uri", ir.HashKey("uri")),
])
def test_balance_hash(written, key):
    u = upstream(f'server "10.0.0.1:80" balance {written}')
    assert (u.balance, u.hash_key) == ("hash", key)


def test_health_check_every_option():
    u = upstream('server "10.0.0.1:80" health head "/ping" every 7s timeout 1500ms unhealthy 4 healthy 5 '
                 'expect 200-299')
    assert u.health == ir.HealthCheck("HEAD", "/ping", 7000, 1500, 4, 5, (200, 299))


def test_health_check_defaults():
    from edgec.ir import DEFAULT_HEALTH
    h = upstream('server "10.0.0.1:80" health get "/h"').health
    assert (h.method, h.path, h.interval_ms, h.timeout_ms, h.unhealthy_threshold, h.healthy_threshold,
            h.expect_status) == ("GET", "/h", DEFAULT_HEALTH["interval_ms"], DEFAULT_HEALTH["timeout_ms"],
                                 DEFAULT_HEALTH["unhealthy"], DEFAULT_HEALTH["healthy"], DEFAULT_HEALTH["expect"])


def test_passive_ejection():
    u = upstream('server "10.0.0.1:80" passive max_fails 5 fail_timeout 30s')
    assert u.passive == ir.PassiveCheck(5, 30_000)
    assert upstream('server "10.0.0.1:80" passive max_fails 0').passive.max_fails == 0


@pytest.mark.parametrize("written,expected", [
    ("circuit_breaker max_connections 100 max_pending 10", ir.CircuitBreaker(100, 10)),
    ("circuit_breaker max_connections 5", ir.CircuitBreaker(5, ir.DEFAULT_MAX_PENDING)),
    ("circuit_breaker max_connections 5 max_pending 0", ir.CircuitBreaker(5, 0)),
    ("", None),
])
def test_circuit_breaker(written, expected):
    assert upstream(f'server "10.0.0.1:80" {written}').circuit_breaker == expected


@pytest.mark.parametrize("written,code", [
    ("circuit_breaker max_connections 0", "E212"),
    ("circuit_breaker max_connections 1 circuit_breaker max_connections 2", "E215"),
])
def test_circuit_breaker_refused(written, code):
    result = analyse(f'edge "e" {{ upstream u {{ server "127.0.0.1:1" {written} }} route r {{ forward u }} }}', "e.edge")
    assert code in {d.code for d in result.diagnostics if d.severity == "error"}


@pytest.mark.parametrize("written,statuses", [
    ("on 5xx", (500, 502, 503, 504)),
    ("on 503 502 503", (502, 503)),
    ("on 5xx 501", (500, 501, 502, 503, 504)),
])
def test_passive_counts_the_statuses_written(written, statuses):
    p = upstream(f'server "10.0.0.1:80" passive max_fails 3 {written}').passive
    assert (p.max_fails, p.fail_timeout_ms, p.statuses) == (3, ir.DEFAULT_PASSIVE.fail_timeout_ms, statuses)


@pytest.mark.parametrize("written", ["on 404", "on 4xx", "on 499", "on 600"])
def test_passive_refuses_what_is_not_a_server_error(written):
    src = f'edge "e" {{ upstream u {{ server "127.0.0.1:1" passive max_fails 1 {written} }} route r {{ forward u }} }}'
    result = analyse(src, "e.edge")
    column = src.index(written) + len("on ") + 1
    assert {(d.code, d.column) for d in result.diagnostics if d.severity == "error"} == {("E221", column)}


def test_sticky_cookie_with_and_without_ttl():
    assert upstream('server "10.0.0.1:80" sticky cookie "S" ttl 1h').sticky == ir.Sticky("S", 3_600_000)
    assert upstream('server "10.0.0.1:80" sticky cookie "S"').sticky == ir.Sticky("S", 0)


def test_keepalive_with_idle():
    assert upstream('server "10.0.0.1:80" keepalive 16 idle 30s').keepalive == ir.Keepalive(16, 30_000)


def test_upstream_timeouts():
    u = upstream('server "10.0.0.1:80" connect_timeout 1s read_timeout 2m send_timeout 250ms')
    assert u.timeouts == ir.UpstreamTimeouts(1000, 120_000, 250)


# ---- auth -----------------------------------------------------------------------------------

def test_auth_jwt_every_option():
    e = edge('auth jwt j {\n issuer "https://i.example/"\n jwks "https://i.example/jwks"\n'
             ' audience "a" "b"\n algorithms RS256 ES256\n leeway 30s\n header "X-Token"\n }',
             "auth j\n    forward u")
    a = e.auth_provider("j")
    assert (a.kind, a.issuer, a.jwks_url, a.audiences, a.algorithms, a.leeway_ms, a.header, a.secret) == (
        "jwt", "https://i.example/", "https://i.example/jwks", ("a", "b"), ("RS256", "ES256"), 30_000,
        "X-Token", None)
    assert e.route("r").auth == "j"


def test_auth_jwt_hmac_secret_and_defaults():
    from edgec.ir import DEFAULT_JWT_ALGORITHMS, DEFAULT_JWT_LEEWAY_MS
    a = edge("auth jwt j { secret ${secret:JWT_KEY} }", "auth j\n    forward u").auth_provider("j")
    assert a.secret == ir.Secret("JWT_KEY")
    assert (a.algorithms, a.leeway_ms, a.header) == (DEFAULT_JWT_ALGORITHMS, DEFAULT_JWT_LEEWAY_MS, "Authorization")


def test_auth_basic():
    a = edge('auth basic b { htpasswd "/etc/h" realm "staff" }', "auth b\n    forward u").auth_provider("b")
    assert (a.kind, a.htpasswd, a.realm) == ("basic", "/etc/h", "staff")
    a = edge("auth basic b { htpasswd ${secret:H} }", "auth b\n    forward u").auth_provider("b")
    from edgec.ir import DEFAULT_REALM
    assert (a.htpasswd, a.realm) == (ir.Secret("H"), DEFAULT_REALM)


def test_auth_api_key():
    a = edge('auth api_key k { header "X-Key" keys_file "/etc/keys" keys ${secret:K1} ${secret:K2} }',
             "auth k\n    forward u").auth_provider("k")
    assert (a.kind, a.header, a.keys_file, a.keys) == ("api_key", "X-Key", "/etc/keys",
                                                       (ir.Secret("K1"), ir.Secret("K2")))
    from edgec.ir import DEFAULT_API_KEY_HEADER
    a = edge("auth api_key k { keys ${secret:K} }", "auth k\n    forward u").auth_provider("k")
    assert (a.header, a.keys_file) == (DEFAULT_API_KEY_HEADER, None)


@pytest.mark.parametrize("written,expected", [
    ('client_cert ca "/ca.pem"', ir.ClientCert("/ca.pem", True, None)),
    ('client_cert ca "/ca.pem" optional header "X-Client-Subject"', ir.ClientCert("/ca.pem", False, "X-Client-Subject")),
    ('client_cert ca "/ca.pem" required header "X-Client"', ir.ClientCert("/ca.pem", True, "X-Client")),
])
def test_client_cert(written, expected):
    result = analyse(f'edge "e" {{ listen https 8443 {{ tls cert "/c" key "/k" {written} }} '
                     'upstream u { server "127.0.0.1:1" } route r { forward u } }', "e.edge")
    assert result.edge.listeners[0].client_cert == expected


@pytest.mark.parametrize("listen,code", [
    ('listen http 8080 { client_cert ca "/ca.pem" }', "E207"),  # client certificates come with TLS
    ('listen https 8443 { tls cert "/c" key "/k" client_cert ca "/ca.pem" header "X Y" }', "E219"),
    ('listen https 8443 { tls cert "/c" key "/k" client_cert ca "/a" client_cert ca "/b" }', "E215"),
])
def test_client_cert_refused(listen, code):
    result = analyse(f'edge "e" {{ {listen} upstream u {{ server "127.0.0.1:1" }} route r {{ forward u }} }}',
                     "e.edge")
    assert code in {d.code for d in result.diagnostics if d.severity == "error"}


@pytest.mark.parametrize("written,expected", [
    ('tls ca "/ca.pem"', ir.UpstreamTls("/ca.pem", None)),
    ('tls ca "/ca.pem" sni "billing.internal" cert "/e.pem" key "/e.key"',
     ir.UpstreamTls("/ca.pem", "billing.internal", True, "/e.pem", "/e.key")),
    ("tls verify off", ir.UpstreamTls(None, None, False)),
])
def test_upstream_tls(written, expected):
    result = analyse(f'edge "e" {{ upstream u {{ server "127.0.0.1:1" {written} }} route r {{ forward u }} }}', "e.edge")
    assert result.edge.upstreams[0].tls == expected


@pytest.mark.parametrize("written,code", [
    ("tls", "E221"),  # verifying needs the CA
    ('tls ca "/ca.pem" sni "*.internal"', "E218"),
    ('tls ca "/a" tls ca "/b"', "E215"),
])
def test_upstream_tls_refused(written, code):
    result = analyse(f'edge "e" {{ upstream u {{ server "127.0.0.1:1" {written} }} route r {{ forward u }} }}', "e.edge")
    assert code in {d.code for d in result.diagnostics if d.severity == "error"}


def test_a_service_is_a_server_named_by_its_service():
    result = analyse('edge "e" { upstream u { service "users-v2:8080" } route r { forward u } }', "e.edge")
    assert result.edge.upstreams[0].servers == (ir.Server("users-v2", 8080, service=True),)


@pytest.mark.parametrize("written,code", [
    ('service "Users:8080"', "E202"),  # a Service name is a lower-case DNS label
    ('service "users.shop:8080"', "E202"),  # of the edge's namespace
    ('service "users"', "E202"),
    ('service "users:0"', "E201"),
    ('service "a:1" service "b:1"', "E215"),
])
def test_a_service_refused(written, code):
    result = analyse(f'edge "e" {{ upstream u {{ {written} }} route r {{ forward u }} }}', "e.edge")
    assert code in {d.code for d in result.diagnostics if d.severity == "error"}


def test_auth_external():
    a = edge('auth external x { url "http://authz.internal:8181/v1/check/" forward_headers "Cookie" "X-Tenant" '
             '"cookie" copy_headers "X-User" timeout 250ms }', "auth x\n    forward u").auth_provider("x")
    assert (a.kind, a.host, a.port, a.path, a.forward_headers, a.copy_headers, a.timeout_ms) == (
        "external", "authz.internal", 8181, "/v1/check", ("Cookie", "X-Tenant"), ("X-User",), 250)
    from edgec.ir import DEFAULT_EXTERNAL_AUTH_TIMEOUT_MS
    a = edge('auth external x { url "http://authz:9/$x" }', "auth x\n    forward u").auth_provider("x")
    assert a.path == "/$x"  # a $ is a path character: each target writes it as text
    a = edge('auth external x { url "http://[::1]:9" }', "auth x\n    forward u").auth_provider("x")
    assert (a.host, a.port, a.path, a.address, a.forward_headers, a.timeout_ms) == (
        "::1", 9, "", "[::1]:9", (), DEFAULT_EXTERNAL_AUTH_TIMEOUT_MS)


@pytest.mark.parametrize("body,code,column", [
    ("", "E221", 3),  # no url
    ('url "https://authz:443/check"', "E221", 25),
    ('url "http://authz/check"', "E221", 25),  # the port is required
    ('url "http://authz:9/check?x=1"', "E221", 25),
    ('url "http://authz:9/a b"', "E221", 25),  # a URL path has no spaces (or quotes, braces...)
    ('url "http://authz:70000/"', "E201", 25),
    ('url "http://a:9" copy_headers "X User"', "E219", 51),
])
def test_auth_external_refused(body, code, column):
    result = analyse(f'edge "e" {{\n  auth external x {{ {body} }}\n  upstream u {{ server "127.0.0.1:1" }}\n'
                     '  route r { auth x forward u }\n}\n', "e.edge")
    assert [(d.code, d.line, d.column) for d in result.diagnostics if d.severity == "error"] == [(code, 2, column)]


# ---- matches ------------------------------------------------------------------------------------

def test_no_match_means_every_path():
    assert route("forward u").matches == (ir.Match(ir.PathMatch("prefix", "/")),)


@pytest.mark.parametrize("kind", ["exact", "prefix", "regex"])
def test_match_path(kind):
    value = "/a/[0-9]+" if kind == "regex" else "/a"
    (m,) = route(f'match path {kind} "{value}"\n    forward u').matches
    assert m.path == ir.PathMatch(kind, value)


def test_match_hosts_wildcards_and_lists_are_lower_cased():
    (m,) = route('match host "A.example" "*.b.example" ["c.example"]\n    forward u').matches
    assert m.hosts == ("a.example", "*.b.example", "c.example")


def test_match_methods():
    (m,) = route("match method GET POST\n    forward u").matches
    assert m.methods == ("GET", "POST")


@pytest.mark.parametrize("kind", ["header", "query"])
@pytest.mark.parametrize("written,expected", [
    ('= "v"', ("exact", "v")), ('~ "v[0-9]"', ("regex", "v[0-9]")), ("present", ("present", None))])
def test_match_header_and_query(kind, written, expected):
    (m,) = route(f'match {kind} "X-A" {written}\n    forward u').matches
    assert getattr(m, "headers" if kind == "header" else "query") == (ir.ValueMatch("X-A", *expected),)


def test_conditions_of_one_match_combine_and_match_lines_are_alternatives():
    r = route('match path prefix "/a" method GET header "X" present query "q" = "1" host "h.example"\n'
              '    match path exact "/b"\n    forward u')
    first, second = r.matches
    assert (first.path, first.methods, first.hosts) == (ir.PathMatch("prefix", "/a"), ("GET",), ("h.example",))
    assert (first.headers, first.query) == ((ir.ValueMatch("X", "present"),), (ir.ValueMatch("q", "exact", "1"),))
    assert second == ir.Match(ir.PathMatch("exact", "/b"))


# ---- policies -------------------------------------------------------------------------------------

@pytest.mark.parametrize("written,key", [
    ("", ir.RateLimitKey("client_ip")), ("by client_ip", ir.RateLimitKey("client_ip")),
    ('by header "X-Key"', ir.RateLimitKey("header", "X-Key")),
])
def test_rate_limit_keys(written, key):
    rl = route(f"rate_limit 100/min {written}\n    forward u").rate_limit
    assert (rl.count, rl.window_s, rl.key, rl.burst) == (100, 60, key, 0)


def test_rate_limit_by_claim_needs_jwt_and_takes_a_burst():
    rl = route('auth j\n    rate_limit 5/s by claim "sub" burst 10\n    forward u',
               top='auth jwt j { jwks "https://i.example/jwks" }').rate_limit
    assert (rl.count, rl.window_s, rl.key, rl.burst) == (5, 1, ir.RateLimitKey("claim", "sub"), 10)


@pytest.mark.parametrize("unit,seconds", [("s", 1), ("sec", 1), ("second", 1), ("m", 60), ("min", 60),
                                          ("minute", 60), ("h", 3600), ("hour", 3600), ("d", 86400),
                                          ("day", 86400)])
def test_rate_windows(unit, seconds):
    assert route(f"rate_limit 3/{unit}\n    forward u").rate_limit.window_s == seconds


def test_cache_with_defaults_and_with_options():
    from edgec.ir import CACHE_KEY, DEFAULT_CACHE_METHODS
    assert route("cache 30s\n    forward u").cache == ir.Cache(30_000, DEFAULT_CACHE_METHODS, CACHE_KEY, ())
    c = route('cache 1h methods GET vary "Accept" "Accept-Language"\n    forward u').cache
    assert (c.ttl_ms, c.methods, c.vary) == (3_600_000, ("GET",), ("Accept", "Accept-Language"))


@pytest.mark.parametrize("direction,field", [("request_header", "request_headers"),
                                             ("response_header", "response_headers")])
def test_header_operations(direction, field):
    r = route(f'{direction} set "X-A" "1"\n    {direction} add "X-B" "2"\n    {direction} remove "X-C"\n'
              "    forward u")
    assert getattr(r, field) == ir.HeaderOps(set=(("X-A", "1"),), add=(("X-B", "2"),), remove=("X-C",))


def test_strip_prefix():
    r = route('match path prefix "/api"\n    strip_prefix "/api"\n    forward u')
    assert r.rewrite == ir.Rewrite(ir.PathRewrite("prefix", "", "/api"))


def test_rewrite_prefix_path_and_host():
    r = route('match path prefix "/old"\n    rewrite prefix "/old" "/new"\n    rewrite host "h.example"\n'
              "    forward u")
    assert r.rewrite == ir.Rewrite(ir.PathRewrite("prefix", "/new", "/old"), "h.example")
    assert route('rewrite path "/fixed"\n    forward u').rewrite.path == ir.PathRewrite("full", "/fixed")


def test_cors_every_option():
    r = route('cors {\n origins "https://a.example" "https://b.example"\n methods GET PUT\n headers "X-A"\n'
              ' expose "X-B"\n credentials\n max_age 2h\n }\n    forward u')
    assert r.cors == ir.Cors(("https://a.example", "https://b.example"), ("GET", "PUT"), ("X-A",), ("X-B",),
                             True, 7200)


def test_cors_defaults():
    from edgec.ir import DEFAULT_CORS_MAX_AGE_S, DEFAULT_CORS_METHODS
    assert route("cors { }\n    forward u").cors == ir.Cors(("*",), DEFAULT_CORS_METHODS, (), (), False,
                                                             DEFAULT_CORS_MAX_AGE_S)


def test_timeout_and_per_try():
    assert route("timeout 5s per_try 2s\n    forward u").timeouts == ir.Timeouts(5000, 2000)
    assert route("timeout 5s\n    forward u").timeouts == ir.Timeouts(5000, 0)
    assert route("forward u").timeouts == ir.Timeouts(0, 0)


def test_retries():
    from edgec.ir import DEFAULT_RETRY_STATUSES
    r = route("retries 2\n    forward u").retry
    assert (r.attempts, r.statuses, r.connect_errors, r.backoff_ms) == (2, DEFAULT_RETRY_STATUSES, True, 0)
    r = route("retries 3 on 503 connect_error backoff 100ms\n    forward u").retry
    assert (r.attempts, r.statuses, r.connect_errors, r.backoff_ms) == (3, (503,), True, 100)
    r = route("retries 1 on 5xx\n    forward u").retry
    assert (r.statuses, r.connect_errors) == ((500, 502, 503, 504), False)
    assert route("forward u").retry.attempts == 0


def test_mirror_with_and_without_a_share():
    assert route("mirror v 10%\n    forward u").mirrors == (ir.Mirror("v", 10.0),)
    assert route("mirror v\n    forward u").mirrors == (ir.Mirror("v", 100.0),)


# ---- actions ---------------------------------------------------------------------------------------

def test_forward_one_and_weighted():
    assert route("forward u").action == ir.Forward("forward", (ir.Backend("u", 1),))
    assert route("forward u 90%, v 10%").action.backends == (ir.Backend("u", 90), ir.Backend("v", 10))
    assert route("forward u 3, v").action.backends == (ir.Backend("u", 3), ir.Backend("v", 1))


def test_redirect_to_a_url_and_to_a_path():
    a = route('redirect 301 "https://n.example:8443/p"').action
    assert (a.status, a.scheme, a.host, a.port, a.path) == (301, "https", "n.example", 8443,
                                                            ir.PathRewrite("full", "/p"))
    from edgec.ir import DEFAULT_REDIRECT_STATUS
    a = route('redirect "/elsewhere"').action
    assert (a.status, a.scheme, a.host, a.path) == (DEFAULT_REDIRECT_STATUS, None, None,
                                                    ir.PathRewrite("full", "/elsewhere"))


def test_redirect_options():
    a = route('redirect 308 scheme https host "n.example" port 8443 path "/p"').action
    assert (a.status, a.scheme, a.host, a.port, a.path) == (308, "https", "n.example", 8443,
                                                            ir.PathRewrite("full", "/p"))
    a = route('match path prefix "/old"\n    redirect 301 prefix "/new"').action
    assert a.path == ir.PathRewrite("prefix", "/new")


def test_respond():
    from edgec.ir import DEFAULT_RESPOND_TYPE
    assert route('respond 404 "nope" type "text/html"').action == ir.Respond("respond", 404, "nope", "text/html")
    assert route("respond 204").action == ir.Respond("respond", 204, "", DEFAULT_RESPOND_TYPE)


def test_aggregate():
    from edgec.ir import DEFAULT_PART_TIMEOUT_MS
    a = route('aggregate {\n a = get u "/a" timeout 1s\n b = post v "/b"\n }').action
    assert a.parts == (ir.AggregatePart("a", "GET", "u", "/a", 1000),
                       ir.AggregatePart("b", "POST", "v", "/b", DEFAULT_PART_TIMEOUT_MS))


# ---- operations --------------------------------------------------------------------------------------

def test_observability_defaults_and_settings():
    from edgec.ir import DEFAULT_ACCESS_LOG
    assert edge().observability == ir.Observability(DEFAULT_ACCESS_LOG, None)
    o = edge('access_log combined "/var/log/a.log"\n  metrics "/m"').observability
    assert o == ir.Observability(ir.AccessLog("combined", "/var/log/a.log"), "/m")
    assert edge("access_log off").observability.access_log.format == "off"


def test_limits():
    from edgec.ir import DEFAULT_LIMITS
    assert edge().limits == DEFAULT_LIMITS
    limits = edge("limits { max_body 2mb max_header_size 4KiB max_headers 50 header_timeout 5s "
                  "idle_timeout 1m }").limits
    assert limits == ir.Limits(2_000_000, 4096, 50, 5000, 60_000)


@pytest.mark.parametrize("size,nbytes", [("7b", 7), ("2kb", 2000), ("2KB", 2000), ("3mb", 3_000_000),
                                         ("1gb", 10**9), ("1KiB", 1024), ("1MiB", 1024**2), ("1GiB", 1024**3)])
def test_sizes(size, nbytes):
    assert edge(f"limits {{ max_body {size} }}").limits.max_body_bytes == nbytes


@pytest.mark.parametrize("duration,ms", [("250ms", 250), ("3s", 3000), ("2m", 120_000), ("1h", 3_600_000),
                                         ("1d", 86_400_000)])
def test_durations(duration, ms):
    assert route(f"timeout {duration}\n    forward u").timeouts.request_ms == ms


def test_trust_proxies_are_normalised_networks():
    assert edge('trust_proxies "10.0.0.0/8" "192.0.2.7"').trusted_proxies == ("10.0.0.0/8", "192.0.2.7/32")


def test_the_ir_is_json():
    data = to_json(edge())
    assert data["version"] == ir.IR_VERSION and data["routes"][0]["name"] == "r"


# ---- the lexer ---------------------------------------------------------------------------------

def _outcome(p, source):
    from lark.exceptions import UnexpectedInput
    try:
        return p.parse(source)
    except UnexpectedInput as err:
        token = getattr(err, "token", None)
        return (type(err).__name__, err.line, err.column, sorted(getattr(err, "expected", None) or ()),
                sorted(getattr(err, "allowed", None) or ()), token and (token.type, str(token)))


@pytest.fixture(scope="module")
def larks_own_lexer():
    from importlib import resources

    from lark import Lark
    grammar = resources.files("edgec.grammar").joinpath("edge.lark").read_text(encoding="utf-8")
    return Lark(grammar, parser="lalr", strict=True, propagate_positions=True, maybe_placeholders=True)


def test_the_grammar_is_strict_lalr():
    """No LALR conflict and no terminal collision (lark's strict mode, which needs the test
    dependency interegular)."""
    import interegular  # noqa: F401
    from edgec.parse import parser
    assert parser().options.strict and parser().options.parser == "lalr"


def test_the_shared_scanner_lexer_is_in_use():
    from edgec.lexer import SharedScannerLexer
    from edgec.parse import parser
    assert isinstance(parser().parser.lexer, SharedScannerLexer)


@settings(max_examples=150, deadline=None)
@given(mutated())
def test_the_shared_scanner_lexer_lexes_and_fails_like_larks(larks_own_lexer, source):
    from edgec.parse import parser
    assert _outcome(parser(), source) == _outcome(larks_own_lexer, source)


# ---- names spelled like keywords ----------------------------------------------------------------

def _keywords() -> list[str]:
    import re

    from edgec.parse import parser
    return sorted(t.pattern.value for t in parser().terminals
                  if t.pattern.type == "str" and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_-]*", t.pattern.value))


@pytest.mark.parametrize("word", _keywords())
def test_every_kind_of_name_may_be_spelled_like_a_keyword(word):
    """The contextual lexer reads a keyword as a name where only a name fits; the grammar
    keeps LALR from merging such a place with one where a keyword may follow."""
    var = "v" if word == "env" else word  # ${env} is the built-in
    # `timeout` after a part's path is that part's option: the one name a later part cannot take
    part = "p2" if word == "timeout" else word
    source = f'''edge "x" {{
  env {word} {{
    _pool = ["127.0.0.1:9001"]
    {var} = "/p"
  }}
  upstream {word} {{
    servers ${{_pool}}
  }}
  auth api_key {word} {{
    keys ${{secret:K}}
  }}
  route {word} {{
    match path prefix ${{{var}}}
    auth {word}
    aggregate {{
      first = get {word} "/a"
      {part} = get {word} "/b"
    }}
  }}
  route other {{
    match path prefix "/o"
    mirror {word} 10%
    forward {word}
  }}
}}
'''
    e = compile_ok(source, word)
    assert e.route(word).action.parts[1].name == part
    assert [m.upstream for m in e.route("other").mirrors] == [word]
