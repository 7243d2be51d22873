"""`auth external` through the running Spring gateway (a route filter asking the service with
WebClient): allowed, denied, the service failing, slow or down (tests/support/external_auth.py
holds the cases every target is held to)."""
from __future__ import annotations

import pytest

from edgec.harness.echo import EchoServer
from edgec.pipeline import analyse
from tests.support import external_auth

from . import harness

AUTHZ_PORT, DEAD_PORT = harness.free_ports(2)
EDGE = analyse(external_auth.edge("127.0.0.1:1", f"127.0.0.1:{AUTHZ_PORT}", DEAD_PORT, listen="listen http 8080"),
               "authz.edge").edge
PROJECTS = [harness.register("external_auth", EDGE), harness.register("external_auth_boot4", EDGE, boot="4")]
SLOW_PORT, QUICK_PORT, APP_PORT = harness.free_ports(3)
SLOW_EDGE = analyse(external_auth.slow_edge(f"127.0.0.1:{APP_PORT}", f"127.0.0.1:{SLOW_PORT}",
                                            f"127.0.0.1:{QUICK_PORT}", listen="listen http 8080", warm=True),
                    "slow.edge").edge
SLOW_PROJECT = harness.register("external_auth_deadline", SLOW_EDGE)


@pytest.mark.parametrize("project_id", PROJECTS)
def test_the_authorization_service_decides(built, tmp_path, project_id):
    project = built[project_id]
    assert project.jar is not None, f"mvn package failed:\n{project.build_log}"
    port, = harness.free_ports(1)
    with external_auth.services(AUTHZ_PORT, DEAD_PORT) as (app, authz, _):
        args = harness.listener_args(EDGE, {8080: port}) + harness.server_args(EDGE, {"app": [app.address]})
        with harness.running(project.jar, args, port, tmp_path / "app.log"):
            assert external_auth.failures(f"http://127.0.0.1:{port}", app, authz) == []


def test_the_timeout_is_one_deadline_over_connecting_and_the_answer(built, tmp_path):
    """The capability row's claim: Mono.timeout runs from the check's start, connecting included
    (timed once the app has made a check: a JVM's first one loads and compiles the client)."""
    project = built[SLOW_PROJECT]
    assert project.jar is not None, f"mvn package failed:\n{project.build_log}"
    port, = harness.free_ports(1)
    with external_auth.slow_services(SLOW_PORT, QUICK_PORT) as (slow, quick), EchoServer("app", port=APP_PORT) as app:
        with harness.running(project.jar, harness.listener_args(SLOW_EDGE, {8080: port}), port, tmp_path / "app.log"):
            assert external_auth.warm_up(f"http://127.0.0.1:{port}", app) == []
            assert external_auth.deadline_failures(f"http://127.0.0.1:{port}", app, slow, quick) == []
