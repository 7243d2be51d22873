"""`auth external` through the real Envoy (ext_authz): allowed, denied, the service failing,
slow or down (tests/support/external_auth.py holds the cases every target is held to)."""
from __future__ import annotations

from edgec.harness.echo import EchoServer
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


def test_the_timeout_is_one_deadline_over_connecting_and_the_answer(tmp_path):
    """The capability row's claim: ext_authz's timeout runs from the check's start."""
    port = free_port()
    with external_auth.slow_services() as (slow, quick), EchoServer("app") as app:
        source = external_auth.slow_edge(app.address, slow.address, quick.address, listen=f"listen http {port}")
        files, diagnostics = build(analyse(source, "a.edge").edge, admin_options())
        assert files is not None, [d.message for d in diagnostics]
        with Envoy(write(files, tmp_path), [port]):
            assert external_auth.deadline_failures(f"http://127.0.0.1:{port}", app, slow, quick) == []
