"""`auth external` through a real gateway: one edge and one set of requests every target's
test drives, with an echo backend as the authorization service (it answers the status the
client's query asks for, waits `delay`, and sets the response headers X-Echo-Set-Header
names, see tests/support/echo.py) and a dead port as a service that is down.

    with external_auth.services() as (app, authz, dead_port):
        source = external_auth.edge(app.address, authz.address, dead_port)   # build and start it, then
        assert external_auth.failures(base_url, app, authz) == []
"""
from __future__ import annotations

import contextlib
import http.client
import socket
import time
from urllib.parse import urlsplit

from edgec.harness.echo import EchoServer

from .slow_accept import SlowToAccept, ask, slow_pair

TIMEOUT_S = 1  # the auth's timeout; the slow service answers after SLOW_S
SLOW_S = 4


def edge(app: str, authz: str, dead_port: int, listen: str = "") -> str:
    """The edge with its upstream at `app` and its authorization service at `authz` (host:port)."""
    return f'''edge "authz" {{
  {listen}
  upstream app {{
    server "{app}"
  }}
  auth external checker {{
    url "http://{authz}/check"
    forward_headers "X-Echo-Set-Header" "X-Request-Id"
    copy_headers "X-User"
    timeout {TIMEOUT_S}s
  }}
  auth external gone {{
    url "http://127.0.0.1:{dead_port}/check"
    timeout {TIMEOUT_S}s
  }}
  route api {{
    match path prefix "/api"
    auth checker
    forward app
  }}
  route fixed {{
    match path exact "/api/fixed"
    auth checker
    respond 200 "ok"
  }}
  route down {{
    match path prefix "/down"
    auth gone
    forward app
  }}
}}
'''


@contextlib.contextmanager
def services(authz_port: int = 0, dead_port: int = 0):
    """The backend, the authorization service and a port nothing listens on."""
    if not dead_port:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            dead_port = s.getsockname()[1]  # closed when the block ends: connections are refused
    with EchoServer("app") as app, EchoServer("authz", port=authz_port) as authz:
        yield app, authz, dead_port


# (name, method, path, request headers, body, expected status,
#  what the backend must see: {header: value or None for absent}, or None: never reached)
CASES = [
    ("allowed", "GET", "/api/a?x=1", {"Authorization": "Bearer t1", "X-Echo-Set-Header": "X-User: alice",
                                      "X-User": "mallory"}, b"", 200, {"x-user": "alice"}),
    ("allowed, the client's copy header dropped", "GET", "/api/b", {"X-User": "mallory"}, b"", 200,
     {"x-user": None}),
    ("allowed, the client's request id", "GET", "/api/r", {"X-Request-Id": "req-7"}, b"", 200,
     {"x-request-id": "req-7"}),
    ("allowed, a request id the edge replaces", "GET", "/api/r", {"X-Request-Id": "bad id!"}, b"", 200, {}),
    ("allowed POST, body to the backend only", "POST", "/api/p", {"Content-Type": "text/plain"}, b"hello", 200,
     {}),
    ("denied 401", "GET", "/api/c?status=401", {}, b"", 401, None),
    ("denied 403", "GET", "/api/c?status=403", {}, b"", 403, None),
    ("service error", "GET", "/api/c?status=500", {}, b"", 503, None),
    ("service timeout", "GET", f"/api/c?delay={SLOW_S}", {}, b"", 503, None),
    ("service down", "GET", "/down/x", {}, b"", 503, None),
    ("allowed, the edge's own answer", "GET", "/api/fixed", {}, b"", 200, None),
    ("denied before the edge's own answer", "GET", "/api/fixed?status=403", {}, b"", 403, None),
]


