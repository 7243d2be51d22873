"""`auth external` through the real Envoy (ext_authz): allowed, denied, the service failing,
slow or down (tests/support/external_auth.py holds the cases every target is held to)."""
from __future__ import annotations

from edgec.pipeline import analyse
from tests.conftest import free_port
from tests.support import external_auth

from .support import Envoy, admin_options, build, write


def test_the_authorization_service_decides(tmp_path):
    port = free_port()
    with external_auth.services() as (app, authz, dead):
        result = analyse(external_auth.edge(app.address, authz.address, dead, listen=f"listen http {port}"), "a.edge")
        assert result.edge is not None, [d.message for d in result.diagnostics]
        files, diagnostics = build(result.edge, admin_options())
        assert files is not None, [d.message for d in diagnostics]
        with Envoy(write(files, tmp_path), [port]):
            assert external_auth.failures(f"http://127.0.0.1:{port}", app, authz) == []
