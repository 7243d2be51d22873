"""Envoy Gateway's own resources (gateway.envoyproxy.io/v1alpha1) for -O impl=envoy-gateway."""
from __future__ import annotations

from edgec import ir

from .names import label

Plan = dict
API = "gateway.envoyproxy.io/v1alpha1"


def proxy(edge: ir.Edge, meta) -> Plan:
    """The EnvoyProxy the Gateway refers to: Envoy Gateway keeps the rules in the order
    written (preserveRouteOrder) instead of ranking them, so the first-match order
    edgec.routing lays out is the order Envoy tries."""
    return {"apiVersion": API, "kind": "EnvoyProxy", "metadata": meta(label(edge.name)),
            "spec": {"preserveRouteOrder": True}}


def direct_response(edge: ir.Edge, route: ir.Route, meta) -> Plan:
    """The HTTPRouteFilter that answers a `respond` route itself."""
    action = route.action
    assert isinstance(action, ir.Respond)
    answer: Plan = {"statusCode": action.status, "contentType": action.content_type}
    if action.body:
        answer["body"] = {"type": "Inline", "inline": action.body}
    return {"apiVersion": API, "kind": "HTTPRouteFilter", "metadata": meta(label(edge.name, route.name, "respond")),
            "spec": {"directResponse": answer}}


def no_route(edge: ir.Edge, meta) -> tuple[Plan, Plan]:
    """A last rule of every HTTPRoute and the HTTPRouteFilter it answers 404 with: Envoy's
    own 404 for a request no rule takes meets no policy, and the edge's client address lists
    must answer such a request 403 first."""
    answer = {"apiVersion": API, "kind": "HTTPRouteFilter", "metadata": meta(label(edge.name, "no-route")),
              "spec": {"directResponse": {"statusCode": 404}}}
    rule = {"name": "no-route", "matches": [{"path": {"type": "PathPrefix", "value": "/"}}],
            "filters": [extension_ref(answer)]}
    return rule, answer


def extension_ref(resource: Plan) -> Plan:
    """A rule's filter that applies one of Envoy Gateway's HTTPRouteFilters."""
    return {"type": "ExtensionRef", "extensionRef": {"group": API.split("/")[0], "kind": resource["kind"],
                                                     "name": resource["metadata"]["name"]}}
