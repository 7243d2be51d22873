"""BackendTrafficPolicies through Envoy Gateway's translator and the real Envoy: rate limits
per client and per header value with Retry-After, retries, active health checks, ejection
after failures, balancing by a cookie."""
from __future__ import annotations

from edgec.harness.driver import send
from edgec.harness.processes import wait_until
from tests.support import at_once

from .support import validate


def test_rate_limits_per_client_and_per_header_value(envoy_gateway):
    gw = envoy_gateway('''edge "t" {
      listen http 8080
      trust_proxies "127.0.0.1"
      upstream app { server "127.0.0.1:1" }
      route api { match path prefix "/api" rate_limit 2/min burst 1 forward app }
      route keyed { match path prefix "/keyed" rate_limit 1/min by header "X-Key" forward app }
    }''')
    client = [("X-Forwarded-For", "203.0.113.9")]
    replies = [gw.get("/api/x", client) for _ in range(4)]
    assert [r.status for r in replies] == [200, 200, 429, 429]
    # a refusal says when the next request is let through: one request's share of the window
    assert [r.header("Retry-After") for r in replies] == [None, None, "30", "30"]
    # another client (read past the trusted proxy) has a bucket of its own, IPv6 too
    assert gw.get("/api/x", [("X-Forwarded-For", "198.51.100.7")]).status == 200
    assert [gw.get("/api/x", [("X-Forwarded-For", "2001:db8::1")]).status for _ in range(3)] == [200, 200, 429]
    # one bucket per header value; requests without the header are not limited
    assert [gw.get("/keyed", [("X-Key", "a")]).status for _ in range(2)] == [200, 429]
    assert gw.get("/keyed", [("X-Key", "b")]).status == 200
    assert [gw.get("/keyed").status for _ in range(3)] == [200, 200, 200]


def test_retries_and_the_methods_they_cover(envoy_gateway):
    gw = envoy_gateway('''edge "t" {
      listen http 8080
      upstream app { server "127.0.0.1:1" }
      route r { retries 2 on 503 forward app }
    }''')
    assert gw.get("/r?responseCode=503&succeedAfter=2&uuid=one").status == 200
    assert gw.echoes["app"].attempts["one"] == 3
    assert gw.get("/r?responseCode=503&succeedAfter=3&uuid=two").status == 503
    assert gw.echoes["app"].attempts["two"] == 3
    assert gw.get("/r?responseCode=500&succeedAfter=1&uuid=three").status == 500  # not a status it retries
    # declared in the retry row: a POST is retried too
    assert gw.request("POST", "/r?responseCode=503&succeedAfter=1&uuid=four").status == 200
    assert gw.echoes["app"].attempts["four"] == 2


def test_a_server_failing_its_health_check_gets_no_request(envoy_gateway):
    # egctl routes to a Service's cluster IP (one endpoint), whose health flags Envoy reports.
    # The probe is answered 503; Envoy Gateway leaves Envoy's no-traffic intervals at a minute,
    # so the next probe (which would pass) is not waited for here (declared)
    gw = envoy_gateway('''edge "t" {
      listen http 8080
      upstream app {
        server "127.0.0.1:1" passive max_fails 0
        health get "/health?status=503" every 1s timeout 500ms unhealthy 1 healthy 1
      }
      route r { forward app }
    }''')
    assert wait_until(lambda: "failed_active_hc" in "".join(gw.health().values())), gw.health()
    refused = gw.get("/x")
    assert refused.status >= 500 and refused.echo() is None
    assert [r["path"] for r in gw.echoes["app"].requests] == ["/health?status=503"]


def test_passive_ejection_after_failures(envoy_gateway):
    gw = envoy_gateway('''edge "t" {
      listen http 8080
      upstream app { server "127.0.0.1:1" passive max_fails 2 fail_timeout 30s }
      route r { forward app }
    }''')
    gw.echoes["app"].stop()
    assert gw.get("/x").status >= 500
    assert "failed_outlier_check" not in "".join(gw.health().values())  # one failure of the two
    assert gw.get("/x").status >= 500
    assert wait_until(lambda: "failed_outlier_check" in "".join(gw.health().values())), gw.health()


def test_passive_ejection_on_gateway_failures_the_server_answers(envoy_gateway):
    gw = envoy_gateway('''edge "t" {
      listen http 8080
      upstream app { server "127.0.0.1:1" passive max_fails 2 fail_timeout 30s on 502 503 504 }
      route r { forward app }
    }''')
    assert gw.get("/x?responseCode=503&succeedAfter=100&uuid=bad").status == 503
    assert "failed_outlier_check" not in "".join(gw.health().values())  # one failure of the two
    # not one of the statuses: the count starts again
    assert gw.get("/x?responseCode=500&succeedAfter=100&uuid=other").status == 500
    assert gw.get("/x?responseCode=503&succeedAfter=100&uuid=bad").status == 503
    assert "failed_outlier_check" not in "".join(gw.health().values())
    assert gw.get("/x?responseCode=503&succeedAfter=100&uuid=bad").status == 503
    assert wait_until(lambda: "failed_outlier_check" in "".join(gw.health().values())), gw.health()


