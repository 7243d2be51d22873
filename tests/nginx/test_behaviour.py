"""What the generated config does, through the real nginx and echo backends."""
from __future__ import annotations

import time

from edgec import routing
from edgec.harness.echo import EchoServer
from tests.support import at_once

from .support import TEST_PASSWORD, TEST_USER


def auth_header(user: str, password: str) -> tuple[str, str]:
    import base64
    return ("Authorization", "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode())


def test_rate_limit_answers_429_after_the_burst(gateway):
    gw = gateway('''edge "t" {
      listen http 8080
      upstream app { server "127.0.0.1:1" }
      route api { match path prefix "/api" rate_limit 1/min burst 2 forward app }
      route ping { match path exact "/ping" rate_limit 1/min burst 1 respond 200 "pong" }
      route fast { match path prefix "/fast" rate_limit 1/min forward app }
    }''')
    replies = [gw.get("/api/x") for _ in range(5)]
    assert [r.status for r in replies] == [200, 200, 200, 429, 429]
    # a refusal says when the next request is let through: one request's share of the window
    assert [r.header("Retry-After") for r in replies] == [None, None, None, "60", "60"]
    assert [(r.header("RateLimit-Policy"), r.header("RateLimit")) for r in replies[2:]] == [
        (None, None), ('"api";q=1;w=60', '"api";r=0;t=60'), ('"api";q=1;w=60', '"api";r=0;t=60')]
    # `return` answers in nginx's rewrite phase, before limit_req: the fixed response must still be limited
    replies = [gw.get("/ping") for _ in range(4)]
    assert [(r.status, r.header("Retry-After")) for r in replies] == [(200, None), (200, None), (429, "60"),
                                                                      (429, "60")]
    # a backend's own 429 is passed on as it is; the limit's own refusal right after it is not
    assert [gw.get("/fast?status=429").header("Retry-After") for _ in range(2)] == [None, "60"]
    assert gw.get("/fast?status=429").header("RateLimit") == '"fast";r=0;t=60'
    assert gw.get("/ping").body != b"pong"


def test_cache_hit_on_the_second_get(gateway):
    gw = gateway('''edge "t" {
      listen http 8080
      upstream app { server "127.0.0.1:1" }
      route cached { match path prefix "/c" cache 1m vary "Accept-Language" forward app }
    }''')
    first = gw.get("/c/item?x=1")
    second = gw.get("/c/item?x=1")
    other = gw.get("/c/item?x=1", [("Accept-Language", "de")])
    assert (first.status, second.status) == (200, 200)
    assert first.header("X-Cache-Status") == "MISS"
    assert second.header("X-Cache-Status") == "HIT"
    assert other.header("X-Cache-Status") == "MISS"  # vary header is part of the key
    assert len(gw.echoes["app"].requests) == 2


def test_a_cache_hit_is_limited_and_carries_the_route_headers(gateway):
    # limit_req runs in its phase before the cache is asked; add_header applies to what the cache answers
    gw = gateway('''edge "t" {
      listen http 8080
      upstream app { server "127.0.0.1:1" }
      route r {
        rate_limit 2/min burst 1
        response_header add "X-Route" "cached"
        cache 1m
        forward app
      }
    }''')
    replies = [gw.get("/item") for _ in range(3)]
    assert [(r.status, r.header("X-Cache-Status"), r.headers_named("X-Route")) for r in replies[:2]] == [
        (200, "MISS", ["cached"]), (200, "HIT", ["cached"])]
    assert replies[2].status == 429
    assert len(gw.echoes["app"].requests) == 1


def test_redirects_and_their_location(gateway):
    src = '''edge "t" {
      listen http 8080
      route legacy { match path prefix "/old" redirect 301 prefix "/api/v1" }
      route full { match path prefix "/full" redirect "/replacement" }
      route secure { match path prefix "/secure" redirect 308 scheme https port 8443 }
      route away { match path exact "/away" redirect 302 "https://example.org/landing" }
    }'''
    gw = gateway(src)
    from edgec.pipeline import analyse
    from tests.conformance.corpus import with_listener_ports
    edge = with_listener_ports(analyse(src, "t.edge").edge, gw.ports)
    for target in ("/old/x?y=1", "/old", "/old/", "/full/a/b?q=2", "/secure/p?z", "/away?x=1"):
        reply = gw.get(target)
        expected = routing.decide(edge, routing.Request.from_url("GET", target, host="edge.test",
                                                                 port=gw.ports[8080]))
        assert (reply.status, reply.header("Location")) == (expected.status, expected.location), target
    assert gw.get("/old/x?y=1").header("Location") == f"http://edge.test:{gw.ports[8080]}/api/v1/x?y=1"


def test_https_on_loopback_and_the_redirect_to_it(gateway):
    gw = gateway('''edge "t" {
      listen http 8080 { redirect https port 8443 }
      listen https 8443 { tls cert "/x.crt" key "/x.key" http2 }
      upstream app { server "127.0.0.1:1" }
      route all { forward app }
    }''')
    plain = gw.get("/p?q=1", port=8080)
    assert plain.status == 301
    assert plain.header("Location") == "https://edge.test:8443/p?q=1"
    secure = gw.get("/p?q=1", port=8443, https=True)
    assert secure.status == 200
    import socket
    import ssl
    ctx = ssl.create_default_context()
    ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
    ctx.set_alpn_protocols(["h2", "http/1.1"])
    with socket.create_connection(("127.0.0.1", gw.ports[8443])) as raw, ctx.wrap_socket(raw) as tls:
        assert tls.selected_alpn_protocol() == "h2"  # `http2` on nginx 1.22: a listen parameter
        assert tls.version() in ("TLSv1.2", "TLSv1.3")
    assert secure.echo["path"] == "/p?q=1"
    assert secure.echo["headers"]["x-forwarded-proto"] == "https"


def test_failover_when_a_server_is_down(gateway):
    gw = gateway('''edge "t" {
      listen http 8080
      upstream app { server "127.0.0.1:1" passive max_fails 1 fail_timeout 30s }
      route all { retries 1 on connect_error forward app }
    }''', servers={"app": 2})
    gw.echoes["app1"].stop()
    statuses = [gw.get(f"/{i}").status for i in range(6)]
    assert statuses == [200] * 6
    assert len(gw.echoes["app2"].requests) == 6


def test_passive_on_5xx_ejects_a_server_nginx_retried_an_error_answer_of(gateway):
    """nginx counts an error answer against max_fails only when it tries another server for it
    (the capability row's approximation): with retries the failing server is out after one
    answer; without them it keeps its share."""
    with EchoServer("good") as good, EchoServer("bad", status=503) as bad:
        source = f'''edge "t" {{
          listen http 8080
          upstream app {{ server "{good.address}" server "{bad.address}" passive max_fails 1 fail_timeout 30s on 5xx }}
          route all {{ RETRIES forward app }}
        }}'''
        gw = gateway(source.replace("RETRIES", "retries 1"), keep_servers=("app",))
        assert [gw.get(f"/{i}").status for i in range(6)] == [200] * 6
        assert len(bad.requests) == 1
        assert any("upstream.passive_check.statuses" in w.message for w in gw.warnings)
        gw = gateway(source.replace("RETRIES", ""), keep_servers=("app",))
        assert sorted(gw.get(f"/{i}").status for i in range(6)) == [200] * 3 + [503] * 3


def test_header_operations_reach_the_backend_and_the_client(gateway):
    gw = gateway('''edge "t" {
      listen http 8080
      upstream app { server "127.0.0.1:1" }
      route h {
        request_header set "X-Set" "new"
        request_header add "X-Add" "more"
        request_header remove "X-Remove"
        response_header set "X-Resp-Set" "fixed"
        response_header add "X-Resp-Add" "extra"
        response_header remove "X-Resp-Remove"
        cache 1m
        forward app
      }
    }''')
    reply = gw.get("/h", [("Host", "Shop.Example:8080"), ("X-Set", "old"), ("X-Add", "first"),
                          ("X-Remove", "gone"),
                          ("X-Echo-Set-Header", "X-Resp-Set: backend, X-Resp-Add: b, X-Resp-Remove: r, "
                                                "X-Powered-By: PHP")])
    seen = reply.echo["headers"]
    # proxy_set_header inheritance: the route's own headers must not drop Host or X-Forwarded-*
    assert reply.echo["host"] == "Shop.Example:8080"
    assert seen["x-set"] == "new"
    assert seen["x-add"] == "first,more"
    assert "x-remove" not in seen
    assert seen["x-forwarded-host"] == "Shop.Example:8080"
    assert seen["x-forwarded-for"] == "127.0.0.1"
    assert seen["x-real-ip"] == "127.0.0.1"
    assert seen["x-forwarded-proto"] == "http"
    # add_header inheritance: the cache status and the route's headers all arrive together
    assert reply.headers_named("X-Resp-Set") == ["fixed"]
    assert reply.headers_named("X-Resp-Add") == ["b", "extra"]
    assert reply.header("X-Resp-Remove") is None
    assert reply.header("X-Powered-By") is None
    assert reply.header("X-Cache-Status") == "MISS"
    assert reply.header("Server") == "nginx"
    # a request id reaches the backend and comes back, also where the route adds headers of its own
    assert reply.header("X-Request-Id") == seen["x-request-id"] and len(seen["x-request-id"]) == 32
    given = gw.get("/h", [("X-Request-Id", "trace-42")])
    assert given.header("X-Request-Id") == given.echo["headers"]["x-request-id"] == "trace-42"
    assert gw.get("/h", [("X-Request-Id", "bad id!")]).header("X-Request-Id") != "bad id!"
    # `always`: headers also on an error status
    error = gw.get("/h?status=503")
    assert error.status == 503 and error.headers_named("X-Resp-Set") == ["fixed"]


def test_basic_auth(gateway):
    from .support import TEST_HTPASSWD
    gw = gateway('''edge "t" {
      listen http 8080
      upstream app { server "127.0.0.1:1" }
      auth basic staff { htpasswd ${secret:STAFF} realm "staff only" }
      route admin { match path prefix "/admin" auth staff forward app }
      route open { forward app }
    }''', secrets={"STAFF": TEST_HTPASSWD.strip()})
    denied = gw.get("/admin/x")
    assert denied.status == 401
    assert denied.header("WWW-Authenticate") == 'Basic realm="staff only"'
    assert gw.get("/admin/x", [auth_header(TEST_USER, "wrong")]).status == 401
    ok = gw.get("/admin/x", [auth_header(TEST_USER, TEST_PASSWORD)])
    assert ok.status == 200 and ok.echo["path"] == "/admin/x"
    assert gw.get("/other").status == 200


def test_refusals_on_a_route_carry_its_response_headers(gateway):
    """docs/semantics.md: once a route has taken a request, its response header operations hold
    for nginx's own refusals too (401, 429, 502: add_header ... always; 413 for a Content-Length
    over max_body, as the location is found, before its guards); the edge's own lists refuse in
    the server, before any location, without them."""
    headers = 'response_header set "X-Frame-Options" "DENY" response_header add "Vary" "Origin"'
    gw = gateway(f'''edge "t" {{
      listen http 8080
      trust_proxies "127.0.0.1"
      deny "203.0.113.0/24"
      limits {{ max_body 1kb }}
      upstream app {{ server "127.0.0.1:1" }}
      upstream dead {{ server "127.0.0.1:1" }}
      auth api_key k {{ keys ${{secret:KEY}} }}
      route keyed {{ match path prefix "/k" auth k {headers} forward app }}
      route limited {{ match path prefix "/l" rate_limit 1/min burst 1 {headers} forward app }}
      route down {{ match path prefix "/d" {headers} forward dead }}
    }}''', secrets={"KEY": "key-1"}, keep_servers=("dead",))
    refusals = [gw.get("/k"), *[gw.get("/l") for _ in range(3)][2:], gw.get("/d"),
                gw.request("POST", "/k", body=b"x" * 1001)]
    assert [(r.status, r.header("X-Frame-Options"), r.header("Vary")) for r in refusals] == [
        (401, "DENY", "Origin"), (429, "DENY", "Origin"), (502, "DENY", "Origin"), (413, "DENY", "Origin")]
    denied = gw.get("/k", [("X-Forwarded-For", "203.0.113.9")])
    assert denied.status == 403 and denied.header("X-Frame-Options") is None


def test_api_keys(gateway, tmp_path):
    keys = tmp_path / "keys.txt"
    keys.write_text("# customers\nfile-key-1\n\nFile-Key-2\n")
    gw = gateway(f'''edge "t" {{
      listen http 8080
      upstream app {{ server "127.0.0.1:1" }}
      auth api_key customers {{ header "X-API-Key" keys_file "{keys}" keys ${{secret:INTERNAL}} }}
      route api {{ auth customers forward app }}
    }}''', secrets={"INTERNAL": "in$ternal;key"})
    missing = gw.get("/")
    assert missing.status == 401 and missing.header("WWW-Authenticate") == 'ApiKey header="X-API-Key"'
    assert gw.get("/", [("X-API-Key", "nope")]).status == 401
    ok = gw.get("/", [("X-API-Key", "file-key-1")])
    assert ok.status == 200 and ok.header("WWW-Authenticate") is None
    assert gw.get("/", [("X-API-Key", "File-Key-2")]).status == 200
    assert gw.get("/", [("X-API-Key", "file-key-2")]).status == 401  # keys compare case-sensitively
    assert gw.get("/", [("X-API-Key", "FILE-KEY-1")]).status == 401
    assert gw.get("/", [("X-API-Key", "in$ternal;key")]).status == 200
    assert "in$ternal" not in gw.files["nginx.conf"]


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
    assert pre.status == 204
    assert pre.header("Access-Control-Allow-Origin") == "https://app.example"
    assert pre.header("Access-Control-Allow-Methods") == "GET, POST"
    assert pre.header("Access-Control-Allow-Headers") == "X-Token"
    assert pre.header("Access-Control-Max-Age") == "3600"
    assert pre.header("Vary") == "Origin"
    assert not gw.echoes["app"].requests  # answered at the edge
    actual = gw.get("/items", [("Origin", "https://app.example")])
    assert actual.status == 200
    assert actual.header("Access-Control-Allow-Origin") == "https://app.example"
    assert actual.header("Access-Control-Expose-Headers") == "X-Total"
    assert actual.header("Access-Control-Allow-Methods") is None
    stranger = gw.get("/items", [("Origin", "https://evil.example")])
    assert stranger.header("Access-Control-Allow-Origin") is None
    refused = gw.request("OPTIONS", "/items", [("Origin", "https://evil.example"),
                                               ("Access-Control-Request-Method", "POST")])
    assert refused.status == 403 and refused.header("Access-Control-Allow-Origin") is None
    assert not gw.echoes["app"].requests[1:] or all(r["method"] != "OPTIONS" for r in gw.echoes["app"].requests)


def test_sticky_cookie_keeps_a_client_on_one_server(gateway):
    gw = gateway('''edge "t" {
      listen http 8080
      upstream app { server "127.0.0.1:1" sticky cookie "EDGE" ttl 1h }
      route all { forward app }
    }''', servers={"app": 3})
    assert any("sticky" in d.message for d in gw.warnings)
    first = gw.get("/")
    cookie = first.header("Set-Cookie")
    assert cookie and cookie.startswith("EDGE=") and "Max-Age=3600" in cookie
    value = cookie.split(";")[0]
    backends = {gw.get("/", [("Cookie", value)]).echo["backend"] for _ in range(10)}
    assert backends == {first.echo["backend"]}
    assert gw.get("/", [("Cookie", value)]).header("Set-Cookie") is None


def test_weighted_split_and_mirror(gateway):
    gw = gateway('''edge "t" {
      listen http 8080
      upstream a { server "127.0.0.1:1" }
      upstream b { server "127.0.0.1:1" }
      upstream shadow { server "127.0.0.1:1" }
      route split { mirror shadow forward a 75%, b 25% }
    }''')
    seen = [gw.get(f"/s?i={i}").echo["backend"] for i in range(200)]
    share = seen.count("a") / len(seen)
    assert 0.6 < share < 0.9, share
    deadline = time.monotonic() + 5
    while len(gw.echoes["shadow"].requests) < 200 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(gw.echoes["shadow"].requests) == 200
    assert gw.echoes["shadow"].requests[0]["path"] == "/s?i=0"


def test_fixed_response_and_metrics(gateway):
    gw = gateway('''edge "t" {
      listen http 8080
      route health { match path exact "/healthz" respond 200 "ok\\n" type "application/health+json" }
      metrics "/metrics"
    }''')
    reply = gw.get("/healthz")
    assert (reply.status, reply.body, reply.header("Content-Type")) == (200, b"ok\n", "application/health+json")
    assert b"Active connections" in gw.get("/metrics").body
    assert gw.get("/nothing").status == 404


def test_timeouts_give_504(gateway):
    gw = gateway('''edge "t" {
      listen http 8080
      upstream app { server "127.0.0.1:1" }
      route slow { match path prefix "/slow" timeout 500ms forward app }
      route open { forward app }
    }''')
    assert gw.get("/slow?delay=2").status == 504
    assert gw.get("/slow?delay=0.01").status == 200
    assert gw.get("/open?delay=0.5").status == 200


def test_forwarding_headers_behind_a_trusted_proxy(gateway):
    gw = gateway('''edge "t" {
      listen http 8080
      upstream app { server "127.0.0.1:1" }
      route all { rate_limit 1/min by client_ip burst 1 forward app }
      trust_proxies "127.0.0.1"
    }''')
    seen = gw.get("/", [("X-Forwarded-For", "203.0.113.7"), ("X-Forwarded-Proto", "https"),
                        ("X-Forwarded-Host", "public.example")]).echo["headers"]
    assert seen["x-real-ip"] == "203.0.113.7"
    assert seen["x-forwarded-for"] == "203.0.113.7, 127.0.0.1"
    assert seen["x-forwarded-proto"] == "https"
    assert seen["x-forwarded-host"] == "public.example"
    # the rate limit counts the client behind the proxy, not the proxy
    assert gw.get("/", [("X-Forwarded-For", "203.0.113.7")]).status == 200
    assert gw.get("/", [("X-Forwarded-For", "203.0.113.7")]).status == 429
    assert gw.get("/", [("X-Forwarded-For", "198.51.100.1")]).status == 200


def test_websocket_echo_and_keep_alive_for_ordinary_requests(gateway):
    from websockets.sync.client import connect

    from tests.runtime.servers import UpgradeServer, WebSocketEchoServer, upgrade_roundtrip
    ws = UpgradeServer()
    real = WebSocketEchoServer()
    try:
        gw = gateway(f'''edge "t" {{
          listen http 8080
          upstream chat {{ server "{ws.address}" }}
          upstream real {{ server "{real.address}" }}
          upstream app {{ server "127.0.0.1:1" keepalive 8 }}
          route chat {{ match path prefix "/chat" forward chat }}
          route real {{ match path prefix "/ws" forward real }}
          route app {{ forward app }}
        }}''', keep_servers=("chat", "real"))
        head, got = upgrade_roundtrip(gw.ports[8080])
        assert head.startswith(b"HTTP/1.1 101") and b"upgrade: websocket" in head.lower()
        assert got == b"PING FRAME"
        seen = ws.request_head.lower()
        assert "upgrade: websocket" in seen and "connection: upgrade" in seen
        assert "sec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==".lower() in seen
        # an ordinary request asks for neither: the connection to the backend stays open for the next one
        echo = gw.get("/x").echo
        assert "upgrade" not in echo["headers"] and "connection" not in echo["headers"]
        # a real WebSocket client and server: messages both ways, then the closing handshake
        with connect(f"ws://127.0.0.1:{gw.ports[8080]}/ws", open_timeout=5) as client:
            assert client.response.status_code == 101
            client.send("hello")
            assert client.recv(timeout=5) == "/wshello"
        assert client.close_code == 1000
    finally:
        ws.stop()
        real.stop()


def test_address_lists_answer_403_before_a_return_or_a_redirect(gateway):
    # every IPv4 client (the test's 127.0.0.1) is refused at the edge, every IPv6 one let in;
    # the route's lists name both whole ranges too, which nginx's geo `default` also sets
    gw = gateway('''edge "t" {
      listen http 8080 { redirect https port 8443 }
      listen https 8443 { tls cert "/c.pem" key "/k.pem" }
      deny "0.0.0.0/0"
      allow "::/0"
      route ping { allow "::/0" deny "0.0.0.0/0" respond 200 "pong" }
    }''')
    assert gw.get("/ping", port=8443, https=True).status == 403
    assert gw.get("/ping", port=8080).status == 403  # the HTTPS redirect is refused too
    assert "duplicate network" not in (gw.nginx.prefix / "nginx.stderr").read_text()


def test_circuit_breaker_is_max_conns_without_a_queue(gateway):
    """nginx open source has max_conns but no queue (the capability row): what does not fit in
    the connections is answered 502 at once."""
    gw = gateway('''edge "t" {
      listen http 8080
      upstream app { server "127.0.0.1:1" circuit_breaker max_connections 2 max_pending 5 }
      route r { forward app }
    }''')
    assert "max_conns=2" in gw.files["nginx.conf"]
    statuses = at_once.statuses(gw.ports[8080], 4, "/slow?delay=1")
    assert statuses == [502, 502, 200, 200]
    assert any("upstream.circuit_breaker" in w.message for w in gw.warnings)
