"""The data path over real sockets: edge hygiene, keep-alive and pipelining, streamed and
chunked bodies, Expect: 100-continue, WebSocket upgrade, 502/504 without leaks."""
from __future__ import annotations

import http.client
import json
import re
import socket
import ssl

from tests.conftest import free_port
from tests.nginx.support import certificate
from tests.runtime.conftest import request
from tests.runtime.servers import (EarlyAnswerServer, EndlessHeadServer, HangingServer, OneAnswerServer,
                                   UpgradeServer, WebSocketEchoServer, upgrade_roundtrip)


def _edge(port, servers, extra="", route_extra="", upstream_extra=""):
    lines = "\n".join(f'server "{s}"' for s in servers)
    return f"""edge "t" {{
  listen http {port}
  upstream app {{ {lines} {upstream_extra} }}
  route r {{ match path prefix "/" {route_extra} forward app }}
  access_log off
  {extra}
}}"""


def _raw(port, data: bytes, timeout=5.0) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(data)
        out = b""
        try:
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                out += chunk
        except socket.timeout:
            pass
        return out


def test_forwarded_headers_hop_by_hop_and_backend_identity(gateway, echo_servers):
    echo = echo_servers("a")["a"]
    _, port = gateway(_edge(free_port(), [echo.address]))
    status, headers, body = request(port, path="/p?q=1", headers={
        "Host": "shop.test", "X-Forwarded-For": "6.6.6.6", "X-Real-IP": "6.6.6.6", "Connection": "X-Secret",
        "X-Secret": "drop me", "Keep-Alive": "timeout=5", "Proxy-Connection": "keep-alive",
        "X-Echo-Set-Header": "X-Powered-By: php, Server: secret-backend, X-Kept: yes"})
    seen = json.loads(body)
    assert status == 200 and seen["path"] == "/p?q=1" and seen["host"] == "shop.test"
    h = seen["headers"]
    assert h["x-forwarded-for"] == "127.0.0.1"  # the client's own value is not trusted
    assert h["x-real-ip"] == "127.0.0.1"
    assert h["x-forwarded-proto"] == "http" and h["x-forwarded-host"] == "shop.test"
    for gone in ("x-secret", "keep-alive", "proxy-connection"):
        assert gone not in h
    assert "x-powered-by" not in headers and headers.get("server") != "secret-backend"
    assert headers["x-kept"] == "yes"
    assert h["x-request-id"] == headers["x-request-id"]


def test_request_id_propagated(gateway, echo_servers):
    echo = echo_servers("a")["a"]
    _, port = gateway(_edge(free_port(), [echo.address]))
    _, headers, body = request(port, headers={"X-Request-Id": "abc-123"})
    assert headers["x-request-id"] == "abc-123" and json.loads(body)["headers"]["x-request-id"] == "abc-123"
    _, headers, _ = request(port, headers={"X-Request-Id": "bad id\twith spaces"})
    assert headers["x-request-id"] != "bad id\twith spaces"


def test_trusted_proxy_values_are_kept(gateway, echo_servers):
    echo = echo_servers("a")["a"]
    _, port = gateway(_edge(free_port(), [echo.address], extra='trust_proxies "127.0.0.1"'))
    _, _, body = request(port, headers={"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https"})
    h = json.loads(body)["headers"]
    assert h["x-forwarded-for"] == "203.0.113.7, 127.0.0.1"
    assert h["x-real-ip"] == "203.0.113.7"
    assert h["x-forwarded-proto"] == "https"


def test_keepalive_and_pipelining_keep_order(gateway, echo_servers):
    echo = echo_servers("a")["a"]
    _, port = gateway(_edge(free_port(), [echo.address]))
    reqs = b"".join(b"GET /n%d HTTP/1.1\r\nHost: x\r\n\r\n" % i for i in range(5))
    reqs += b"GET /last HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    out = _raw(port, reqs)
    assert re.findall(rb'"path": "([^"]*)"', out) == [b"/n0", b"/n1", b"/n2", b"/n3", b"/n4", b"/last"]
    assert out.count(b"HTTP/1.1 200 OK") == 6


def test_chunked_request_body_streams_to_backend(gateway, echo_servers):
    echo = echo_servers("a")["a"]
    _, port = gateway(_edge(free_port(), [echo.address]))
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    c.request("POST", "/upload", body=iter([b"hello ", b"chunked ", b"world"]),
              headers={"Transfer-Encoding": "chunked"}, encode_chunked=True)
    r = c.getresponse()
    seen = json.loads(r.read())
    assert r.status == 200 and seen["body"] == "hello chunked world"
    assert seen["headers"]["transfer-encoding"] == "chunked"