def test_balancing_by_a_cookie_keeps_a_client_on_one_server(envoy_gateway):
    gw = envoy_gateway('''edge "t" {
      listen http 8080
      upstream app { server "127.0.0.1:1" server "127.0.0.1:2" server "127.0.0.1:3" sticky cookie "EDGE" ttl 1h }
      route all { forward app }
    }''', servers={"app": 3})
    first = gw.get("/")
    cookie = first.header("Set-Cookie")
    assert cookie and cookie.startswith("EDGE=") and "Max-Age=3600" in cookie
    value = cookie.split(";")[0]
    assert {gw.get("/", [("Cookie", value)]).echo()["backend"] for _ in range(10)} == {first.echo()["backend"]}


def test_the_rate_in_the_unit_nearest_the_burst_and_the_heaviest_upstream(compile_edge, tmp_path, crd_dir):
    from .test_routes import manifests
    docs = manifests(compile_edge, '''edge "t" {
      listen http 8080
      upstream a { server "10.0.0.1:80" balance hash uri }
      upstream b { server "10.0.0.2:80" balance least_conn }
      route r { match path prefix "/r" rate_limit 600/min burst 9 retries 2 on 502 backoff 100ms forward a }
      route s { match path prefix "/s" rate_limit 120/min forward a 90%, b 10% }
    }''', tmp_path, crd_dir, impl="envoy-gateway")
    policies = {d["metadata"]["name"]: d["spec"] for d in docs if d["kind"] == "BackendTrafficPolicy"}
    # 600/min holds 10/s, 600/min, …: 10 at once is nearest burst + 1
    assert policies["t-r"]["rateLimit"]["local"]["rules"][0]["limit"] == {"requests": 10, "unit": "Second"}
    assert policies["t-s"]["rateLimit"]["local"]["rules"][0]["limit"] == {"requests": 2, "unit": "Second"}  # burst 0
    assert policies["t-r"]["loadBalancer"] == {"type": "ConsistentHash", "consistentHash": {
        "type": "Header", "header": {"name": ":path"}}}
    assert policies["t-r"]["retry"] == {"numRetries": 2, "retryOn": {"triggers": ["retriable-status-codes"],
                                                                     "httpStatusCodes": [502]},
                                        "perRetry": {"backOff": {"baseInterval": "100ms", "maxInterval": "100ms"}}}
    # the heaviest upstream's settings hold for the rule's cluster
    assert policies["t-s"]["loadBalancer"] == policies["t-r"]["loadBalancer"]


def test_each_match_of_a_route_counts_on_its_own(envoy_gateway):
    # declared in rate_limit.client_ip: Envoy keeps a bucket per rule (each match, each host)
    gw = envoy_gateway('''edge "t" {
      listen http 8080
      upstream app { server "127.0.0.1:1" }
      route two { match path prefix "/a" match path prefix "/b" rate_limit 1/min forward app }
    }''')
    assert [gw.get(p).status for p in ("/a", "/a", "/b", "/b")] == [200, 429, 200, 429]


def test_circuit_breaker_refuses_what_does_not_fit(envoy_gateway, crd_dir, tmp_path):
    gw = envoy_gateway('''edge "t" {
      listen http 8080
      upstream app { server "127.0.0.1:1" circuit_breaker max_connections 2 max_pending 2 }
      route r { forward app }
    }''')
    (tmp_path / "manifests.yaml").write_text(gw.files["manifests.yaml"], encoding="utf-8")
    verdict = validate(tmp_path / "manifests.yaml", crd_dir)
    assert verdict["ok"], verdict["output"]
    answers = at_once.statuses(gw.ports[8080], 8, "/slow?delay=1")
    served, refused = answers.count(200), answers.count(503)
    # two connections and two places in the queue at most (Envoy also counts a request waiting
    # for a new connection to open as pending, so fewer may be served: the capability row)
    assert 2 <= served <= 4 and served + refused == 8, answers
    assert len(gw.echoes["app"].requests) == served
    # Envoy's own count of what the rule cluster's circuit breaker refused
    stats = send("http", "127.0.0.1", gw.admin_port, "GET", "/stats?filter=upstream_rq_pending_overflow$",
                 [("Host", "admin")]).body.decode()
    counts = [int(line.rsplit(":", 1)[1]) for line in stats.splitlines() if line.startswith("cluster.httproute")]
    assert sum(counts) == refused, stats


def test_a_failed_connection_is_a_502_unless_the_route_answers_503_itself(envoy_gateway):
    """Envoy answers a server that refuses the connection with its own 503: the route's
    responseOverride for Envoy's own answers (source Local) makes it edgec's 502, with the
    route's response headers; a backend's 503 is relayed as it is. A route whose circuit
    breaker refuses with 503 keeps Envoy's 503 for both (the upstream.circuit_breaker row)."""
    gw = envoy_gateway('''edge "t" {
      listen http 8080
      upstream app { server "127.0.0.1:1" }
      upstream dead { server "127.0.0.1:2" }
      upstream guarded { server "127.0.0.1:3" circuit_breaker max_connections 10 max_pending 10 }
      route gone { match path prefix "/gone" response_header set "X-Frame-Options" "DENY" forward dead }
      route retried { match path prefix "/retried" retries 2 forward dead }
      route app { match path prefix "/app" response_header set "X-Frame-Options" "DENY" forward app }
      route guarded { match path prefix "/guarded" forward guarded }
    }''', servers={"dead": "down", "guarded": "down"})
    gone = gw.get("/gone/x")
    assert (gone.status, gone.header("X-Frame-Options")) == (502, "DENY")
    assert gw.get("/retried/x").status == 502
    own = gw.get("/app/x?status=503")
    assert (own.status, own.header("X-Frame-Options")) == (503, "DENY") and own.echo() is not None
    assert gw.get("/guarded/x").status == 503
