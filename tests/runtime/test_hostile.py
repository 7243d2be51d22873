"""Hostile HTTP over raw sockets: malformed, oversized and smuggling requests each get
their status, nothing ambiguous reaches the backend, and the gateway keeps serving."""
from __future__ import annotations

import http.client
import socket

import pytest

from tests.conftest import free_port
from tests.runtime.conftest import request
from tests.support.hostile_http import CASES, EDGE, exchange


@pytest.fixture(scope="module")
def hostile_gateway():
    from tests.runtime.conftest import LiveRuntime, compile_text
    from edgec.harness.echo import EchoServer
    echo = EchoServer("a").start()
    port = free_port()
    rt = LiveRuntime(compile_text(EDGE.format(port=port, backend=echo.address))).start()
    yield port, echo
    rt.stop()
    echo.stop()


@pytest.mark.parametrize("name,data,status,_nginx", CASES, ids=[c[0] for c in CASES])
def test_hostile_request(hostile_gateway, name, data, status, _nginx):
    port, echo = hostile_gateway
    assert request(port)[0] == 200  # a kept-alive backend connection is ready: nothing waits for a connect
    before = len(echo.requests)
    out = exchange(port, data)
    assert out.startswith(b"HTTP/1.1 %d " % status), out[:200]
    assert out.count(b"HTTP/1.1 ") == 1  # one answer, and the connection closed after it
    assert b"Traceback" not in out
    assert not any(r["path"] == "/smuggled" for r in echo.requests[before:])
    assert len(echo.requests) == before + (status == 200)  # nothing else reached the backend
    assert request(port)[0] == 200  # and the gateway still serves


def test_slow_client_is_timed_out(hostile_gateway):
    port, _ = hostile_gateway
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")  # the head never ends
        out = s.recv(65536)  # within the client's 5 s only because header_timeout is 500ms
    assert out.startswith(b"HTTP/1.1 408 ")
    assert request(port)[0] == 200


def test_idle_keepalive_connection_is_closed(hostile_gateway):
    port, _ = hostile_gateway
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        assert s.recv(1) == b""  # idle_timeout 2s: closed with nothing sent, before the client's 5 s


def test_absolute_form_target_routes_on_its_own_host(gateway, echo_servers):
    """RFC 9112 §3.2.2: the host of an absolute-form target is the request's; Host is ignored."""
    echoes = echo_servers("public", "admin")
    _, port = gateway(f"""edge "t" {{
      listen http {free_port()}
      upstream public {{ server "{echoes['public'].address}" }}
      upstream admin {{ server "{echoes['admin'].address}" }}
      route admin {{ match host "admin.test" forward admin }}
      route public {{ match host "public.test" forward public }}
    }}""")
    out = exchange(port, b"GET http://admin.test/x?y=1 HTTP/1.1\r\nHost: public.test\r\nConnection: close\r\n\r\n")
    assert out.startswith(b"HTTP/1.1 200 ")
    assert not echoes["public"].requests
    got = echoes["admin"].requests[0]
    assert (got["path"], got["host"], got["headers"]["x-forwarded-host"]) == ("/x?y=1", "admin.test", "admin.test")
    out = exchange(port, b"GET HTTP://Public.Test HTTP/1.1\r\nHost: admin.test\r\nConnection: close\r\n\r\n")
    assert out.startswith(b"HTTP/1.1 200 ") and echoes["public"].requests[0]["path"] == "/"
    out = exchange(port, b"GET http://evil.example/x?/y HTTP/1.1\r\nHost: admin.test\r\n\r\n")
    assert out.startswith(b"HTTP/1.1 404 ")  # a host no route names: not the Host header's route


def test_invalid_host_is_refused_and_never_reflected(gateway, echo_servers):
    echo = echo_servers("a")["a"]
    plain, secure = free_port(), free_port()
    _, port = gateway(f"""edge "t" {{
      listen http {plain} {{ redirect https port {secure} }}
      listen http {secure}
      upstream a {{ server "{echo.address}" }}
      route r {{ forward a }}
    }}""")
    for host in (b"evil.example/x?", b"evil.example?x", b"a b", b"user@evil.example", b"evil.example#"):
        out = exchange(port, b"GET /p HTTP/1.1\r\nHost: " + host + b"\r\n\r\n")
        assert out.startswith(b"HTTP/1.1 400 ") and b"evil" not in out and b"location" not in out.lower(), out
    out = exchange(port, b"GET /p HTTP/1.1\r\nHost: Good.Example\r\nConnection: close\r\n\r\n")
    assert b"\r\nlocation: https://good.example:%d/p\r\n" % secure in out
    out = exchange(secure, b"GET /p HTTP/1.1\r\nHost: a..b\r\n\r\n")
    assert out.startswith(b"HTTP/1.1 400 ") and not echo.requests


