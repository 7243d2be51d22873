"""Tracing through real Envoy: the spans its OpenTelemetry tracer sends (received and decoded
by an OTLP/HTTP receiver), the traceparent the backend receives and the log's trace_id."""
from __future__ import annotations

import json
import os
import time

import pytest

from tests.support.otlp import OtlpReceiver, log_lines

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT = "00f067aa0ba902b7"


@pytest.fixture
def receiver():
    with OtlpReceiver() as r:
        yield r


def _source(collector: str, sample: str, log) -> str:
    return f"""edge "shop" {{
      listen http 8080
      upstream app {{ server "127.0.0.1:9001" }}
      route api {{
        match path prefix "/api"
        retries 1
        forward app
      }}
      access_log json "{log}"
      tracing otlp "{collector}" sample {sample}
    }}"""


def test_a_server_span_per_request_and_a_span_per_attempt(gateway, receiver, tmp_path):
    log = tmp_path / "access.log"
    gw = gateway(_source(receiver.url, "100%", log))
    reply = gw.get("/api/x?responseCode=503&succeedAfter=1&uuid=e1",
                   [("traceparent", f"00-{TRACE}-{PARENT}-01")])
    assert reply.status == 200
    seen = json.loads(reply.body)["headers"]["traceparent"]
    spans = receiver.wait(lambda s: len([x for x in s if x.trace_id == TRACE]) >= 3)
    lines = log_lines(log, 1)
    assert not receiver.errors and set(receiver.paths) == {"/v1/traces"}
    mine = [s for s in spans if s.trace_id == TRACE]
    servers = [s for s in mine if s.kind == "server"]
    assert len(servers) == 1, mine
    server = servers[0]
    assert server.parent_span_id == PARENT and server.service == "shop"
    attempts = [s for s in mine if s.kind == "client"]
    assert len(attempts) == 2 and {a.parent_span_id for a in attempts} == {server.span_id}, mine
    # the backend continues the trace from the span of the attempt that reached it
    trace, parent = seen.split("-")[1:3]
    assert trace == TRACE and parent in {a.span_id for a in attempts}
    assert lines[0]["trace_id"] == TRACE


def test_sampling_follows_the_client_and_the_share(gateway, receiver, tmp_path):
    log = tmp_path / "access.log"
    gw = gateway(_source(receiver.url, "0%", log))
    kept = os.urandom(16).hex()
    assert gw.get("/api/new").status == 200
    assert gw.get("/api/no", [("traceparent", f"00-{TRACE}-{PARENT}-00")]).status == 200
    assert gw.get("/api/yes", [("traceparent", f"00-{kept}-{PARENT}-01")]).status == 200
    receiver.wait(lambda s: any(x.kind == "server" for x in s))
    time.sleep(1.5)  # anything else would have been sent with it or just after
    spans = list(receiver.spans)
    assert {s.trace_id for s in spans} == {kept}
    assert len([s for s in spans if s.kind == "server"]) == 1
