"""routing.authorized: what a verified token must carry for a route's `require` lines."""
from __future__ import annotations

from edgec import ir
from edgec.routing import Request, authorized, decide, granted_scopes

from .helpers import edge


def requirements(*claims: tuple[str, tuple[str, ...]], scopes: tuple[str, ...] = ()) -> ir.Requirements:
    return ir.Requirements(tuple(ir.ClaimRequirement(n, v) for n, v in claims), scopes)


def test_claim_holds_as_a_string_or_in_an_array():
    need = requirements(("role", ("admin", "owner")))
    assert authorized(need, {"role": "owner"})
    assert authorized(need, {"role": ["viewer", "admin"]})
    assert not authorized(need, {"role": "viewer"})
    assert not authorized(need, {"role": "Admin"})  # values are compared as written
    assert not authorized(need, {})
    # a number, a boolean or an object is never one of the strings
    assert not authorized(requirements(("level", ("1",))), {"level": 1})
    assert not authorized(requirements(("verified", ("true",))), {"verified": True})
    assert not authorized(need, {"role": {"admin": True}})


def test_every_claim_line_must_hold():
    need = requirements(("role", ("admin",)), ("tenant", ("acme",)))
    assert authorized(need, {"role": "admin", "tenant": "acme"})
    assert not authorized(need, {"role": "admin", "tenant": "other"})
    assert not authorized(need, {"tenant": "acme"})


def test_scopes_are_those_of_scope_and_scp_together():
    assert granted_scopes({"scope": "a b  c", "scp": ["d", 3]}) == {"a", "b", "c", "d"}
    assert granted_scopes({"scp": "x y"}) == {"x", "y"}
    assert granted_scopes({"scope": 7}) == frozenset()
    need = requirements(scopes=("orders:read", "orders:write"))
    assert authorized(need, {"scope": "orders:write profile orders:read"})
    assert authorized(need, {"scope": "orders:read", "scp": ["orders:write"]})
    assert not authorized(need, {"scope": "orders:read"})  # a subset is not enough
    assert not authorized(need, {"scope": "orders:read,orders:write"})


def test_no_requirement_lets_every_valid_token_through():
    assert authorized(None, {})


def test_the_decision_carries_the_routes_requirements():
    e = edge('''auth jwt main { issuer "https://i.test/" jwks "https://i.test/keys" }
      route admin { match path prefix "/admin" auth main require claim "role" "admin" require scope "w" respond 200 }
      route open { auth main respond 200 }''')
    d = decide(e, Request.from_url("GET", "/admin/x"))
    assert d.require == requirements(("role", ("admin",)), scopes=("w",))
    assert decide(e, Request.from_url("GET", "/other")).require is None


def test_the_table_every_target_is_held_to_says_what_decide_says():
    """tests/support/claims.py: each valid token's written status is routing.authorized's."""
    from tests.support import claims
    from edgec.pipeline import analyse
    table_edge = analyse(claims.edge("127.0.0.1:9", "http://127.0.0.1:9/keys"), "claims.edge").edge
    for name, path, token_claims, status in claims.CASES:
        d = decide(table_edge, Request.from_url("GET", path))
        assert d.auth is not None, name
        if token_claims is None or token_claims == claims.INVALID:
            assert status == 401, name
        else:
            assert status == (200 if authorized(d.require, token_claims) else 403), name
