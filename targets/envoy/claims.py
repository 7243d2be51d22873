"""`require claim` and `require scope` on Envoy: jwt_authn writes each verified token's payload
into the request's dynamic metadata (under the provider's name), an RBAC filter right after
the auth filters holds a route to its requirements with metadata matchers (routing.authorized's
rule: a claim is one of the values or an array holding one; a scope is a word of `scope` or
`scp`, a space-separated string or an array), and a local reply mapper gives that filter's 403
the provider's insufficient_scope challenge."""
from __future__ import annotations

import re

from edgec import ir, routing

from . import jwt
from .headers import literal, option

Plan = dict

FILTER = "edgec.claims"  # an RBAC filter of its own: the route's address lists keep theirs
_T = "type.googleapis.com/envoy.extensions.filters.http.rbac.v3."
SCOPE_CLAIMS = ("scope", "scp")
STATUS_KEY = "edgec.claims.forbidden_status"  # the runtime key a status filter must name


def providers(edge: ir.Edge) -> set[str]:
    """The jwt providers some route requires claims or scopes of."""
    return {r.auth for r in edge.routes if r.auth and not r.require.empty}


def filters(edge: ir.Edge) -> list[Plan]:
    if not providers(edge):
        return []
    return [{"name": FILTER, "typed_config": {"@type": _T + "RBAC"}}]


def per_route(route: ir.Route) -> Plan:
    ids = [_claim(route.auth, c) for c in route.require.claims] + [_scope(route.auth, s) for s in route.require.scopes]
    principal = ids[0] if len(ids) == 1 else {"and_ids": {"ids": ids}}
    return {FILTER: {"@type": _T + "RBACPerRoute", "rbac": {"rules": {"action": "ALLOW", "policies": {
        "require": {"permissions": [{"any": True}], "principals": [principal]}}}}}}


def _matcher(provider: str, claim: str, value: Plan) -> Plan:
    return {"metadata": {"filter": jwt.FILTER, "path": [{"key": provider}, {"key": claim}], "value": value}}


def _claim(provider: str, c: ir.ClaimRequirement) -> Plan:
    ids = []
    for v in c.values:
        exact = {"string_match": {"exact": v}}
        ids += [_matcher(provider, c.name, exact), _matcher(provider, c.name, {"list_match": {"one_of": exact}})]
    return {"or_ids": {"ids": ids}}


def _scope(provider: str, scope: str) -> Plan:
    # RE2 matches the whole value: the scope as one of the space-separated words
    word = {"string_match": {"safe_regex": {"regex": f"(?s)(?:.* )?{re.escape(scope)}(?: .*)?"}}}
    listed = {"list_match": {"one_of": {"string_match": {"exact": scope}}}}
    return {"or_ids": {"ids": [_matcher(provider, name, m) for name in SCOPE_CLAIMS for m in (word, listed)]}}


def local_replies(edge: ir.Edge) -> list[Plan]:
    """The 403 of a token the claims filter refused carries its provider's challenge: only a
    request whose token was verified holds that provider's payload, and no other filter after
    jwt_authn answers 403 (jwt_authn's own 403, a token for another audience, holds none)."""
    out = []
    for name in sorted(providers(edge)):
        status = {"status_code_filter": {"comparison": {"op": "EQ", "value": {
            "default_value": routing.FORBIDDEN_STATUS, "runtime_key": STATUS_KEY}}}}
        verified = {"metadata_filter": {"matcher": {"filter": jwt.FILTER, "path": [{"key": name}],
                                                    "value": {"present_match": True}}}}
        out.append({"filter": {"and_filter": {"filters": [status, verified]}},
                    "headers_to_add": [option("www-authenticate",
                                              literal(routing.forbidden_challenge(edge.auth_provider(name))))]})
    return out
