"""Malformed, oversized and ambiguous HTTP/1.1 requests, each with the answer of the runtime
and the answer of nginx (Debian's nginx 1.22 running the config the nginx target makes of
EDGE): tests/runtime/test_hostile.py holds the runtime to the first, tests/nginx/test_hostile_http.py
checks the second against the real nginx. docs/runtime.md shows them side by side."""
from __future__ import annotations

import socket

# every case is sent to a listener with these limits, with one upstream behind it
EDGE = """edge "t" {{
  listen http {port}
  upstream a {{ server "{backend}" }}
  route r {{ forward a }}
  limits {{ max_body 1kb max_header_size 1kb max_headers 20 header_timeout 500ms idle_timeout 2s }}
  access_log off
}}"""

LONG = "x" * 1100

CASES = [
    # (name, raw request, the runtime's status, nginx's status)
    ("content-length and transfer-encoding",
     b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400, 400),
    ("duplicate content-length, different", b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", 400, 400),
    ("duplicate content-length, same", b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc", 400, 400),
    ("content-length list", b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3, 3\r\n\r\nabc", 400, 400),
    ("negative content-length", b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", 400, 400),
    ("transfer-encoding gzip, chunked", b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", 501, 501),
    ("transfer-encoding chunked, gzip", b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n", 400, 501),
    ("transfer-encoding xchunked", b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n", 501, 501),
    ("bad chunk size", b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n", 400, 400),
    ("space before colon", b"GET / HTTP/1.1\r\nHost : x\r\n\r\n", 400, 400),
    ("obsolete line folding", b"GET / HTTP/1.1\r\nHost: x\r\nX-A: a\r\n b\r\n\r\n", 400, 400),
    ("bare LF", b"GET / HTTP/1.1\nHost: x\n\n", 400, 200),
    ("NUL in a header value", b"GET / HTTP/1.1\r\nHost: x\r\nX-A: a\x00b\r\n\r\n", 400, 400),
    ("garbage request line", b"HELLO\r\n\r\n", 400, 400),
    ("HTTP/2 preface on an HTTP/1 port", b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 400, 400),
    ("HTTP/1.1 without Host", b"GET / HTTP/1.1\r\n\r\n", 400, 400),
    ("two Host headers", b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400, 400),
    ("encoded NUL in the path", b"GET /a%00b HTTP/1.1\r\nHost: x\r\n\r\n", 400, 400),
    ("dot-dot above the root", b"GET /../etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n", 400, 400),
    ("unsupported expectation", b"GET / HTTP/1.1\r\nHost: x\r\nExpect: magic\r\n\r\n", 417, 200),
    ("header line too large", b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + LONG.encode() + b"\r\n\r\n", 431, 400),
    ("too many headers", b"GET / HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-%d: y\r\n" % i for i in range(25)) + b"\r\n", 431, 200),
    ("request line too long", b"GET /" + LONG.encode() + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414, 414),
    ("declared body too large", b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n", 413, 413),
    ("chunked body too large", b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
     + b"400\r\n" + b"a" * 1024 + b"\r\n" + b"400\r\n" + b"a" * 1024 + b"\r\n0\r\n\r\n", 413, 413),
    ("smuggled second request after a bad one",
     b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n"
     b"0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n", 400, 400),
    ("request head over 4 x max_header_size", b"GET / HTTP/1.1\r\nHost: x\r\n"
     + b"".join(b"X-%02d: %s\r\n" % (i, b"v" * 990) for i in range(19)) + b"\r\n", 431, 400),
    ("Host with a space", b"GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 400, 400),
    ("Host list", b"GET / HTTP/1.1\r\nHost: a, b\r\n\r\n", 400, 400),
    ("Host with a path", b"GET / HTTP/1.1\r\nHost: evil.example/x?\r\n\r\n", 400, 400),
    ("Host with ..", b"GET / HTTP/1.1\r\nHost: a..b\r\n\r\n", 400, 400),
    ("empty Host", b"GET / HTTP/1.1\r\nHost: \r\n\r\n", 400, 400),
    ("empty Host, HTTP/1.0", b"GET / HTTP/1.0\r\nHost: \r\n\r\n", 400, 400),
    ("Host with a query", b"GET / HTTP/1.1\r\nHost: evil.example?x\r\n\r\n", 400, 200),
    ("Host with userinfo", b"GET / HTTP/1.1\r\nHost: user@evil.example\r\n\r\n", 400, 200),
    ("Host with a port that is no number", b"GET / HTTP/1.1\r\nHost: a:b\r\n\r\n", 400, 200),
    ("CONNECT", b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n", 400, 400),
    ("TRACE", b"TRACE / HTTP/1.1\r\nHost: x\r\n\r\n", 405, 405),
    ("HTTP/1.0 with Transfer-Encoding",
     b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n", 400, 400),
    ("HTTP/2.0 in the request line", b"GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505, 505),
    ("HTTP/3.0 in the request line", b"GET / HTTP/3.0\r\nHost: x\r\n\r\n", 505, 505),
    ("HTTP/1.2 in the request line", b"GET / HTTP/1.2\r\nHost: x\r\n\r\n", 505, 200),
    # one answer, then the connection closes: the pipelined request is not read
    ("HTTP/1.0, then a pipelined request", b"GET / HTTP/1.0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n", 200, 200),
    ("Connection: close, then a pipelined request",
     b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n", 200, 200),
]


def exchange(port: int, data: bytes, timeout: float = 5.0) -> bytes:
    """Send `data` on a fresh connection; every byte answered until the server closes it
    (or says nothing more for `timeout`)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
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
