"""Route policies over real HTTP: JWT (real keys, JWKS on loopback), basic, API keys, rate
limits, the response cache, CORS, header operations, rewrites, redirects, fixed responses,
aggregation."""
from __future__ import annotations

import base64
import hashlib
import http.client
import json
import logging
import socket
import time

import bcrypt
import jwt
import pytest

from tests.conftest import free_port
from tests.runtime.conftest import request
from tests.runtime.servers import HangingServer, JsonServer
from tests.support import aggregation, tokens


def _edge(port, upstreams: dict, body: str, top=""):
    ups = "\n".join(f'upstream {n} {{ server "{a}" }}' for n, a in upstreams.items())
    return f"""edge "t" {{
  listen http {port}
  {ups}
  {top}
  {body}
  access_log off
}}"""


# ---- JWT --------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def rsa_keys():
    return tokens.rsa_keys()


@pytest.fixture
def jwt_gateway(gateway, echo_servers, rsa_keys):
    jwks = JsonServer(rsa_keys[2])
    echo = echo_servers("a")["a"]
    port = free_port()
    gateway(_edge(port, {"a": echo.address}, """
      route api { match path prefix "/" auth main forward a }""", top=f"""
      auth jwt main {{ issuer "https://issuer.test/" jwks "{jwks.url}" audience "shop" algorithms RS256 }}"""))
    yield port, jwks
    jwks.stop()


def test_jwt_valid_token_passes_and_jwks_is_cached(jwt_gateway, rsa_keys):
    port, jwks = jwt_gateway
    token = tokens.token(rsa_keys[0])
    for _ in range(3):
        status, _, body = request(port, headers={"Authorization": f"Bearer {token}"})
        assert status == 200 and json.loads(body)["headers"]["authorization"] == f"Bearer {token}"
    assert jwks.hits == 1  # fetched at start, then served from the cache


@pytest.mark.parametrize("case", ["missing", "expired", "wrong_aud", "wrong_iss", "no_exp", "other_key",
                                  "alg_none", "hs256_with_public_key", "garbage", "unknown_kid"])
def test_jwt_refusals(jwt_gateway, rsa_keys, case):
    port, _ = jwt_gateway
    good, other, _ = rsa_keys
    tokens_ = tokens.refused(good, other)
    token = tokens_[case]
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    status, resp_headers, body = request(port, headers=headers)
    assert status == 401, body
    assert resp_headers["www-authenticate"].startswith("Bearer")


def test_jwt_hmac_secret_from_the_environment(gateway, echo_servers, monkeypatch):
    monkeypatch.setenv("TEST_JWT_SECRET", "s3cret-s3cret-s3cret-s3cret-s3cret")
    echo = echo_servers("a")["a"]
    port = free_port()
    gateway(_edge(port, {"a": echo.address}, 'route r { auth h rate_limit 100/min by claim "sub" forward a }',
                  top='auth jwt h { secret ${secret:TEST_JWT_SECRET} algorithms HS256 }'))
    good = jwt.encode({"sub": "u", "exp": int(time.time()) + 60}, "s3cret-s3cret-s3cret-s3cret-s3cret", algorithm="HS256")
    bad = jwt.encode({"sub": "u", "exp": int(time.time()) + 60}, "wrong-wrong-wrong-wrong-wrong-wrong", algorithm="HS256")
    assert request(port, headers={"Authorization": f"Bearer {good}"})[0] == 200
    assert request(port, headers={"Authorization": f"Bearer {bad}"})[0] == 401


# ---- basic and API keys --------------------------------------------------------------------------

