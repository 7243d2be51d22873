"""`auth external` with ext_authz over HTTP: one filter per authorization service, off until
a route that names it turns it on, and a cluster of its own for the service.

ext_authz sends the service the client's method, its path after `path_prefix`, the headers
allowed (Authorization always) and no body; a 2xx lets the request through with the allowed
upstream headers of the answer set on it, any other answer is the client's, and a failed
call is `status_on_error`. A header_mutation filter in front of it takes the copied headers
off the client's request first, so that only the service can set them.
"""
from __future__ import annotations

from edgec import ir

from .actions import seconds
from .clusters import cluster

Plan = dict

_T = "type.googleapis.com/envoy.extensions.filters.http."
FILTER_CONFIG = "type.googleapis.com/envoy.config.route.v3.FilterConfig"
DROP = "envoy.filters.http.header_mutation"


def used(edge: ir.Edge) -> list[ir.ExternalAuth]:
    names = {r.auth for r in edge.routes if r.auth}
    return [a for a in edge.auth if isinstance(a, ir.ExternalAuth) and a.name in names]


def filter_name(auth: ir.ExternalAuth) -> str:
    return f"ext_authz.{auth.name}"


def _names(headers: tuple[str, ...]) -> Plan:
    return {"patterns": [{"exact": h.lower(), "ignore_case": True} for h in headers]}


def filters(edge: ir.Edge) -> list[Plan]:
    found = used(edge)
    out = []
    if any(a.copy_headers for a in found):
        out.append({"name": DROP, "typed_config": {"@type": _T + "header_mutation.v3.HeaderMutation"}})
    for a in found:
        service: Plan = {"server_uri": {"uri": f"http://{a.address}", "cluster": a.service.name,
                                        "timeout": seconds(a.timeout_ms)},
                         "path_prefix": a.path}
        if a.copy_headers:
            service["authorization_response"] = {"allowed_upstream_headers": _names(a.copy_headers)}
        out.append({"name": filter_name(a), "disabled": True, "typed_config": {
            "@type": _T + "ext_authz.v3.ExtAuthz",
            "transport_api_version": "V3",
            "http_service": service,
            "allowed_headers": _names(a.check_headers),
            "status_on_error": {"code": ir.EXTERNAL_AUTH_ERROR_STATUS},
            "failure_mode_allow": False,
        }})
    return out


def per_route(auth: ir.ExternalAuth) -> Plan:
    out: Plan = {filter_name(auth): {"@type": FILTER_CONFIG, "config": {
        "@type": _T + "ext_authz.v3.ExtAuthzPerRoute", "check_settings": {}}}}
    if auth.copy_headers:
        out[DROP] = {"@type": _T + "header_mutation.v3.HeaderMutationPerRoute", "mutations": {
            "request_mutations": [{"remove": h.lower()} for h in auth.copy_headers]}}
    return out


def clusters(edge: ir.Edge) -> list[Plan]:
    return [cluster(a.service) for a in used(edge)]
