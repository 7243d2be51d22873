"""An attempt's wait for the backend through the running gateway: the longest one of the edge is
the HTTP client's response timeout (set once, no timer per request), a shorter one is the
route's own, and both answer 504 when the backend outwaits them and let a retry on connection
errors try again."""
from __future__ import annotations

import http.client

import pytest

from edgec.pipeline import analyse

from . import harness

SOURCE = """
edge "timeouts" {
  listen http 8080
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
PROJECT = harness.register("timeouts", EDGE)


@pytest.fixture(scope="module")
def gateway(built, tmp_path_factory):
    with harness.echo_gateway(built[PROJECT], EDGE, "slow", tmp_path_factory.mktemp("timeouts")) as (port, echo):
        yield port, built[PROJECT], echo


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
    application = next(text for rel, text in project.files.items() if rel.endswith("EdgeApplication.java"))
    routes = next(text for rel, text in project.files.items() if rel.endswith("EdgeRoutes.java"))
    assert ".responseTimeout(Duration.ofMillis(1000))" in application
    assert routes.count("RESPONSE_TIMEOUT_ATTR, ") == 1 and "RESPONSE_TIMEOUT_ATTR, 300)" in routes


@pytest.mark.parametrize("prefix, limit_s", [("/client", 1.0), ("/own", 0.3)])
def test_a_backend_that_outwaits_the_attempt_is_a_504(gateway, prefix, limit_s):
    port, _, _ = gateway
    assert status(port, f"{prefix}/x?delay={limit_s / 3}") == 200
    assert status(port, f"{prefix}/x?delay={limit_s * 2.5}") == 504


def test_a_retry_on_connection_errors_tries_a_timed_out_attempt_again(gateway):
    """As with SCG's own response timeout: its retry filter counts a timeout as a connection error."""
    port, _, echo = gateway
    assert status(port, "/retried/x?delay=2.5&m=retried-once") == 504
    assert sum("m=retried-once" in r["path"] for r in echo.requests) == 2
