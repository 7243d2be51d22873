"""`require claim` and `require scope` in `edgec run` (tests/support/claims.py holds the cases
every target is held to)."""
from __future__ import annotations

from tests.conftest import free_port
from tests.support import claims


def test_a_valid_token_without_what_the_route_requires_is_403(gateway):
    with claims.services() as (app, jwks):
        port = free_port()
        gateway(claims.edge(app.address, jwks.url, listen=f"listen http {port}"))
        assert claims.failures(f"http://127.0.0.1:{port}", app) == []
