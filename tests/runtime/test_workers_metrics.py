"""`edgec run --workers N`: a scrape of /metrics reports the whole edge whichever worker answers
it, a replaced worker does not make counters go backwards, a reload keeps the totals, and one
process writes no files."""
from __future__ import annotations

import os
import signal

from prometheus_client.parser import text_string_to_metric_families

from edgec.runtime.shared_metrics import Slot
from tests.conftest import free_port
from tests.runtime.conftest import RuntimeProcess, request
from tests.runtime.test_operations import _children, _until, _write

REQUESTS, FAILED = 200, 20


def _scrape(port: int) -> dict[tuple, float]:
    status, _, body = request(port, path="/metrics")  # a fresh connection: either worker may answer
    assert status == 200
    samples = {}
    for family in text_string_to_metric_families(body.decode()):
        for s in family.samples:
            key = (s.name, *sorted(s.labels.items()))
            assert key not in samples, f"{key} reported twice"
            samples[key] = s.value
    return samples


def _get(samples, name, **labels):
    return samples.get((name, *sorted(labels.items())))


def _check_totals(port: int, echo, dead: str, api: int = REQUESTS) -> None:
    m = _scrape(port)
    assert _get(m, "edge_requests_total", route="api", status="200") == api
    assert _get(m, "edge_request_duration_seconds_count", route="api") == api
    assert _get(m, "edge_request_duration_seconds_bucket", route="api", le="+Inf") == api
    assert _get(m, "edge_requests_total", route="dead", status="502") == FAILED
    assert _get(m, "edge_upstream_failures_total", upstream="dead", server=dead) == FAILED
    assert _get(m, "edge_upstream_up", upstream="a", server=echo.address) == 1


def _published(run_dir, slot: int) -> dict:
    """What a worker slot last published, as every worker reads it."""
    return Slot(str(run_dir), 0, 2).read(slot) or {"pid": None, "requests": []}


def _listening(port: int) -> int:
    """How many sockets listen on `port` (each worker opens its own, with SO_REUSEPORT)."""
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as lines:
            next(lines)
            for line in lines:
                local, state = line.split()[1], line.split()[3]
                count += state == "0A" and int(local.rsplit(":", 1)[1], 16) == port
    return count


def _answered(run_dir, slot: int, route: str) -> int:
    return sum(n for r, _, n in _published(run_dir, slot)["requests"] if r == route)


def test_a_scrape_sums_every_worker(tmp_path, echo_servers):
    echo = echo_servers("a")["a"]
    port = free_port()
    dead, checked = f"127.0.0.1:{free_port()}", f"127.0.0.1:{free_port()}"  # nothing listens there
    f = _write(tmp_path / "wm.edge", f"""edge "wm" {{
      listen http {port}
      upstream a {{ server "{echo.address}" }}
      upstream dead {{ server "{dead}" passive max_fails 1000 }}
      upstream checked {{ server "{checked}" health get "/" every 1s timeout 500ms unhealthy 1 }}
      route api {{ match path prefix "/api" forward a }}
      route dead {{ match path prefix "/dead" retries 0 forward dead }}
      route checked {{ match path prefix "/checked" forward checked }}
      metrics "/metrics"
      access_log off
    }}""")
    proc = RuntimeProcess(f, port, "--workers", "2", env={"TMPDIR": str(tmp_path)})
    with proc:
        assert _until(lambda: len(_children(proc.proc.pid)) == 2)
        # until the second worker's socket joins the port, the kernel gives it no connection
        assert _until(lambda: _listening(port) == 2)
        [run_dir] = tmp_path.glob("edgec-metrics-*")
        assert run_dir.stat().st_mode & 0o777 == 0o700
        assert all(request(port, path=f"/api/{i}")[0] == 200 for i in range(REQUESTS))
        assert all(request(port, path="/dead")[0] == 502 for _ in range(FAILED))

        # the other worker's share arrives within a publishing period; from then on every
        # scrape, whichever worker answers it, reports the exact totals
        assert _until(lambda: _get(_scrape(port), "edge_requests_total", route="api", status="200") == REQUESTS)

        def both_answered():
            _check_totals(port, echo, dead)
            return all(_answered(run_dir, s, "metrics") for s in (0, 1))
        assert _until(both_answered)
        shares = [_answered(run_dir, s, "api") for s in (0, 1)]
        assert all(shares) and sum(shares) == REQUESTS  # each worker served some: a scrape sums both
        assert {_published(run_dir, s)["pid"] for s in (0, 1)} == set(_children(proc.proc.pid))
        # a server is down only when no worker may send it traffic
        assert _until(lambda: _get(_scrape(port), "edge_upstream_up", upstream="checked", server=checked) == 0)

        victim = _published(run_dir, 0)["pid"]
        seeded = _answered(run_dir, 0, "metrics")
        os.kill(victim, signal.SIGKILL)
        assert _until(lambda: _published(run_dir, 0)["pid"] in set(_children(proc.proc.pid)) - {victim})

        def replacement_answered():
            _check_totals(port, echo, dead)  # never below what was counted before the kill
            return _answered(run_dir, 0, "metrics") > seeded
        assert _until(replacement_answered)

        proc.signal(signal.SIGHUP)
        assert _until(lambda: proc.output().count("reloaded") == 2)
        for _ in range(5):
            _check_totals(port, echo, dead)
        assert all(request(port, path="/api/more")[0] == 200 for _ in range(10))
        assert _until(lambda: _get(_scrape(port), "edge_requests_total", route="api", status="200") == REQUESTS + 10)
        for _ in range(5):
            _check_totals(port, echo, dead, api=REQUESTS + 10)

        proc.signal(signal.SIGTERM)
        assert proc.proc.wait(10) == 0
    assert not list(tmp_path.glob("edgec-metrics-*"))  # the supervisor removed its directory


def test_one_process_writes_no_metrics_files(tmp_path):
    port = free_port()
    f = _write(tmp_path / "one.edge", f"""edge "one" {{
      listen http {port}
      route r {{ respond 200 "ok" }}
      metrics "/metrics"
      access_log off
    }}""")
    with RuntimeProcess(f, port, env={"TMPDIR": str(tmp_path)}):
        assert request(port)[0] == 200
        assert _get(_scrape(port), "edge_requests_total", route="r", status="200") == 1
        assert not list(tmp_path.glob("edgec-metrics-*"))