def test_basic_auth_with_bcrypt_and_sha1_entries(gateway, echo_servers, tmp_path):
    htpasswd = tmp_path / "htpasswd"
    sha = base64.b64encode(hashlib.sha1(b"pw2").digest()).decode()
    htpasswd.write_text(f"alice:{bcrypt.hashpw(b'pw1', bcrypt.gensalt(4)).decode().replace('$2b$', '$2y$')}\n"
                        f"bob:{{SHA}}{sha}\n")
    echo = echo_servers("a")["a"]
    port = free_port()
    gateway(_edge(port, {"a": echo.address}, "route r { auth b forward a }",
                  top=f'auth basic b {{ htpasswd "{htpasswd}" realm "shop" }}'))

    def basic(user, pw):
        return {"Authorization": "Basic " + base64.b64encode(f"{user}:{pw}".encode()).decode()}
    assert request(port, headers=basic("alice", "pw1"))[0] == 200
    assert request(port, headers=basic("alice", "pw1"))[0] == 200  # the cached verification
    assert request(port, headers=basic("bob", "pw2"))[0] == 200
    status, headers, _ = request(port, headers=basic("alice", "wrong"))
    assert status == 401 and headers["www-authenticate"] == 'Basic realm="shop"'
    assert request(port, headers=basic("mallory", "pw1"))[0] == 401
    assert request(port)[0] == 401


def test_api_keys_from_file_and_secret(gateway, echo_servers, tmp_path, monkeypatch):
    monkeypatch.setenv("TEST_API_KEY", "key-from-env")
    keys = tmp_path / "keys"
    keys.write_text("# team keys\nkey-from-file\n")
    echo = echo_servers("a")["a"]
    port = free_port()
    gateway(_edge(port, {"a": echo.address}, "route r { auth k forward a }",
                  top=f'auth api_key k {{ header "X-API-Key" keys_file "{keys}" keys ${{secret:TEST_API_KEY}} }}'))
    assert request(port, headers={"X-API-Key": "key-from-file"})[0] == 200
    assert request(port, headers={"X-API-Key": "key-from-env"})[0] == 200
    assert request(port, headers={"X-API-Key": "key-from-fil"})[0] == 401
    assert request(port)[0] == 401


# ---- rate limit, cache, CORS, headers -----------------------------------------------------------

def test_refusals_on_a_route_carry_its_response_headers(gateway, echo_servers, monkeypatch):
    """docs/semantics.md: once a route has taken a request, its response header operations hold
    for the gateway's own refusals too (401, 429, 502, and 413 for a Content-Length over max_body,
    before the route's guards, as nginx); the edge's own lists refuse before any route takes it,
    without them."""
    monkeypatch.setenv("TEST_API_KEY", "key-1")
    echo = echo_servers("a")["a"]
    port = free_port()
    headers = 'response_header set "X-Frame-Options" "DENY" response_header add "Vary" "Origin"'
    gateway(_edge(port, {"a": echo.address, "dead": "127.0.0.1:1"}, f"""
        route keyed {{ match path prefix "/k" auth k {headers} forward a }}
        route limited {{ match path prefix "/l" rate_limit 2/min burst 1 {headers} forward a }}
        route down {{ match path prefix "/d" {headers} forward dead }}""",
                  top='auth api_key k { keys ${secret:TEST_API_KEY} }\n  trust_proxies "127.0.0.1"\n'
                      '  deny "203.0.113.0/24"\n  limits { max_body 1kb }'))
    refusals = [request(port, path="/k"), *[request(port, path="/l") for _ in range(3)][2:],
                request(port, path="/d"), request(port, "POST", "/k", body=b"x" * 1001)]
    assert [(status, h.get("x-frame-options"), h.get("vary")) for status, h, _ in refusals] == [
        (401, "DENY", "Origin"), (429, "DENY", "Origin"), (502, "DENY", "Origin"), (413, "DENY", "Origin")]
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:  # over it in the head's read
        s.sendall(b"POST /k HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3e9\r\n" + b"x" * 1001
                  + b"\r\n0\r\n\r\n")
        answer = s.recv(65536).lower()
    assert answer.startswith(b"http/1.1 413 ") and b"\r\nx-frame-options: deny\r\n" in answer
    status, h, _ = request(port, path="/k", headers={"X-Forwarded-For": "203.0.113.9"})
    assert status == 403 and "x-frame-options" not in h


