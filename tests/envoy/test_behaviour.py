"""What the generated bootstrap does, through the real Envoy and echo backends."""
from __future__ import annotations

import re
import time

from edgec import routing
from edgec.harness.processes import wait_until


def test_rate_limit_answers_429_after_the_burst(gateway):
    gw = gateway('''edge "t" {
      listen http 8080
      upstream app { server "127.0.0.1:1" }
      route api { match path prefix "/api" rate_limit 1/min burst 2 forward app }
      route ping { match path exact "/ping" rate_limit 1/min burst 1 respond 200 "pong" }
      route keyed { match path prefix "/keyed" rate_limit 1/min by header "X-Key" forward app }
    }''')
    replies = [gw.get("/api/x") for _ in range(5)]
    assert [r.status for r in replies] == [200, 200, 200, 429, 429]
    # a refusal says when the next request is let through: one request's share of the window
    assert [r.header("Retry-After") for r in replies] == [None, None, None, "60", "60"]
    assert [(r.header("RateLimit-Policy"), r.header("RateLimit")) for r in replies[2:]] == [
        (None, None), ('"api";q=1;w=60', '"api";r=0;t=60'), ('"api";q=1;w=60', '"api";r=0;t=60')]
    assert [gw.get("/ping").status for _ in range(4)] == [200, 200, 429, 429]
    # one bucket per header value; requests without the header are not limited
    assert [gw.get("/keyed", [("X-Key", "a")]).status for _ in range(2)] == [200, 429]
    assert gw.get("/keyed", [("X-Key", "b")]).status == 200
    assert [gw.get("/keyed").status for _ in range(3)] == [200, 200, 200]


def test_redirects_and_their_location(gateway):
    src = '''edge "t" {
      listen http 8080
      route legacy { match path prefix "/old" redirect 301 prefix "/api/v1" }
      route full { match path prefix "/full" redirect "/replacement" }
      route secure { match path prefix "/secure" redirect 308 scheme https port 8443 }
      route away { match path exact "/away" redirect 302 "https://example.org/landing" }
    }'''
    gw = gateway(src)
    for target in ("/old/x?y=1", "/old", "/old/", "/full/a/b?q=2", "/secure/p?z", "/away?x=1"):
        reply = gw.get(target)
        expected = routing.decide(gw.edge, routing.Request.from_url("GET", target, host="edge.test",
                                                                    port=gw.ports[8080]))
        assert (reply.status, reply.header("Location")) == (expected.status, expected.location), target


def test_https_with_http2_and_the_redirect_to_it(gateway):
    import shutil
    import subprocess
    gw = gateway('''edge "t" {
      listen http 8080 { redirect https }
      listen https 8443 { tls cert "c.pem" key "k.pem" http2 }
      upstream app { server "127.0.0.1:1" }
      route all { forward app }
    }''')
    moved = gw.get("/a?b=1", port=8080, host="edge.test:8080")
    assert moved.status == 301
    # the redirect names no port: 443, and the port the client gave in Host is dropped
    assert moved.header("Location") == "https://edge.test/a?b=1"
    assert gw.get("/x", port=8443, https=True).echo()["backend"] == "app"
    curl = shutil.which("curl")
    out = subprocess.run([curl, "-sk", "--http2", "-o", "/dev/null", "-w", "%{http_version}",
                          f"https://127.0.0.1:{gw.ports[8443]}/h2"], capture_output=True, text=True, timeout=30)
    assert out.stdout == "2"


def test_retries_reach_another_try(gateway):
    gw = gateway('''edge "t" {
      listen http 8080
      upstream app { server "127.0.0.1:1" }
      route r { retries 2 on 503 forward app }
    }''')
    ok = gw.get("/r?responseCode=503&succeedAfter=2&uuid=one")
    assert ok.status == 200
    assert gw.echoes["app"].attempts["one"] == 3
    failed = gw.request("POST", "/r?responseCode=503&succeedAfter=1&uuid=two")
    assert failed.status == 503  # POST is not idempotent: never retried
    assert gw.echoes["app"].attempts["two"] == 1


def test_failover_when_a_server_is_killed(gateway):
    gw = gateway('''edge "t" {
      listen http 8080
      upstream app { server "127.0.0.1:1" server "127.0.0.1:2" passive max_fails 1 fail_timeout 30s }
      route r { retries 1 on connect_error forward app }
    }''', servers={"app": 2})
    gw.echoes["app1"].stop()
    seen = {gw.get(f"/x?i={i}").echo()["backend"] for i in range(10)}
    assert seen == {"app2"}


