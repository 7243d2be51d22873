"""`require claim` and `require scope` through the real Envoy (jwt_authn's payload in dynamic
metadata, an RBAC filter on it, the 403's challenge from a local reply mapper);
tests/support/claims.py holds the cases every target is held to."""
from __future__ import annotations

from edgec.pipeline import analyse
from tests.conftest import free_port
from tests.support import claims

from .support import Envoy, admin_options, build, write


def test_a_valid_token_without_what_the_route_requires_is_403(tmp_path):
    port = free_port()
    with claims.services() as (app, jwks):
        result = analyse(claims.edge(app.address, jwks.url, listen=f"listen http {port}"), "a.edge")
        assert result.edge is not None, [d.message for d in result.diagnostics]
        files, diagnostics = build(result.edge, admin_options())
        assert files is not None, [d.message for d in diagnostics]
        with Envoy(write(files, tmp_path), [port]):
            claims.wait_for_keys(f"http://127.0.0.1:{port}", app)
            assert claims.failures(f"http://127.0.0.1:{port}", app) == []


def test_a_scope_with_regex_characters_is_matched_as_written(tmp_path):
    """A scope's '.' and '+' are literal in the RE2 pattern: 'a.b' is not granted by 'axb'."""
    port = free_port()
    with claims.services() as (app, jwks):
        text = claims.edge(app.address, jwks.url, listen=f"listen http {port}").replace(
            'require scope "orders:read" "orders:write"', 'require scope "a.b+"')
        files, diagnostics = build(analyse(text, "a.edge").edge, admin_options())
        assert files is not None, [d.message for d in diagnostics]
        cases = [("literal scope", "/orders/1", {"scope": "x a.b+ y"}, 200),
                 ("regex look-alike", "/orders/1", {"scope": "axbb"}, 403),
                 ("as a list", "/orders/1", {"scp": ["a.b+"]}, 200)]
        with Envoy(write(files, tmp_path), [port]):
            claims.wait_for_keys(f"http://127.0.0.1:{port}", app)
            assert claims.failures(f"http://127.0.0.1:{port}", app, cases) == []
