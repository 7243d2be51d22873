"""Tracing through real nginx, which has no OpenTelemetry module: the traceparent the backend
receives (the client's as it came, else a new one sampled at the edge's share) and the
trace_id of the access log."""
from __future__ import annotations

import re

from tests.support.otlp import log_lines

TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
NEW = re.compile(r"00-([0-9a-f]{32})-([0-9a-f]{16})-(0[01])\Z")


def _source(log, sample: str) -> str:
    return f"""edge "t" {{
      listen http 8080
      upstream app {{ server "127.0.0.1:9001" }}
      route r {{ forward app }}
      access_log json "{log}"
      tracing otlp "http://127.0.0.1:4318" sample {sample}
    }}"""


def test_traceparent_passed_on_or_made_and_logged(gateway, tmp_path):
    log = tmp_path / "access.log"
    gw = gateway(_source(log, "100%"))
    assert any("observability.tracing" in w.message for w in gw.warnings)
    given = gw.get("/a", [("traceparent", TRACEPARENT)]).echo["headers"]["traceparent"]
    made = gw.get("/b").echo["headers"]["traceparent"]
    bad = gw.get("/c", [("traceparent", "00-XYZ-00f067aa0ba902b7-01")]).echo["headers"]["traceparent"]
    lines = log_lines(log, 3)
    assert given == TRACEPARENT
    m, m_bad = NEW.match(made), NEW.match(bad)
    assert m and m_bad and m.group(3) == m_bad.group(3) == "01" and m.group(1) != m_bad.group(1)
    # nginx logs after answering, and another worker may take the next request: match lines by path
    by_path = {x["uri"]: x["trace_id"] for x in lines}
    assert by_path == {"/a": TRACEPARENT.split("-")[1], "/b": m.group(1), "/c": m_bad.group(1)}


def test_a_new_trace_is_not_sampled_at_zero(gateway, tmp_path):
    log = tmp_path / "access.log"
    gw = gateway(_source(log, "0%"))
    made = gw.get("/b").echo["headers"]["traceparent"]
    assert NEW.match(made).group(3) == "00"
    assert gw.get("/a", [("traceparent", TRACEPARENT)]).echo["headers"]["traceparent"] == TRACEPARENT


def test_a_share_samples_about_that_share(gateway, tmp_path):
    log = tmp_path / "access.log"
    gw = gateway(_source(log, "25%"))
    flags = [NEW.match(gw.get(f"/{i}").echo["headers"]["traceparent"]).group(3) for i in range(200)]
    assert 20 <= flags.count("01") <= 80  # 50 expected; split_clients hashes the random request id
