"""Aggregation through the running Spring gateway: a part's timeout (Mono.timeout over the part's
WebClient exchange) is one deadline over connecting and the answer, as the capability row says
(tests/support/aggregation.py holds the requests every target is held to)."""
from __future__ import annotations

from edgec.pipeline import analyse
from tests.support import aggregation

from . import harness

SLOW_PORT, QUICK_PORT = harness.free_ports(2)
EDGE = analyse(aggregation.slow_edge(f"127.0.0.1:{SLOW_PORT}", f"127.0.0.1:{QUICK_PORT}", listen="listen http 8080"),
               "slow_parts.edge").edge
PROJECT = harness.register("aggregate_deadline", EDGE)


def test_a_part_timeout_is_one_deadline_over_connecting_and_the_answer(built, tmp_path):
    project = built[PROJECT]
    assert project.jar is not None, f"mvn package failed:\n{project.build_log}"
    port, = harness.free_ports(1)
    with aggregation.slow_parts(SLOW_PORT, QUICK_PORT) as (slow, quick):
        with harness.running(project.jar, harness.listener_args(EDGE, {8080: port}), port, tmp_path / "app.log"):
            assert aggregation.deadline_failures(f"http://127.0.0.1:{port}", slow, quick) == []
