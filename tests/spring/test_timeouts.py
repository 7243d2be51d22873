"""An attempt's wait for the backend through the running gateway: the longest one of the edge is
the HTTP client's response timeout (kept on each connection, no timer per request), a shorter one
is the route's own, and both answer 504 when the backend outwaits them and let a retry on
connection errors try again. The edge's idle_timeout closes a client's keep-alive connection that
waits for its next request, never one whose request is being answered, on the main listener and
on the other one (a Reactor Netty server of the project's own). Each on Spring Boot 3 and 4: the
timers are Netty handlers the project adds to both generations' pipelines."""
from __future__ import annotations

import http.client
import socket
import time

import pytest

from edgec.pipeline import analyse

from . import harness

SOURCE = """
edge "timeouts" {
  listen http 8080
  listen http 8081
  limits { idle_timeout 500ms }
  upstream slow {
    server "127.0.0.1:1"
    read_timeout 1s
  }
  route client_wide {
    match path prefix "/client"
    forward slow
  }
  route own {
    match path prefix "/own"
    timeout 0s per_try 300ms
    forward slow
  }
  route retried {
    match path prefix "/retried"
    retries 1 on connect_error
    forward slow
  }
}
"""
EDGE = analyse(SOURCE, "timeouts.edge").edge
PROJECTS = [harness.register("timeouts", EDGE), harness.register("timeouts_boot4", EDGE, boot="4")]


@pytest.fixture(scope="module", params=PROJECTS)
def gateway(request, built, tmp_path_factory):
    with harness.echo_gateway(built[request.param], EDGE, "slow", tmp_path_factory.mktemp("timeouts")) as (ports, echo):
        yield ports, built[request.param], echo


def status(port, path):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        resp.read()
        return resp.status
    finally:
        conn.close()


def test_the_longest_attempt_is_the_clients_and_a_shorter_one_the_routes(gateway):
    _, project, _ = gateway
    connections = next(text for rel, text in project.files.items() if rel.endswith("EdgeConnections.java"))
    routes = next(text for rel, text in project.files.items() if rel.endswith("EdgeRoutes.java"))
    assert "new ResponseTimeout(1000)" in connections and "new IdleTimeout(500)" in connections
    assert routes.count("RESPONSE_TIMEOUT_ATTR, ") == 1 and "RESPONSE_TIMEOUT_ATTR, 300)" in routes


@pytest.mark.parametrize("prefix, limit_s", [("/client", 1.0), ("/own", 0.3)])
def test_a_backend_that_outwaits_the_attempt_is_a_504(gateway, prefix, limit_s):
    port = gateway[0][8080]
    assert status(port, f"{prefix}/x?delay={limit_s / 3}") == 200
    assert status(port, f"{prefix}/x?delay={limit_s * 2.5}") == 504


def test_a_retry_on_connection_errors_tries_a_timed_out_attempt_again(gateway):
    """As with SCG's own response timeout: its retry filter counts a timeout as a connection error."""
    ports, _, echo = gateway
    port = ports[8080]
    assert status(port, "/retried/x?delay=2.5&m=retried-once") == 504
    assert sum("m=retried-once" in r["path"] for r in echo.requests) == 2


def exchange(sock: socket.socket, path: str) -> bytes:
    """One keep-alive GET on `sock`; the response's head and body (the echo backend's are short)."""
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: t\r\n\r\n".encode())
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(65536)
    head, _, body = data.partition(b"\r\n\r\n")
    length = int(next(line.split(b":")[1] for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")))
    while len(body) < length:
        body += sock.recv(65536)
    return head


@pytest.mark.parametrize("listener", [8080, 8081])
def test_an_idle_keep_alive_connection_is_closed_after_idle_timeout_and_a_busy_one_is_not(gateway, listener):
    with socket.create_connection(("127.0.0.1", gateway[0][listener]), timeout=5) as sock:
        # answered after 0.8 s on a connection whose idle_timeout is 0.5 s, then again after a pause
        assert exchange(sock, "/client/x?delay=0.8").startswith(b"HTTP/1.1 200")
        time.sleep(0.3)
        assert exchange(sock, "/client/x").startswith(b"HTTP/1.1 200")
        answered = time.monotonic()
        assert sock.recv(1) == b""  # closed by the gateway, with nothing sent
        assert 0.4 < time.monotonic() - answered < 2.5
