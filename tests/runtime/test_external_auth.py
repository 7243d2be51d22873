"""`auth external` in `edgec run`: allowed, denied, the service failing, slow or down
(tests/support/external_auth.py holds the cases every target is held to)."""
from __future__ import annotations

from tests.conftest import free_port
from tests.support import external_auth


def test_the_authorization_service_decides(gateway):
    with external_auth.services() as (app, authz, dead):
        port = free_port()
        _, port = gateway(external_auth.edge(app.address, authz.address, dead, listen=f"listen http {port}"))
        assert external_auth.failures(f"http://127.0.0.1:{port}", app, authz) == []
