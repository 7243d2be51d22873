"""Tracing through the running Spring gateway (Micrometer Tracing's OpenTelemetry bridge): the
spans an OTLP/HTTP receiver gets, and the traceparent the backend receives."""
from __future__ import annotations

import json
import os
import time
import urllib.request

from edgec.harness.echo import EchoServer
from edgec.pipeline import analyse
from tests.support.otlp import OtlpReceiver

from . import harness

OTLP_PORT, = harness.free_ports(1)
EDGE = analyse(f"""edge "shop" {{
  listen http 8080
  upstream app {{
    server "127.0.0.1:1"
  }}
  route api {{
    match path prefix "/api"
    retries 1
    forward app
  }}
  tracing otlp "http://127.0.0.1:{OTLP_PORT}" sample 0%
}}
""", "tracing.edge").edge
PROJECT = harness.register("tracing", EDGE)
PARENT = "00f067aa0ba902b7"


def _get(port: int, path: str, traceparent: str | None = None) -> tuple[int, dict]:
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}")
    if traceparent:
        request.add_header("traceparent", traceparent)
    with urllib.request.urlopen(request, timeout=10) as reply:
        return reply.status, json.loads(reply.read())["headers"]


def test_spans_follow_the_client_and_the_share(built, tmp_path):
    project = built[PROJECT]
    assert project.jar is not None, f"mvn package failed:\n{project.build_log}"
    port, = harness.free_ports(1)
    kept, dropped = os.urandom(16).hex(), os.urandom(16).hex()
    with OtlpReceiver(OTLP_PORT) as receiver, EchoServer("app") as app:
        args = harness.listener_args(EDGE, {8080: port}) + harness.server_args(EDGE, {"app": [app.address]})
        with harness.running(project.jar, args, port, tmp_path / "app.log"):
            new_status, new = _get(port, "/api/new")
            _get(port, "/api/no", f"00-{dropped}-{PARENT}-00")
            status, seen = _get(port, "/api/x?responseCode=503&succeedAfter=1&uuid=s1", f"00-{kept}-{PARENT}-01")
            spans = receiver.wait(lambda s: len([x for x in s if x.trace_id == kept]) >= 3)
            time.sleep(1.0)  # anything else would have been sent with them
            spans = list(receiver.spans)
    assert new_status == status == 200 and not receiver.errors
    # a trace the client did not start is passed on unsampled at 0%; the client's flag is followed
    assert int(new["traceparent"].split("-")[3], 16) & 1 == 0
    assert {s.trace_id for s in spans} == {kept}, spans
    server = [s for s in spans if s.kind == "server"]
    assert len(server) == 1 and server[0].parent_span_id == PARENT and server[0].service == "shop", spans
    attempts = [s for s in spans if s.kind == "client"]
    assert len(attempts) == 2 and {a.parent_span_id for a in attempts} == {server[0].span_id}, spans
    trace, parent = seen["traceparent"].split("-")[1:3]
    assert trace == kept and parent in {a.span_id for a in attempts}
