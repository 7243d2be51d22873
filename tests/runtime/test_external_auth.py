"""`auth external` in `edgec run`: allowed, denied, the service failing, slow or down
(tests/support/external_auth.py holds the cases every target is held to)."""
from __future__ import annotations

from edgec.harness.echo import EchoServer
from tests.conftest import free_port
from tests.support import external_auth


def test_the_authorization_service_decides(gateway):
    with external_auth.services() as (app, authz, dead):
        port = free_port()
        _, port = gateway(external_auth.edge(app.address, authz.address, dead, listen=f"listen http {port}"))
        assert external_auth.failures(f"http://127.0.0.1:{port}", app, authz) == []


def test_the_timeout_is_one_deadline_over_connecting_and_the_answer(gateway):
    with external_auth.slow_services() as (slow, quick), EchoServer("app") as app:
        port = free_port()
        _, port = gateway(external_auth.slow_edge(app.address, slow.address, quick.address,
                                                  listen=f"listen http {port}"))
        assert external_auth.deadline_failures(f"http://127.0.0.1:{port}", app, slow, quick) == []
