"""JWT validation with jwt_authn: one provider per `auth jwt` block, keys fetched from its
JWKS URL through a cluster of their own; a route names its provider's requirement."""
from __future__ import annotations

from urllib.parse import urlsplit

from edgec import ir

from .actions import seconds
from .clusters import service_cluster

Plan = dict

FILTER = "envoy.filters.http.jwt_authn"
_T = "type.googleapis.com/envoy.extensions.filters.http.jwt_authn.v3."
JWKS_TIMEOUT_MS = 5_000
JWKS_CACHE_MS = 300_000


def providers(edge: ir.Edge) -> list[ir.JwtAuth]:
    used = {r.auth for r in edge.routes if r.auth}
    return [a for a in edge.auth if isinstance(a, ir.JwtAuth) and a.name in used]


def cluster_name(auth: ir.JwtAuth) -> str:
    return f"jwks.{auth.name}"  # a dot: no upstream of the source is named so


def filters(edge: ir.Edge, payloads: set[str]) -> list[Plan]:
    """`payloads`: the providers whose verified payload later filters read (claims.py)."""
    found = providers(edge)
    if not found:
        return []
    return [{"name": FILTER, "typed_config": {
        "@type": _T + "JwtAuthentication",
        "providers": {a.name: provider(a, a.name in payloads) for a in found},
        "requirement_map": {a.name: {"provider_name": a.name} for a in found},
    }}]


def provider(auth: ir.JwtAuth, payload: bool = False) -> Plan:
    """`payload`: the verified token's payload goes into the request's dynamic metadata, under
    the provider's name."""
    out: Plan = {}
    if auth.issuer:
        out["issuer"] = auth.issuer
    if auth.audiences:
        out["audiences"] = list(auth.audiences)
    out["remote_jwks"] = {"http_uri": {"uri": auth.jwks_url, "cluster": cluster_name(auth),
                                       "timeout": seconds(JWKS_TIMEOUT_MS)},
                          "cache_duration": seconds(JWKS_CACHE_MS)}
    header: Plan = {"name": auth.header}
    if auth.header.lower() == "authorization":
        header["value_prefix"] = "Bearer "
    out["from_headers"] = [header]
    out["clock_skew_seconds"] = -(-auth.leeway_ms // 1000)
    out["require_expiration"] = True  # routing refuses a token without exp
    out["forward"] = True
    if payload:
        out["payload_in_metadata"] = auth.name
    return out


def per_route(auth: ir.Auth) -> Plan:
    return {FILTER: {"@type": _T + "PerRouteConfig", "requirement_name": auth.name}}


def clusters(edge: ir.Edge, ca_file: str) -> list[Plan]:
    out = []
    for auth in providers(edge):
        url = urlsplit(auth.jwks_url)
        out.append(service_cluster(cluster_name(auth), url.scheme, url.hostname,
                                   url.port or (443 if url.scheme == "https" else 80), ca_file, JWKS_TIMEOUT_MS))
    return out
