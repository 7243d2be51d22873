"""`auth external` through the real nginx (auth_request): allowed, denied, the service
failing, slow or down (tests/support/external_auth.py holds the cases every target is held to)."""
from __future__ import annotations

from tests.support import external_auth

from .support import gixy


def test_the_authorization_service_decides(gateway):
    with external_auth.services() as (app, authz, dead):
        gw = gateway(external_auth.edge(app.address, authz.address, dead), keep_servers=("app",))
        assert external_auth.failures(f"http://127.0.0.1:{gw.ports[8080]}", app, authz) == []
        assert gixy(gw.nginx.prefix) == []
