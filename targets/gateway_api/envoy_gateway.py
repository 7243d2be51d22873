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