def test_tab_before_a_transfer_coding_is_whitespace(hostile_gateway):
    """RFC 9112 §5: a tab before a field value is whitespace, so this is a chunked body
    (nginx answers 501: it keeps the tab in the value)."""
    port, echo = hostile_gateway
    out = exchange(port, b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding:\tchunked\r\nConnection: close\r\n\r\n"
                         b"3\r\nabc\r\n0\r\n\r\n")
    assert out.startswith(b"HTTP/1.1 200 ") and echo.requests[-1]["body"] == "abc"


def test_http09_request_is_closed_without_an_answer(hostile_gateway):
    port, echo = hostile_gateway
    before = len(echo.requests)
    for data in (b"GET /\r\n\r\n", b"GET /\r\n"):  # the second ends with header_timeout (500ms)
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            s.sendall(data)
            assert s.recv(65536) == b""
    assert len(echo.requests) == before


@pytest.mark.parametrize("data,status", [
    # a Connection header that keeps the connection open: the version is not 1.1 for sure
    (b"GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", 200),  # no Host needed before 1.1
    (b"GET /a HTTP/1.1\r\nConnection: keep-alive\r\n\r\n", 400),  # Host missing
    (b"POST /a HTTP/1.0\r\nTransfer-Encoding: chunked\r\nConnection: keep-alive\r\n\r\n0\r\n\r\n", 400),
    (b"GET /a HTTP/2.0\r\nHost: x\r\nConnection: keep-alive\r\n\r\n", 505),
    (b"GET /a HTTP/0.9\r\nHost: x\r\nConnection: keep-alive\r\n\r\n", None),  # closed unanswered
    (b"GET /a HTTP/1.1\r\nHost: x\r\nConnection: upgrade\r\n\r\n", 200),
], ids=["1.0 keep-alive", "1.1 keep-alive without Host", "1.0 keep-alive chunked", "2.0 keep-alive",
        "0.9 keep-alive", "1.1 Connection: upgrade"])
def test_the_request_version_under_each_connection_header(hostile_gateway, data, status):
    """The edge learns the request's version without asking the parser when only HTTP/1.1 can
    have kept the connection open (no Connection header): with one, each version is still told
    apart, and an HTTP/1.0 client asking to keep the connection keeps it."""
    port, echo = hostile_gateway
    before = len(echo.requests)
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(data)
        if status is None:
            assert s.recv(65536) == b""
            return
        r = http.client.HTTPResponse(s)
        r.begin()
        r.read()
        assert r.status == status
        if status != 200:
            return
        assert echo.requests[before]["path"] == "/a"
        if data.startswith(b"GET /a HTTP/1.0"):
            assert r.getheader("connection") == "keep-alive"
            s.sendall(b"GET /b HTTP/1.0\r\n\r\n")  # kept open: answered, then closed
            r = http.client.HTTPResponse(s)
            r.begin()
            r.read()
            assert r.status == 200 and r.getheader("connection") == "close"
            assert echo.requests[before + 1]["path"] == "/b"


def test_body_over_the_limit_is_answered_then_closed_cleanly(hostile_gateway):
    """The 413 is not lost to a reset while the client is still sending: the edge shuts its
    side and drops what comes until the client closes (nginx's lingering close)."""
    port, _ = hostile_gateway
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
        for _ in range(64):  # 64 KiB of body after the limit (1 KiB) was passed
            s.sendall(b"400\r\n" + b"a" * 1024 + b"\r\n")
        out = b""
        while chunk := s.recv(65536):  # a reset would raise ConnectionResetError here
            out += chunk
        s.sendall(b"400\r\n" + b"a" * 1024 + b"\r\n")  # still accepted: the edge reads and drops it
    assert out.startswith(b"HTTP/1.1 413 ") and out.count(b"HTTP/1.1 ") == 1
