"""Envoy Gateway ClientTrafficPolicies: how each listener treats its clients (where the
client address is read, TLS versions and protocols, idle connections, header lines named
with '_'). One policy per listener (its sectionName): Envoy Gateway applies only the most
specific policy to a listener, so each says everything."""
from __future__ import annotations

import ipaddress

from edgec import ir

from .envoy_gateway import API
from .gateway import listener_name
from .names import label
from .routes import duration

Plan = dict
GROUP = "gateway.networking.k8s.io"


def policies(edge: ir.Edge, meta) -> list[Plan]:
    return [_policy(edge, lst, meta) for lst in edge.listeners]


def _policy(edge: ir.Edge, lst: ir.Listener, meta) -> Plan:
    spec: Plan = {"targetRefs": [{"group": GROUP, "kind": "Gateway", "name": label(edge.name),
                                  "sectionName": listener_name(lst)}]}
    if edge.trusted_proxies:
        # the client is the nearest address from the right that is not a trusted proxy
        spec["clientIPDetection"] = {"xForwardedFor": {"trustedCIDRs": [
            str(ipaddress.ip_network(c)) for c in edge.trusted_proxies]}}
    if lst.tls:
        spec["tls"] = {"minVersion": lst.tls.min_version,
                       "alpnProtocols": ["h2", "http/1.1"] if lst.http2 else ["http/1.1"]}
    spec["headers"] = {"withUnderscoresAction": "DropHeader"}  # routing.decide never sees them
    spec["timeout"] = {"http": {"idleTimeout": duration(edge.limits.idle_timeout_ms)}}
    return {"apiVersion": API, "kind": "ClientTrafficPolicy", "metadata": meta(label(edge.name, listener_name(lst))),
            "spec": spec}