def test_rate_limit_token_bucket(gateway, echo_servers):
    echo = echo_servers("a")["a"]
    port = free_port()
    gateway(_edge(port, {"a": echo.address}, """
      route limited { match path prefix "/l" rate_limit 2/min burst 2 forward a }
      route keyed { match path prefix "/k" rate_limit 1/min by header "X-User" forward a }
      route fast { match path prefix "/f" rate_limit 1/min forward a }"""))
    replies = [request(port, path="/l") for _ in range(5)]
    assert [r[0] for r in replies] == [200, 200, 200, 429, 429]  # burst 2 + 1
    # a refusal says when the next request is let through: one request's share of the window
    assert [r[1].get("retry-after") for r in replies] == [None, None, None, "30", "30"]
    # and names the limit as the IETF draft's RateLimit fields do
    assert [(r[1].get("ratelimit-policy"), r[1].get("ratelimit")) for r in replies[2:]] == [
        (None, None), ('"limited";q=2;w=60', '"limited";r=0;t=30'), ('"limited";q=2;w=60', '"limited";r=0;t=30')]
    assert [request(port, path="/f?status=429")[1].get("ratelimit") for _ in range(2)] == [None, '"fast";r=0;t=60']
    assert request(port, path="/k", headers={"X-User": "u1"})[0] == 200
    assert request(port, path="/k", headers={"X-User": "u1"})[0] == 429
    assert request(port, path="/k", headers={"X-User": "u2"})[0] == 200  # a separate bucket


def test_a_redis_that_stops_answering_leaves_the_limit_to_the_process(gateway, echo_servers, caplog):
    # a server that accepts and never answers: each request waits at most the Redis timeout
    silent = HangingServer()
    echo = echo_servers("a")["a"]
    port = free_port()
    try:
        with caplog.at_level(logging.WARNING, logger="edgec.runtime"):
            gateway(_edge(port, {"a": echo.address}, 'route r { rate_limit 2/min burst 1 forward a }'),
                    redis_url=f"redis://{silent.address}/0")
            statuses = [request(port, timeout=5)[0] for _ in range(4)]
        assert statuses == [200, 200, 429, 429]  # the in-process bucket: burst 1 + 1
        outages = [r for r in caplog.records if "Redis unavailable" in r.getMessage()]
        assert len(outages) == 1  # logged once, not per request
    finally:
        silent.stop()


def test_cache_hits_vary_and_bypass(gateway, echo_servers):
    echo = echo_servers("a")["a"]
    port = free_port()
    gateway(_edge(port, {"a": echo.address}, 'route r { cache 30s vary "Accept-Language" forward a }'))
    first = request(port, path="/item?id=1", headers={"Accept-Language": "en"})
    second = request(port, path="/item?id=1", headers={"Accept-Language": "en"})
    assert first[1]["x-cache-status"] == "MISS" and second[1]["x-cache-status"] == "HIT"
    assert first[2] == second[2] and len(echo.requests) == 1
    assert request(port, path="/item?id=1", headers={"Accept-Language": "de"})[1]["x-cache-status"] == "MISS"
    assert request(port, path="/item?id=2", headers={"Accept-Language": "en"})[1]["x-cache-status"] == "MISS"
    assert request(port, "POST", "/item?id=1", body=b"x")[1]["x-cache-status"] == "BYPASS"
    assert len(echo.requests) == 4


def test_a_cache_hit_is_limited_and_carries_the_route_headers(gateway, echo_servers):
    """As nginx's limit phase comes before its cache and add_header applies to what the cache
    answers: a hit counts against the route's rate limit and carries its response headers, as the
    limit's refusal does (docs/semantics.md)."""
    echo = echo_servers("a")["a"]
    port = free_port()
    gateway(_edge(port, {"a": echo.address}, """route r {
        rate_limit 2/min burst 1
        response_header add "X-Route" "cached"
        cache 60s
        forward a }"""))
    replies = []
    for _ in range(3):
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        c.request("GET", "/item")
        r = c.getresponse()
        r.read()
        replies.append((r.status, r.getheader("X-Cache-Status"), r.msg.get_all("X-Route")))
        c.close()
    assert replies == [(200, "MISS", ["cached"]), (200, "HIT", ["cached"]), (429, None, ["cached"])]
    assert len(echo.requests) == 1