def test_passive_on_gateway_failures_ejects_a_server_that_answers_them(gateway):
    from edgec.harness.echo import EchoServer
    with EchoServer("good") as good, EchoServer("bad", status=503) as bad:
        gw = gateway(f'''edge "t" {{
          listen http 8080
          upstream app {{ server "{good.address}" server "{bad.address}"
                          passive max_fails 2 fail_timeout 30s on 502 503 504 }}
          route r {{ forward app }}
        }}''', keep_servers=("app",))
        statuses = [gw.get(f"/x?i={i}").status for i in range(10)]
        assert statuses.count(503) == 2 and len(bad.requests) == 2  # two in a row, then ejected


def test_health_checks_eject_and_return_a_server(gateway):
    from edgec.harness.echo import EchoServer
    gw = gateway('''edge "t" {
      listen http 8080
      upstream app {
        server "127.0.0.1:1" server "127.0.0.1:2"
        health get "/health" every 1s timeout 500ms unhealthy 1 healthy 1
      }
      route r { forward app }
    }''', servers={"app": 2})
    app1 = gw.echoes["app1"]
    address = app1.address

    def spread(n=20):
        return {gw.get(f"/x?i={i}").echo()["backend"] for i in range(n)}

    assert wait_until(lambda: gw.health("app").get(address) == "healthy")
    assert spread() == {"app1", "app2"}
    app1.stop()
    assert wait_until(lambda: "failed_active_hc" in gw.health("app").get(address, "")), gw.health("app")
    assert spread() == {"app2"}  # no request reaches the stopped server
    back = EchoServer("app1", port=app1.port).start()
    try:
        assert wait_until(lambda: gw.health("app").get(address) == "healthy"), gw.health("app")
        assert wait_until(lambda: spread() == {"app1", "app2"})
        assert any(r["path"] == "/health" for r in back.requests)
    finally:
        back.stop()


def test_sticky_cookie_keeps_a_client_on_one_server(gateway):
    gw = gateway('''edge "t" {
      listen http 8080
      upstream app { server "127.0.0.1:1" sticky cookie "EDGE" ttl 1h }
      route all { forward app }
    }''', servers={"app": 3})
    first = gw.get("/")
    cookie = first.header("Set-Cookie")
    assert cookie and cookie.startswith("EDGE=") and "Max-Age=3600" in cookie
    value = cookie.split(";")[0]
    backends = {gw.get("/", [("Cookie", value)]).echo()["backend"] for _ in range(10)}
    assert backends == {first.echo()["backend"]}


def test_weighted_split_and_mirror(gateway):
    gw = gateway('''edge "t" {
      listen http 8080
      upstream a { server "127.0.0.1:1" }
      upstream b { server "127.0.0.1:1" }
      upstream shadow { server "127.0.0.1:1" }
      route split { mirror shadow forward a 75%, b 25% }
    }''')
    seen = [gw.get(f"/s?i={i}").echo()["backend"] for i in range(200)]
    share = seen.count("a") / len(seen)
    assert 0.6 < share < 0.9, share
    assert wait_until(lambda: len(gw.echoes["shadow"].requests) == 200, 5)
    assert gw.echoes["shadow"].requests[0]["path"] == "/s?i=0"
    assert gw.echoes["shadow"].requests[0]["host"] == "edge.test"


def test_cors_preflight_and_actual_requests(gateway):
    gw = gateway('''edge "t" {
      listen http 8080
      upstream app { server "127.0.0.1:1" }
      route api {
        cors { origins "https://app.example" methods GET POST headers "X-Token" expose "X-Total" max_age 1h }
        forward app
      }
    }''')
    pre = gw.request("OPTIONS", "/items", [("Origin", "https://app.example"),
                                           ("Access-Control-Request-Method", "POST")])
    assert pre.status == 200
    assert pre.header("Access-Control-Allow-Origin") == "https://app.example"
    assert pre.header("Access-Control-Allow-Methods") == "GET, POST"
    assert pre.header("Access-Control-Allow-Headers") == "X-Token"
    assert pre.header("Access-Control-Max-Age") == "3600"
    assert not gw.echoes["app"].requests  # answered at the edge
    actual = gw.get("/items", [("Origin", "https://app.example")])
    assert actual.status == 200
    assert actual.header("Access-Control-Allow-Origin") == "https://app.example"
    assert actual.header("Access-Control-Expose-Headers") == "X-Total"
    stranger = gw.get("/items", [("Origin", "https://evil.example")])
    assert stranger.header("Access-Control-Allow-Origin") is None


