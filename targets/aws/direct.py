"""-O gateway=apigw: which routes API Gateway sends straight to a public HTTPS server (an
HTTP_PROXY integration to its URL) instead of through the VPC link to the load balancer.

The signal: an upstream with `tls` (verify on, no client certificate) and exactly one server
named by DNS. API Gateway reaches it over the internet and checks its certificate against
public CAs for the `sni` name; it has no health check, stickiness or target of its own, so
those are refused rather than dropped. Every other upstream with `tls` is refused as on the
load balancer alone: an ALB target group never checks certificates.
"""
from __future__ import annotations

import ipaddress

from edgec import ir

from .errors import CANNOT, PlanError


def _public(up: ir.Upstream) -> bool:
    tls = up.tls
    if tls is None or not tls.verify or tls.cert or len(up.servers) != 1:
        return False
    server = up.servers[0]
    try:
        ipaddress.ip_address(server.host)
        return False
    except ValueError:
        return not server.service


def upstreams(edge: ir.Edge) -> dict[str, ir.Upstream]:
    """Upstream name → the upstreams API Gateway reaches by URL; refuses the other `tls` ones."""
    out = {}
    for up in edge.upstreams:
        if up.tls is None:
            continue
        if not _public(up):
            raise PlanError(CANNOT, f"upstream '{up.name}' has tls: API Gateway reaches an upstream over HTTPS only "
                                    "when it is one server named by DNS with its certificate checked, and the "
                                    "load balancer never checks its targets' certificates", up.span,
                            hint="give the upstream one server by DNS name, tls with verify on and no cert/key")
        if up.health or up.sticky:
            raise PlanError(CANNOT, f"upstream '{up.name}' is reached by API Gateway at its URL, which has no "
                                    "health check and no sticky sessions", up.span,
                            hint="remove health_check and sticky from this upstream")
        out[up.name] = up
    return out


def routes(edge: ir.Edge, public: dict[str, ir.Upstream]) -> dict[str, ir.Upstream]:
    """Route name → the public upstream its requests go to, for the routes that forward to one."""
    out = {}
    for route in edge.routes:
        if not isinstance(route.action, ir.Forward):
            continue
        names = [b.upstream for b in route.action.backends]
        if not any(n in public for n in names):
            continue
        if len(names) != 1:
            raise PlanError(CANNOT, f"route '{route.name}' splits its requests, and an API Gateway route has one "
                                    "integration: it cannot share them between a public URL and another upstream",
                            route.span, hint="forward this route to the one public upstream")
        if route.rewrite.path or route.rewrite.host:
            raise PlanError(CANNOT, f"route '{route.name}' rewrites the request, which the load balancer does "
                                    "and API Gateway, sending it to a public URL, does not", route.span,
                            hint="remove the rewrite, or serve the upstream through the load balancer")
        out[route.name] = public[names[0]]
    return out


def uri(up: ir.Upstream) -> str:
    server = up.servers[0]
    return f"https://{server.host}:{server.port}"


def server_name(up: ir.Upstream) -> str:
    return up.tls.sni or up.servers[0].host