def failures(base_url: str, app: EchoServer, authz: EchoServer, cases=CASES) -> list[str]:
    """Every case sent to the gateway; what went wrong, in words (empty: all passed)."""
    out = []
    url = urlsplit(base_url)
    for name, method, path, headers, body, status, backend in cases:
        app.requests.clear()
        authz.requests.clear()
        conn = http.client.HTTPConnection(url.hostname, url.port, timeout=SLOW_S + 10)
        t0 = time.monotonic()
        try:
            conn.request(method, path, body=body or None, headers=headers)
            response = conn.getresponse()
            response.read()
        finally:
            conn.close()
        took = time.monotonic() - t0
        seen = list(app.requests)
        if response.status != status:
            out.append(f"{name}: status {response.status}, expected {status}")
        if name == "service timeout" and took > SLOW_S - 0.5:
            out.append(f"{name}: answered after {took:.1f}s, not at the {TIMEOUT_S}s timeout")
        if backend is None:
            if seen:
                out.append(f"{name}: reached the backend")
            continue
        if len(seen) != 1:
            out.append(f"{name}: the backend saw {len(seen)} requests")
            continue
        for header, value in backend.items():
            if seen[0]["headers"].get(header) != value:
                out.append(f"{name}: backend header {header} = {seen[0]['headers'].get(header)!r}, expected {value!r}")
        if seen[0]["body"] != body.decode():
            out.append(f"{name}: backend body {seen[0]['body']!r}")
        checks = [r for r in authz.requests if r["path"].startswith("/check")]
        if len(checks) != 1:
            out.append(f"{name}: the authorization service saw {len(checks)} checks")
            continue
        check = checks[0]
        if (check["method"], check["path"]) != (method, "/check" + path):
            out.append(f"{name}: check request {check['method']} {check['path']}, expected {method} /check{path}")
        if check["host"] != f"{url.hostname}:{url.port}":
            out.append(f"{name}: the check request's Host is {check['host']!r}, not the client's")
        if check["body"]:
            out.append(f"{name}: the check request carried a body")
        if check["headers"].get("x-request-id") != seen[0]["headers"].get("x-request-id"):
            out.append(f"{name}: the check's request id {check['headers'].get('x-request-id')!r} is not the "
                       f"backend's {seen[0]['headers'].get('x-request-id')!r}")
        if "authorization" in {k.lower() for k in headers} and \
                check["headers"].get("authorization") != headers["Authorization"]:
            out.append(f"{name}: Authorization did not reach the authorization service")
    return out


def slow_edge(app: str, slow: str, quick: str, listen: str = "", warm: bool = False) -> str:
    """Two auths whose services take about a second to connect to (slow_services); `warm` adds
    a route /warm whose check asks the backend `app` itself, which answers at once (warm_up)."""
    warming = f'''
  auth external warm {{
    url "http://{app}/check"
    timeout {DEADLINE_S}s
  }}
  route warm {{
    match path prefix "/warm"
    auth warm
    forward app
  }}''' if warm else ""
    return f'''edge "slow_authz" {{
  {listen}
  upstream app {{
    server "{app}"
  }}{warming}
  auth external slow {{
    url "http://{slow}/check"
    timeout {DEADLINE_S}s
  }}
  auth external quick {{
    url "http://{quick}/check"
    timeout {DEADLINE_S}s
  }}
  route slow {{
    match path prefix "/slow"
    auth slow
    forward app
  }}
  route quick {{
    match path prefix "/quick"
    auth quick
    forward app
  }}
}}
'''


DEADLINE_S = 3  # the auth's timeout


def slow_services(slow_port: int = 0, quick_port: int = 0):
    """Two services that take about a second to connect to (slow_accept.slow_pair)."""
    return slow_pair(DEADLINE_S, slow_port, quick_port)


def warm_up(base_url: str, app: EchoServer) -> list[str]:
    """A request through slow_edge's warm route, before the timed ones: a gateway that starts
    cold (a JVM loading and compiling its client on the first check) has made a check and
    forwarded a request by then, so the timed requests measure the deadline, not the start."""
    url = urlsplit(base_url)
    app.requests.clear()
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=DEADLINE_S + 10)
    try:
        conn.request("GET", "/warm/a")
        response = conn.getresponse()
        response.read()
    finally:
        conn.close()
    paths = [r["path"] for r in app.requests]
    expected = ["/check/warm/a", "/warm/a"]
    return [] if (response.status, paths) == (200, expected) else [
        f"/warm/a: status {response.status}, the backend saw {paths}; expected 200 and {expected}"]


def deadline_failures(base_url: str, app: EchoServer, slow: SlowToAccept, quick: SlowToAccept) -> list[str]:
    """The timeout is one deadline over connecting and the answer: a check whose connection
    and answer each fit in it but not together fails (503) without waiting for the answer, and
    one whose sum fits lets the request through (a gateway that starts cold: warm_up first)."""
    out = []
    for path, service, status in (("/quick/a", quick, 200), ("/slow/a", slow, 503)):
        app.requests.clear()
        got, _, timing = ask(base_url, path, service, DEADLINE_S, gives_up=status == 503)
        out += timing
        if got != status:
            out.append(f"{path}: status {got}, expected {status}")
        if (status == 200) != bool(app.requests):
            out.append(f"{path}: the backend saw {len(app.requests)} requests")
    return out