def test_fixed_response_and_metrics(gateway):
    gw = gateway('''edge "t" {
      listen http 8080
      route health { match path exact "/healthz" respond 200 "ok\\n" type "application/health+json" }
      metrics "/metrics"
    }''')
    reply = gw.get("/healthz")
    assert (reply.status, reply.body, reply.header("Content-Type")) == (200, b"ok\n", "application/health+json")
    assert b"# TYPE envoy_" in gw.get("/metrics").body
    assert gw.get("/nothing").status == 404


def test_forwarding_headers_and_request_id(gateway):
    gw = gateway('''edge "t" {
      listen http 8080
      upstream app { server "127.0.0.1:1" }
      route all { forward app }
    }''')
    reply = gw.get("/x", [("X-Forwarded-For", "203.0.113.9"), ("X-Request-Id", "abc-123")])
    seen = reply.echo()["headers"]
    assert seen["x-forwarded-for"] == "127.0.0.1"
    assert seen["x-real-ip"] == "127.0.0.1"
    assert seen["x-forwarded-proto"] == "http"
    assert seen["x-forwarded-host"] == "edge.test"
    assert seen["x-request-id"] == "abc-123" == reply.header("X-Request-Id")
    fresh = gw.get("/y")
    assert fresh.header("X-Request-Id") == fresh.echo()["headers"]["x-request-id"]
    assert not any(n.lower().startswith("x-envoy") for n, _ in reply.headers)
    # an id that is not 1-128 of A-Za-z0-9._:- is replaced, to the backend and back, before any filter reads it
    for odd in ("bad id!", "x" * 129, "caf\u00e9"):
        replaced = gw.get("/z", [("X-Request-Id", odd)])
        made = replaced.echo()["headers"]["x-request-id"]
        assert made != odd and re.fullmatch(r"[0-9a-f-]{36}", made) and replaced.header("X-Request-Id") == made
    assert gw.get("/z", [("X-Request-Id", "x" * 128)]).echo()["headers"]["x-request-id"] == "x" * 128


def test_websocket_echo(gateway):
    from tests.runtime.servers import UpgradeServer, upgrade_roundtrip
    ws = UpgradeServer()
    try:
        gw = gateway(f'''edge "t" {{
          listen http 8080
          upstream chat {{ server "{ws.address}" }}
          route chat {{ match path prefix "/chat" forward chat }}
        }}''', keep_servers=("chat",))
        head, got = upgrade_roundtrip(gw.ports[8080])
        assert head.startswith(b"HTTP/1.1 101") and b"upgrade: websocket" in head.lower()
        assert got == b"PING FRAME"
        assert "sec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==".lower() in ws.request_head.lower()
    finally:
        ws.stop()


def test_client_address_behind_a_trusted_proxy(gateway):
    gw = gateway('''edge "t" {
      listen http 8080
      upstream app { server "127.0.0.1:1" }
      route all { rate_limit 1/min forward app }
      trust_proxies "127.0.0.1"
    }''')
    first = gw.get("/x", [("X-Forwarded-For", "203.0.113.9")])
    seen = first.echo()["headers"]
    assert seen["x-real-ip"] == "203.0.113.9"
    assert seen["x-forwarded-for"] == "203.0.113.9,127.0.0.1"
    # the limit counts per client found in X-Forwarded-For, not per proxy
    assert gw.get("/x", [("X-Forwarded-For", "203.0.113.9")]).status == 429
    assert gw.get("/x", [("X-Forwarded-For", "198.51.100.7")]).status == 200


