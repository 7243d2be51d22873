"""`require claim` and `require scope` through the running Spring gateway (a route filter after
the jwt filter reads the verified Jwt's claims); tests/support/claims.py holds the cases every
target is held to."""
from __future__ import annotations

from edgec.pipeline import analyse
from tests.support import claims

from . import harness

JWKS_PORT, = harness.free_ports(1)
EDGE = analyse(claims.edge("127.0.0.1:1", f"http://127.0.0.1:{JWKS_PORT}/jwks.json", listen="listen http 8080"),
               "claims.edge").edge
PROJECT = harness.register("claims", EDGE)


def test_a_valid_token_without_what_the_route_requires_is_403(built, tmp_path):
    project = built[PROJECT]
    assert project.jar is not None, f"mvn package failed:\n{project.build_log}"
    port, = harness.free_ports(1)
    with claims.services(JWKS_PORT) as (app, _):
        args = harness.listener_args(EDGE, {8080: port}) + harness.server_args(EDGE, {"app": [app.address]})
        with harness.running(project.jar, args, port, tmp_path / "app.log"):
            claims.wait_for_keys(f"http://127.0.0.1:{port}", app)
            assert claims.failures(f"http://127.0.0.1:{port}", app) == []