def test_cache_expires_after_ttl(gateway, echo_servers):
    echo = echo_servers("a")["a"]
    port = free_port()
    gateway(_edge(port, {"a": echo.address}, "route r { cache 1s forward a }"))
    assert request(port)[1]["x-cache-status"] == "MISS"
    assert request(port)[1]["x-cache-status"] == "HIT"
    time.sleep(1.1)
    assert request(port)[1]["x-cache-status"] in ("EXPIRED", "MISS")  # MISS once swept away
    assert len(echo.requests) == 2


def test_cors_preflight_and_actual_request(gateway, echo_servers):
    echo = echo_servers("a")["a"]
    port = free_port()
    gateway(_edge(port, {"a": echo.address}, """route r {
        cors { origins "https://app.test" methods GET POST headers "X-Token" expose "X-Total" credentials max_age 10m }
        forward a }"""))
    status, h, _ = request(port, "OPTIONS", "/x", headers={"Origin": "https://app.test",
                                                            "Access-Control-Request-Method": "POST"})
    assert status == 204 and not echo.requests
    assert h["access-control-allow-origin"] == "https://app.test"
    assert h["access-control-allow-methods"] == "GET, POST"
    assert h["access-control-allow-headers"] == "X-Token"
    assert h["access-control-allow-credentials"] == "true" and h["access-control-max-age"] == "600"
    status, h, _ = request(port, "GET", "/x", headers={"Origin": "https://app.test"})
    assert status == 200 and h["access-control-expose-headers"] == "X-Total"
    status, h, _ = request(port, "GET", "/x", headers={"Origin": "https://evil.test"})
    assert "access-control-allow-origin" not in h
    assert request(port, "OPTIONS", "/x", headers={"Origin": "https://evil.test",
                                                   "Access-Control-Request-Method": "POST"})[0] == 403


def test_header_ops_and_rewrites(gateway, echo_servers):
    echo = echo_servers("a")["a"]
    port = free_port()
    gateway(_edge(port, {"a": echo.address}, """route r {
        match path prefix "/api"
        request_header set "X-Env" "test"
        request_header add "X-Tags" "edge"
        request_header remove "X-Debug"
        response_header set "X-Frame-Options" "DENY"
        response_header remove "X-Internal"
        strip_prefix "/api"
        rewrite host "internal.test"
        forward a }"""))
    status, h, body = request(port, path="/api/users?x=1", headers={
        "X-Tags": "client", "X-Debug": "1", "X-Echo-Set-Header": "X-Internal: secret"})
    seen = json.loads(body)
    assert status == 200 and seen["path"] == "/users?x=1" and seen["host"] == "internal.test"
    assert seen["headers"]["x-env"] == "test" and seen["headers"]["x-tags"] == "client,edge"
    assert "x-debug" not in seen["headers"]
    assert h["x-frame-options"] == "DENY" and "x-internal" not in h


def test_redirect_and_fixed_response(gateway, echo_servers):
    echo = echo_servers("a")["a"]
    port = free_port()
    gateway(_edge(port, {"a": echo.address}, """
      route old { match path prefix "/old" redirect 301 prefix "/new" }
      route ping { match path exact "/ping" respond 200 "pong" type "text/plain" }
      route gone { match path exact "/gone" respond 410 "" }"""))
    status, h, _ = request(port, path="/old/page?x=1", headers={"Host": "shop.test"})
    assert status == 301 and h["location"] == f"http://shop.test:{port}/new/page?x=1"
    assert request(port, path="/ping")[::2] == (200, b"pong")
    assert request(port, path="/gone")[0] == 410
    assert request(port, path="/nothing")[0] == 404 and not echo.requests


