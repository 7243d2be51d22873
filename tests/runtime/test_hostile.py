"""Hostile HTTP over raw sockets: malformed, oversized and smuggling requests each get
their status, nothing ambiguous reaches the backend, and the gateway keeps serving."""
from __future__ import annotations

import socket

import pytest

from tests.conftest import free_port
from tests.runtime.conftest import request

LONG = "x" * 1100

CASES = [
    # (name, raw request, expected status)
    ("content-length and transfer-encoding",
     b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
    ("duplicate content-length, different", b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", 400),
    ("duplicate content-length, same", b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc", 400),
    ("content-length list", b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3, 3\r\n\r\nabc", 400),
    ("negative content-length", b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", 400),
    ("transfer-encoding gzip, chunked", b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", 501),
    ("transfer-encoding chunked, gzip", b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n", 400),
    ("transfer-encoding xchunked", b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n", 501),
    ("bad chunk size", b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n", 400),
    ("space before colon", b"GET / HTTP/1.1\r\nHost : x\r\n\r\n", 400),
    ("obsolete line folding", b"GET / HTTP/1.1\r\nHost: x\r\nX-A: a\r\n b\r\n\r\n", 400),
    ("bare LF", b"GET / HTTP/1.1\nHost: x\n\n", 400),
    ("NUL in a header value", b"GET / HTTP/1.1\r\nHost: x\r\nX-A: a\x00b\r\n\r\n", 400),
    ("garbage request line", b"HELLO\r\n\r\n", 400),
    ("HTTP/2 preface on an HTTP/1 port", b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 400),
    ("HTTP/1.1 without Host", b"GET / HTTP/1.1\r\n\r\n", 400),
    ("two Host headers", b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400),
    ("encoded NUL in the path", b"GET /a%00b HTTP/1.1\r\nHost: x\r\n\r\n", 400),
    ("dot-dot above the root", b"GET /../etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n", 400),
    ("unsupported expectation", b"GET / HTTP/1.1\r\nHost: x\r\nExpect: magic\r\n\r\n", 417),
    ("header line too large", b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + LONG.encode() + b"\r\n\r\n", 431),
    ("too many headers", b"GET / HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-%d: y\r\n" % i for i in range(25)) + b"\r\n", 431),
    ("request line too long", b"GET /" + LONG.encode() + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414),
    ("declared body too large", b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n", 413),
    ("chunked body too large", b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
     + b"400\r\n" + b"a" * 1024 + b"\r\n" + b"400\r\n" + b"a" * 1024 + b"\r\n0\r\n\r\n", 413),
    ("smuggled second request after a bad one",
     b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n"
     b"0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n", 400),
]

# errors found in a body that was already streaming: the backend got the head, then its
# connection is cut before the body ends
STREAMED_BODY_ERRORS = {"bad chunk size", "chunked body too large"}


@pytest.fixture(scope="module")
def hostile_gateway():
    from tests.runtime.conftest import LiveRuntime, compile_text
    from tests.support.echo import EchoServer
    echo = EchoServer("a").start()
    port = free_port()
    rt = LiveRuntime(compile_text(f"""edge "t" {{
      listen http {port}
      upstream a {{ server "{echo.address}" }}
      route r {{ forward a }}
      limits {{ max_body 1kb max_header_size 1kb max_headers 20 header_timeout 500ms idle_timeout 2s }}
      access_log off
    }}""")).start()
    yield port, echo
    rt.stop()
    echo.stop()


def _exchange(port: int, data: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(data)
        out = b""
        while True:
            try:
                chunk = s.recv(65536)
            except (ConnectionResetError, socket.timeout):
                break
            if not chunk:
                break
            out += chunk
    return out


@pytest.mark.parametrize("name,data,status", CASES, ids=[c[0] for c in CASES])
def test_hostile_request(hostile_gateway, name, data, status):
    port, echo = hostile_gateway
    before = len(echo.requests)
    out = _exchange(port, data)
    assert out.startswith(b"HTTP/1.1 %d " % status), out[:200]
    assert out.count(b"HTTP/1.1 ") == 1  # one answer, and the connection closed after it
    assert b"Traceback" not in out
    assert not any(r["path"] == "/smuggled" for r in echo.requests[before:])
    if name not in STREAMED_BODY_ERRORS:
        assert len(echo.requests) == before  # nothing reached the backend
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