def test_expect_100_continue(gateway, echo_servers):
    echo = echo_servers("a")["a"]
    _, port = gateway(_edge(free_port(), [echo.address]))
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(b"PUT /x HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n")
        assert s.recv(100).startswith(b"HTTP/1.1 100 Continue\r\n\r\n")
        s.sendall(b"hello")
        r = http.client.HTTPResponse(s)
        r.begin()
        seen = json.loads(r.read())
    assert r.status == 200 and seen["body"] == "hello" and "expect" not in seen["headers"]


def test_large_response_streams_with_content_length(gateway, echo_servers):
    echo = echo_servers("a")["a"]
    _, port = gateway(_edge(free_port(), [echo.address]))
    payload = b"x" * 300_000
    status, headers, body = request(port, "POST", "/big", body=payload)
    assert status == 200 and len(json.loads(body)["body"]) == 300_000
    assert int(headers["content-length"]) == len(body)


def test_websocket_upgrade_is_tunnelled(gateway):
    ws = UpgradeServer()
    try:
        _, port = gateway(_edge(free_port(), [ws.address]))
        head, got = upgrade_roundtrip(port)
        assert head.startswith(b"HTTP/1.1 101") and b"upgrade: websocket" in head.lower()
        assert got == b"PING FRAME"
        assert "upgrade: websocket" in ws.request_head.lower()
        assert "sec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==".lower() in ws.request_head.lower()
    finally:
        ws.stop()


def test_websocket_client_and_server_talk_through_the_edge(gateway):
    """A real WebSocket client (the websockets library) through the edge to a real
    WebSocket server: the handshake, text and binary messages both ways, a 1 MB message, the
    closing handshake."""
    from websockets.sync.client import connect
    backend = WebSocketEchoServer()
    try:
        _, port = gateway(_edge(free_port(), [backend.address]))
        with connect(f"ws://127.0.0.1:{port}/chat", max_size=None, open_timeout=5) as ws:
            assert ws.response.status_code == 101 and "x-request-id" in ws.response.headers
            ws.send("hello")
            assert ws.recv(timeout=5) == "/chathello"
            ws.send(b"\x00\xff")
            assert ws.recv(timeout=5) == b"/chat\x00\xff"
            big = "x" * 1_000_000
            ws.send(big)
            assert ws.recv(timeout=10) == "/chat" + big
        assert ws.close_code == 1000  # the closing handshake went through the tunnel
        assert request(port, path="/after")[0] == 426  # the edge serves on: a plain GET to a WebSocket server
    finally:
        backend.stop()


def test_upgrade_the_backend_refuses_is_an_http_answer(gateway, echo_servers):
    """A backend that answers an Upgrade request without 101 (here: one that ignores Upgrade)
    gives an ordinary answer, whole, and the connection goes on in HTTP/1.1 (as nginx)."""
    echo = echo_servers("a")["a"]
    _, port = gateway(_edge(free_port(), [echo.address]))
    out = _raw(port, b"GET /one HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n"
                     b"HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\nGET /two HTTP/1.1\r\nHost: x\r\n\r\n", timeout=1.0)
    answers = out.split(b"HTTP/1.1 ")[1:]
    assert len(answers) == 2 and all(a.startswith(b"200 OK\r\n") for a in answers), out
    assert b"content-type: application/json" in answers[0].lower() and b"connection: close" not in out.lower()
    assert echo.requests[0]["headers"]["upgrade"] == "h2c"
    assert [r["path"] for r in echo.requests] == ["/one", "/two"]


def test_stale_keepalive_connection_is_not_a_server_failure(gateway):
    """A reused connection the server had closed is sent again on another, and the server,
    which never saw the request, is not counted failed (passive max_fails 1 would eject it)."""
    backend = OneAnswerServer()
    try:
        _, port = gateway(_edge(free_port(), [backend.address], extra='metrics "/metrics"'))
        for _ in range(5):
            assert request(port)[0] == 200
        metrics = request(port, path="/metrics")[2].decode()
        assert re.search(r'^edge_upstream_up\{[^}]*\} 1\.0$', metrics, re.M)
        assert "edge_upstream_failures_total{" not in metrics or re.search(
            r'^edge_upstream_failures_total\{[^}]*\} 0\.0$', metrics, re.M)
    finally:
        backend.stop()