def test_aggregation_merges_parts_and_reports_failures(gateway, echo_servers):
    e = echo_servers("users", "orders")
    dead = free_port()
    port = free_port()
    gateway(_edge(port, {"users": e["users"].address, "orders": e["orders"].address, "down": f"127.0.0.1:{dead}"}, """
      route profile { match path exact "/profile"
          request_header set "X-Tenant" "t1"
          request_header remove "X-Debug"
          aggregate {
          user = get users "/me"
          orders = get orders "/orders?mine=1" } }
      route slow { match path exact "/slow" aggregate {
          user = get users "/me"
          orders = get orders "/orders?delay=2" timeout 200ms } }
      route broken { match path exact "/broken" aggregate {
          user = get users "/me"
          gone = get down "/x" } }"""))
    status, h, body = request(port, path="/profile", headers={"Authorization": "Bearer t", "X-Debug": "1"})
    merged = json.loads(body)
    assert status == 200 and h["content-type"] == "application/json"
    assert merged["user"]["path"] == "/me" and merged["orders"]["path"] == "/orders?mine=1"
    for part in ("user", "orders"):  # the route's request header operations reach every part
        seen = merged[part]["headers"]
        assert seen["authorization"] == "Bearer t" and seen["x-tenant"] == "t1" and "x-debug" not in seen
    status, _, body = request(port, path="/slow")
    merged = json.loads(body)
    assert status == 504 and merged["orders"] is None and merged["user"]["backend"] == "users"
    assert merged["errors"] == {"orders": {"error": "timeout", "status": 504}}
    status, _, body = request(port, path="/broken")
    assert status == 502 and json.loads(body)["errors"] == {"gone": {"error": "unavailable", "status": 502}}


def test_an_aggregation_part_larger_than_max_body_is_refused(gateway):
    big = JsonServer({"pad": "x" * 200_000})
    small = JsonServer({"ok": True})
    try:
        port = free_port()
        gateway(_edge(port, {"big": big.address, "small": small.address}, """
          route both { match path exact "/both" aggregate {
              small = get small "/"
              big = get big "/" } }""", top="limits { max_body 100kb }"))
        status, _, body = request(port, path="/both")
        merged = json.loads(body)
        assert status == 502 and merged["small"] == {"ok": True} and merged["big"] is None
        assert merged["errors"] == {"big": {"error": "too_large", "status": 502}}
    finally:
        big.stop()
        small.stop()


def test_mirror_sends_a_copy(gateway, echo_servers):
    e = echo_servers("main", "shadow")
    port = free_port()
    gateway(_edge(port, {"main": e["main"].address, "shadow": e["shadow"].address},
                  "route r { mirror shadow 100% forward main }"))
    status, _, body = request(port, path="/orders?id=7")
    assert status == 200 and b'"backend": "main"' in body
    deadline = time.monotonic() + 5
    while not e["shadow"].requests and time.monotonic() < deadline:
        time.sleep(0.02)
    assert [r["path"] for r in e["shadow"].requests] == ["/orders?id=7"]


def _mirrored(echo, n: int) -> list[dict]:
    deadline = time.monotonic() + 5
    while len(echo.requests) < n and time.monotonic() < deadline:
        time.sleep(0.02)
    return echo.requests


def test_mirror_copies_request_bodies(gateway, echo_servers):
    e = echo_servers("main", "shadow")
    port = free_port()
    gateway(_edge(port, {"main": e["main"].address, "shadow": e["shadow"].address},
                  "route r { mirror shadow 100% forward main }"))
    status, _, body = request(port, "POST", "/orders", body=b'{"item": 1}',
                              headers={"Content-Type": "application/json"})
    assert status == 200 and json.loads(body)["body"] == '{"item": 1}'
    seen = _mirrored(e["shadow"], 1)
    assert [(r["method"], r["path"], r["body"]) for r in seen] == [("POST", "/orders", '{"item": 1}')]
    assert seen[0]["headers"]["content-type"] == "application/json"
    # a chunked body arrives whole, framed by a Content-Length
    status, _, body = request(port, "PUT", "/orders/2", body=iter([b"abc", b"defg"]))  # sent chunked
    assert status == 200 and json.loads(body)["body"] == "abcdefg"
    seen = _mirrored(e["shadow"], 2)[1]
    assert (seen["method"], seen["body"]) == ("PUT", "abcdefg")
    assert seen["headers"]["content-length"] == "7" and "transfer-encoding" not in seen["headers"]


def test_an_aggregation_part_timeout_is_one_deadline_over_connecting_and_the_answer(gateway):
    with aggregation.slow_parts() as (slow, quick):
        port = free_port()
        gateway(aggregation.slow_edge(slow.address, quick.address, listen=f"listen http {port}"))
        assert aggregation.deadline_failures(f"http://127.0.0.1:{port}", slow, quick) == []
