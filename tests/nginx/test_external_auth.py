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


def test_the_timeout_bounds_connecting_and_the_answer_each_on_its_own(gateway):
    """The auth.external.timeout row's difference, and its warning: a check that connects in
    about a second and answers 1.8 s later, past the 2 s deadline, lets the request through."""
    slow, quick = external_auth.SlowToAccept(answer_after_s=1.8), external_auth.SlowToAccept(answer_after_s=0.2)
    try:
        gw = gateway(external_auth.slow_edge("127.0.0.1:1", slow.address, quick.address))
        assert sum("[auth.external.timeout]" in d.message for d in gw.warnings) == 2
        failures = external_auth.deadline_failures(f"http://127.0.0.1:{gw.ports[8080]}", gw.echoes["app"], slow, quick)
        assert any(f.startswith("/slow/a: status 200") for f in failures), failures
        assert not [f for f in failures if f.startswith("/quick/") or "did not wait" in f], failures
    finally:
        slow.close()
        quick.close()
