"""Tracing through a real `edgec run`: the spans a collector receives (an OTLP/HTTP receiver
decoding ExportTraceServiceRequest), the traceparent the backend receives and the trace_id of
the access log."""
from __future__ import annotations

import json
import os
import time

import pytest

from tests.conftest import free_port
from tests.runtime.conftest import RuntimeProcess, request
from tests.support.otlp import OtlpReceiver, log_lines

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT = "00f067aa0ba902b7"


def _traceparent(trace: str, parent: str, sampled: bool) -> str:
    return f"00-{trace}-{parent}-{'01' if sampled else '00'}"


@pytest.fixture
def receiver():
    with OtlpReceiver() as r:
        yield r


def _edge(tmp_path, port, echo, collector, sample, log):
    f = tmp_path / f"t{port}.edge"
    f.write_text(f"""edge "shop" {{
      listen http {port}
      upstream a {{ server "{echo.address}" }}
      route api {{
        match path prefix "/api"
        retries 1
        forward a
      }}
      access_log json "{log}"
      tracing otlp "{collector}" sample {sample}
    }}""")
    return f


def test_a_server_span_per_request_and_a_client_span_per_attempt(tmp_path, echo_servers, receiver):
    echo = echo_servers("a")["a"]
    port = free_port()
    log = tmp_path / "access.log"
    with RuntimeProcess(_edge(tmp_path, port, echo, receiver.url, "100%", log), port):
        # the first attempt is answered 503 and retried: two attempts, one request
        status, _, body = request(port, path="/api/x?responseCode=503&succeedAfter=1&uuid=t1",
                                  headers={"traceparent": _traceparent(TRACE, PARENT, True),
                                           "tracestate": "vendor=1"})
        assert status == 200
        seen = json.loads(body)["headers"]
        # a request the client started no trace for: a new trace, sampled at 100%
        assert request(port, path="/api/y")[0] == 200
        spans = receiver.wait(lambda s: len(s) >= 5)
        lines = log_lines(log, 2)
    assert not receiver.errors and set(receiver.paths) == {"/v1/traces"}
    servers = [s for s in spans if s.kind == "server"]
    assert len(servers) == 2 and len(spans) == 5, spans  # 1 + 2 attempts, 1 + 1
    server = next(s for s in servers if s.trace_id == TRACE)
    assert server.parent_span_id == PARENT and server.service == "shop" and server.name == "GET api"
    assert server.attributes["http.response.status_code"] == 200 and server.attributes["http.route"] == "api"
    attempts = [s for s in spans if s.kind == "client" and s.trace_id == TRACE]
    assert [a.parent_span_id for a in attempts] == [server.span_id] * 2
    assert {a.trace_id for a in attempts} == {TRACE}
    assert sorted(a.attributes["http.response.status_code"] for a in attempts) == [200, 503]
    # the backend continues the client's trace from the attempt that reached it, tracestate kept
    last = next(a for a in attempts if a.attributes["http.response.status_code"] == 200)
    assert seen["traceparent"] == _traceparent(TRACE, last.span_id, True)
    assert seen["tracestate"] == "vendor=1"
    other = next(s for s in servers if s.trace_id != TRACE)
    assert other.parent_span_id == ""
    assert [x["trace_id"] for x in lines] == [TRACE, other.trace_id]


def test_sampling_follows_the_client_and_the_share(tmp_path, echo_servers, receiver):
    echo = echo_servers("a")["a"]
    port = free_port()
    log = tmp_path / "access.log"
    kept = os.urandom(16).hex()
    with RuntimeProcess(_edge(tmp_path, port, echo, receiver.url, "0%", log), port):
        # no trace from the client: at 0% none is recorded, yet the backend gets an unsampled one
        status, _, body = request(port, path="/api/new")
        passed = json.loads(body)["headers"]["traceparent"]
        # the client says not sampled: not recorded either
        request(port, path="/api/no", headers={"traceparent": _traceparent(TRACE, PARENT, False)})
        # the client says sampled: recorded whatever the share
        request(port, path="/api/yes", headers={"traceparent": _traceparent(kept, PARENT, True)})
        spans = receiver.wait(lambda s: any(x.kind == "server" for x in s))
        time.sleep(1.0)  # a second export would have come by now
        lines = log_lines(log, 3)
        spans = list(receiver.spans)
    # (the SDK may set flag 02, W3C level 2's "random trace id"; the sampled bit is 01)
    assert status == 200 and passed.startswith("00-") and int(passed.split("-")[3], 16) & 1 == 0
    assert {s.trace_id for s in spans} == {kept} and len(spans) == 2
    assert [x["trace_id"] for x in lines] == [passed.split("-")[1], TRACE, kept]


def test_no_tracing_logs_an_empty_trace_id_and_passes_traceparent_through(tmp_path, echo_servers):
    echo = echo_servers("a")["a"]
    port = free_port()
    log = tmp_path / "access.log"
    f = tmp_path / "plain.edge"
    f.write_text(f"""edge "plain" {{
      listen http {port}
      upstream a {{ server "{echo.address}" }}
      route api {{ forward a }}
      access_log json "{log}"
    }}""")
    header = _traceparent(TRACE, PARENT, True)
    with RuntimeProcess(f, port):
        _, _, body = request(port, path="/x", headers={"traceparent": header})
        lines = log_lines(log, 1)
    assert json.loads(body)["headers"]["traceparent"] == header
    assert lines[0]["trace_id"] == ""


def test_an_aggregation_part_continues_the_request_trace(tmp_path, echo_servers, receiver):
    echo = echo_servers("a")["a"]
    port = free_port()
    f = tmp_path / "agg.edge"
    f.write_text(f"""edge "shop" {{
      listen http {port}
      upstream a {{ server "{echo.address}" }}
      route profile {{
        match path exact "/profile"
        aggregate {{
          user = get a "/users/me"
          orders = get a "/orders"
        }}
      }}
      tracing otlp "{receiver.url}"
    }}""")
    with RuntimeProcess(f, port):
        status, _, body = request(port, path="/profile", headers={"traceparent": _traceparent(TRACE, PARENT, True)})
        spans = receiver.wait(lambda s: any(x.kind == "server" for x in s))
    parts = json.loads(body)
    server = next(s for s in spans if s.kind == "server")
    assert status == 200 and server.trace_id == TRACE and server.parent_span_id == PARENT
    for name in ("user", "orders"):
        assert parts[name]["headers"]["traceparent"] == _traceparent(TRACE, server.span_id, True)


def test_a_mirrored_copy_continues_the_request_trace(tmp_path, echo_servers, receiver):
    echoes = echo_servers("a", "b")
    port = free_port()
    f = tmp_path / "mirror.edge"
    f.write_text(f"""edge "shop" {{
      listen http {port}
      upstream a {{ server "{echoes['a'].address}" }}
      upstream b {{ server "{echoes['b'].address}" }}
      route api {{
        mirror b
        forward a
      }}
      tracing otlp "{receiver.url}"
    }}""")
    with RuntimeProcess(f, port):
        assert request(port, path="/x", headers={"traceparent": _traceparent(TRACE, PARENT, True)})[0] == 200
        spans = receiver.wait(lambda s: any(x.kind == "server" for x in s))
        deadline = time.monotonic() + 10
        while not echoes["b"].requests and time.monotonic() < deadline:
            time.sleep(0.05)
    server = next(s for s in spans if s.kind == "server")
    assert echoes["b"].requests[0]["headers"]["traceparent"] == _traceparent(TRACE, server.span_id, True)
