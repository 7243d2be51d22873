"""Upstreams → Services the routes' backendRefs name.

Servers given by address become a Service without a selector and one EndpointSlice per
server port (an EndpointSlice's ports apply to all its endpoints); a single server given
by host name becomes an ExternalName Service, which resolves it through the cluster's DNS.
"""
from __future__ import annotations

import ipaddress

from edgec import ir

from .names import label

Plan = dict
PORT_NAME = "http"


def service_name(edge: ir.Edge, upstream: str) -> str:
    return label(edge.name, upstream)


def service_port(up: ir.Upstream) -> int:
    """The port backendRefs name: the first server's."""
    return up.servers[0].port


def address_type(host: str) -> str | None:
    try:
        return "IPv6" if ipaddress.ip_address(host).version == 6 else "IPv4"
    except ValueError:
        return None


def problem(up: ir.Upstream) -> str | None:
    """Why the upstream's servers cannot be a Service, or None."""
    named = [s for s in up.servers if address_type(s.host) is None]
    if named and len(up.servers) > 1:
        return (f"upstream '{up.name}': several servers where one is a host name ({named[0].host}): a Service "
                "reaches one DNS name (ExternalName) or addresses (EndpointSlice), not both")
    return None


def resources(edge: ir.Edge, up: ir.Upstream, meta) -> list[Plan]:
    name = service_name(edge, up.name)
    port = service_port(up)
    if address_type(up.servers[0].host) is None:
        return [{"apiVersion": "v1", "kind": "Service", "metadata": meta(name),
                 "spec": {"type": "ExternalName", "externalName": up.servers[0].host,
                          "ports": [{"name": PORT_NAME, "port": port, "protocol": "TCP"}]}}]
    out: list[Plan] = [{"apiVersion": "v1", "kind": "Service", "metadata": meta(name),
                        "spec": {"ports": [{"name": PORT_NAME, "port": port, "protocol": "TCP"}]}}]
    groups: dict[tuple[str, int], list[str]] = {}
    for s in up.servers:
        groups.setdefault((address_type(s.host) or "", s.port), []).append(s.host)
    for index, ((family, server_port), hosts) in enumerate(groups.items()):
        slice_meta = meta(label(name, str(index + 1)))
        slice_meta["labels"]["kubernetes.io/service-name"] = name
        slice_meta["labels"]["endpointslice.kubernetes.io/managed-by"] = "edgec.dev"
        out.append({"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice", "metadata": slice_meta,
                    "addressType": family,
                    "ports": [{"name": PORT_NAME, "port": server_port, "protocol": "TCP"}],
                    "endpoints": [{"addresses": [h], "conditions": {"ready": True}} for h in hosts]})
    return out


def backend_ref(edge: ir.Edge, upstream: str, weight: int | None = None) -> Plan:
    out: Plan = {"name": service_name(edge, upstream), "port": service_port(edge.upstream(upstream))}
    if weight is not None:
        out["weight"] = weight
    return out