def test_basic_auth_and_api_keys(gateway, tmp_path):
    import base64

    from tests.nginx.support import TEST_HTPASSWD, TEST_PASSWORD, TEST_USER
    htpasswd = tmp_path / "users.htpasswd"
    htpasswd.write_text(TEST_HTPASSWD)
    keys = tmp_path / "keys.txt"
    keys.write_text("# keys\nfile-key-1\n")
    gw = gateway(f'''edge "t" {{
      listen http 8080
      upstream app {{ server "127.0.0.1:1" }}
      auth basic staff {{ htpasswd "{htpasswd}" }}
      auth api_key partners {{ header "X-API-Key" keys_file "{keys}" }}
      route admin {{ match path prefix "/admin" auth staff forward app }}
      route api {{ match path prefix "/api" auth partners forward app }}
      route open {{ match path prefix "/open" forward app }}
    }}''')

    def basic(user, password):
        return [("Authorization", "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode())]
    assert gw.get("/admin").status == 401
    assert gw.get("/admin", basic(TEST_USER, "wrong")).status == 401
    assert gw.get("/admin", basic(TEST_USER, TEST_PASSWORD)).status == 200
    assert gw.get("/api").status == 401
    assert gw.get("/api", [("X-API-Key", "nope")]).status == 401
    assert gw.get("/api", [("X-API-Key", "file-key-1")]).status == 200
    assert gw.get("/open").status == 200


def test_address_lists_answer_403_on_every_listener_and_the_metrics_path(gateway):
    # every IPv4 client (the test's 127.0.0.1) is refused at the edge: the HTTPS redirect and
    # the metrics path too, which otherwise lets loopback in; a route's own lists are checked
    # by a second filter, which the edge's cannot be bypassed through
    gw = gateway('''edge "t" {
      listen http 8080 { redirect https port 8443 }
      listen https 8443 { tls cert "c.pem" key "k.pem" }
      deny "0.0.0.0/0"
      metrics "/metrics"
      route ping { allow "127.0.0.0/8" respond 200 "pong" }
    }''')
    assert gw.get("/ping", port=8443, https=True).status == 403
    assert gw.get("/metrics", port=8443, https=True).status == 403
    assert gw.get("/ping", port=8080).status == 403
    assert gw.get("/nowhere", port=8443, https=True).status == 403


def test_a_route_narrows_who_reaches_it(gateway):
    gw = gateway('''edge "t" {
      listen http 8080
      metrics "/metrics"
      route open { match path prefix "/open" respond 200 "open" }
      route closed { match path prefix "/closed" deny "127.0.0.0/8" respond 200 "closed" }
    }''')
    assert gw.get("/open").status == 200
    assert gw.get("/closed").status == 403
    assert gw.get("/metrics").status == 200  # the metrics path keeps its loopback-only policy


def test_request_and_upstream_metrics_under_the_names_docs_metrics_md_gives(gateway):
    gw = gateway('''edge "t" {
      listen http 8080
      upstream app { server "127.0.0.1:1" }
      route api { match path prefix "/api" forward app }
      metrics "/metrics"
    }''')
    gw.get("/api/x")
    gw.get("/api/y?status=503")
    # histograms reach the stats sink at Envoy's flush (every 5 s by default)
    deadline = time.monotonic() + 20
    while True:
        body = gw.get("/metrics").body.decode()
        if 'envoy_cluster_upstream_rq_time_count{envoy_cluster_name="app"} 2' in body or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert 'envoy_cluster_upstream_rq{envoy_response_code="200",envoy_cluster_name="app"} 1' in body
    assert 'envoy_cluster_upstream_rq{envoy_response_code="503",envoy_cluster_name="app"} 1' in body
    assert 'envoy_cluster_upstream_rq_time_count{envoy_cluster_name="app"} 2' in body
    assert 'envoy_cluster_membership_healthy{envoy_cluster_name="app"} 1' in body
    assert 'envoy_cluster_upstream_cx_connect_fail{envoy_cluster_name="app"} 0' in body
    assert re.search(r'envoy_http_downstream_rq_xx\{envoy_response_code_class="5",'
                     r'envoy_http_conn_manager_prefix="http_\d+"\} 1', body), body


def test_a_prefix_is_normalised_before_its_trailing_slash_goes(gateway):
    """As routing reads it: "/a//" and "/b/." are "/a" and "/b", "//" is "/" (Envoy refuses a
    path_separated_prefix that ends in "/": the bootstrap was rejected)."""
    gw = gateway('''edge "t" {
      listen http 8080
      route a { match path prefix "/a//" respond 200 "a" }
      route b { match path prefix "/b/." respond 200 "b" }
      route rest { match path prefix "//" respond 200 "rest" }
    }''')
    expected = {"/a": "a", "/a/": "a", "/a/x": "a", "/ab": "rest", "/b": "b", "/b/x": "b", "/bx": "rest", "/": "rest"}
    assert {path: gw.get(path).body.decode() for path in expected} == expected