def test_dead_backend_is_502_without_detail(gateway):
    dead = free_port()
    _, port = gateway(_edge(free_port(), [f"127.0.0.1:{dead}"]))
    status, headers, body = request(port)
    assert status == 502 and headers["content-type"] == "application/json"
    assert b"Traceback" not in body and b"127.0.0.1" not in body and b"refused" not in body.lower()


def test_a_response_head_that_never_ends_is_502(gateway):
    endless = EndlessHeadServer()
    try:
        _, port = gateway(_edge(free_port(), [endless.address]))
        status, _, body = request(port, timeout=10)
        assert status == 502 and b"X-Pad" not in body
        assert request(port)[0] == 502  # and the edge serves on
    finally:
        endless.stop()


def test_hanging_backend_is_504_within_the_read_timeout(gateway):
    hang = HangingServer()
    try:
        _, port = gateway(_edge(free_port(), [hang.address], upstream_extra="read_timeout 300ms"))
        # the client gives up after 3 s: an answer at all means the 300 ms timeout fired
        status, _, body = request(port, timeout=3)
        assert status == 504 and b"Traceback" not in body
    finally:
        hang.stop()


def test_a_backend_answering_before_the_body_is_sent_is_not_reused(gateway):
    # the rest of the body would reach the backend ahead of the next request on a reused
    # connection, and be read as a request of its own (a desynchronised connection)
    early = EarlyAnswerServer()
    try:
        _, port = gateway(_edge(free_port(), [early.address]))
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            s.sendall(b"POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: 20\r\n\r\n0123456789")
            answer = s.recv(65536)
            assert answer.startswith(b"HTTP/1.1 200") and answer.endswith(b"early")
            s.sendall(b"ABCDEFGHIJ")  # the rest of the body, after the answer
            s.sendall(b"GET /next HTTP/1.1\r\nHost: a\r\n\r\n")  # the client connection serves on
            answer = s.recv(65536)
            assert answer.startswith(b"HTTP/1.1 200") and answer.endswith(b"early")
        assert len(early.received) == 2, [bytes(r) for r in early.received]
        first, second = (bytes(r) for r in early.received)
        assert first.startswith(b"POST /upload ") and b"GET /next" not in first
        assert second.startswith(b"GET /next ")
    finally:
        early.stop()


def test_a_body_held_back_for_a_full_backend_is_released_when_it_answers(gateway):
    # the backend stops reading (the edge stops reading the client's body), then answers:
    # the client's connection must read again, drop the unwanted rest and serve on
    early = EarlyAnswerServer(answer_after_s=1.0)
    body = 16 * 1024 * 1024
    try:
        _, port = gateway(_edge(free_port(), [early.address], extra="limits { max_body 64mb }"))
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            s.sendall(b"PUT /big HTTP/1.1\r\nHost: a\r\nContent-Length: %d\r\n\r\n" % body)
            s.sendall(b"x" * body)  # returns only once the edge reads it all again
            s.sendall(b"GET /next HTTP/1.1\r\nHost: a\r\n\r\n")
            answers = b""
            while answers.count(b"early") < 2:
                chunk = s.recv(65536)
                assert chunk, answers
                answers += chunk
        assert answers.count(b"HTTP/1.1 200") == 2
        assert early.received[0].startswith(b"PUT /big ") and b"GET /next " in early.received[-1]
    finally:
        early.stop()


def test_https_http11_bodies_larger_than_a_read_arrive_whole(gateway, echo_servers, tmp_path):
    # a TLS listener's HTTP/1.1 connection is read into the process's one buffer (server.BufferedReads):
    # a body of many reads, on two connections in turn, must come out byte for byte
    echo = echo_servers("a")["a"]
    cert, key = certificate()
    (tmp_path / "c.pem").write_bytes(cert)
    (tmp_path / "k.pem").write_bytes(key)
    port = free_port()
    _, port = gateway(_edge(port, [echo.address], extra="limits { max_body 8mb }").replace(
        f"listen http {port}", f'listen https {port} {{ tls cert "{tmp_path}/c.pem" key "{tmp_path}/k.pem" }}'))
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    payload = bytes(range(32, 127)) * 20_000  # 1.9 MB
    for _ in range(2):
        c = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=10)
        c.request("POST", "/big", body=payload, headers={"Host": "a"})
        r = c.getresponse()
        assert r.status == 200 and json.loads(r.read())["body"].encode() == payload
        c.request("GET", "/next", headers={"Host": "a"})  # the same connection serves on
        assert json.loads(c.getresponse().read())["path"] == "/next"
        c.close()
