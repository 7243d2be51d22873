"""`require claim` and `require scope` through the real nginx (the route's njs gate checks the
verified claims); tests/support/claims.py holds the cases every target is held to."""
from __future__ import annotations

from tests.support import claims

from .support import gixy


def test_a_valid_token_without_what_the_route_requires_is_403(gateway):
    with claims.services() as (app, jwks):
        gw = gateway(claims.edge(app.address, jwks.url), keep_servers=("app",))
        url = f"http://127.0.0.1:{gw.ports[8080]}"
        claims.wait_for_keys(url, app)
        assert claims.failures(url, app) == []
        assert gixy(gw.nginx.prefix) == []
