"""Upstreams → the backends the routes' backendRefs name, and how they are reached with TLS.

Servers given by address become a Service without a selector and one EndpointSlice per
server port (an EndpointSlice's ports apply to all its endpoints); a single server given
by host name becomes an ExternalName Service, which resolves it through the cluster's DNS;
a Service the source names (`service "NAME:PORT"`) is the cluster's own, referred to as
it is.

An upstream spoken to with TLS gets a BackendTLSPolicy: the CA bundle comes from a
ConfigMap (key ca.crt) made from the file the source names, and its hostname is both
the SNI sent and the name the certificate must hold. The standard channel has one client
certificate per Gateway (spec.tls.backend), so generic manifests put the edge's one there;
Envoy Gateway's Backend resource carries a client certificate and `verify off` per
upstream, so with `-O impl=envoy-gateway` such an upstream becomes a Backend instead of a
Service.
"""
from __future__ import annotations

import ipaddress

from edgec import ir

from .envoy_gateway import API as EG_API
from .names import label

Plan = dict
PORT_NAME = "http"
CA_KEY = "ca.crt"  # the ConfigMap key a BackendTLSPolicy's caCertificateRefs read


def service_name(edge: ir.Edge, up: ir.Upstream) -> str:
    return up.servers[0].host if _existing(up) else label(edge.name, up.name)


def _existing(up: ir.Upstream) -> bool:
    """Whether the upstream is a Service the cluster has (`service "NAME:PORT"`)."""
    return bool(up.servers) and up.servers[0].service


def service_port(up: ir.Upstream) -> int:
    """The port backendRefs name: the first server's."""
    return up.servers[0].port


def address_type(host: str) -> str | None:
    try:
        return "IPv6" if ipaddress.ip_address(host).version == 6 else "IPv4"
    except ValueError:
        return None


def is_backend(up: ir.Upstream, envoy_gateway: bool) -> bool:
    """Whether the upstream is Envoy Gateway's Backend: what BackendTLSPolicy cannot say."""
    return envoy_gateway and up.tls is not None and (not up.tls.verify or up.tls.cert is not None)


def tls_hostname(up: ir.Upstream) -> str | None:
    """The name sent as SNI and checked: the tls sni, else the servers' host when it is a name."""
    assert up.tls is not None
    host = up.servers[0].host
    return up.tls.sni or (host if address_type(host) is None else None)


def problem(up: ir.Upstream, envoy_gateway: bool) -> tuple[str, str] | None:
    """Why the upstream's servers cannot be a backend, and what to do instead; or None."""
    if _existing(up) and is_backend(up, envoy_gateway):
        return (f"upstream '{up.name}': verify off or a client certificate needs Envoy Gateway's Backend, which "
                "names servers by address or domain name, not a Service", "name the Service's servers instead")
    named = [s for s in up.servers if address_type(s.host) is None]
    if named and len(up.servers) > 1:
        return (f"upstream '{up.name}': several servers where one is a host name ({named[0].host}): a Service "
                "reaches one DNS name (ExternalName) or addresses (EndpointSlice), not both",
                "give the upstream one host name, or addresses only")
    if up.tls and up.tls.verify and tls_hostname(up) is None:
        return (f"upstream '{up.name}': a BackendTLSPolicy sends and checks a host name, and its servers are "
                "addresses", "give the tls an sni")
    return None


def client_cert_problem(edge: ir.Edge) -> tuple[ir.Upstream, str] | None:
    """Why a Gateway's one client certificate cannot stand for the upstreams', or None."""
    tls = [up for up in edge.upstreams if up.tls]
    first = (tls[0].tls.cert, tls[0].tls.key) if tls else None
    other = next((up for up in tls if (up.tls.cert, up.tls.key) != first), None)
    if other is None:
        return None
    return other, (f"upstream '{other.name}': the Gateway presents one client certificate (spec.tls.backend) "
                   f"to every upstream it reaches with TLS, and upstream '{tls[0].name}' names another (or none)")


def client_pair(edge: ir.Edge) -> tuple[str, str] | None:
    """The one client certificate and key of the upstreams, when they name one."""
    for up in edge.upstreams:
        if up.tls and up.tls.cert and up.tls.key:
            return up.tls.cert, up.tls.key
    return None


def ca_configmaps(edge: ir.Edge, base: str) -> dict[str, str]:
    """CA file → the name of the ConfigMap that holds it: `base`, then base-2, base-3."""
    out: dict[str, str] = {}
    for up in edge.upstreams:
        if up.tls and up.tls.verify and up.tls.ca and up.tls.ca not in out:
            out[up.tls.ca] = base if not out else f"{base}-{len(out) + 1}"
    return out


def resources(edge: ir.Edge, up: ir.Upstream, meta, envoy_gateway: bool, cas: dict[str, str],
              secrets: dict[tuple[str, str], str]) -> list[Plan]:
    """What the upstream's backendRefs name, and its BackendTLSPolicy."""
    name = service_name(edge, up)
    backend = is_backend(up, envoy_gateway)
    out = [_backend(up, name, meta, secrets)] if backend else [] if _existing(up) else _service(up, name, meta)
    if up.tls and up.tls.verify:
        target = {"group": EG_API.split("/")[0], "kind": "Backend"} if backend else {"group": "", "kind": "Service"}
        out.append({"apiVersion": "gateway.networking.k8s.io/v1", "kind": "BackendTLSPolicy",
                    "metadata": meta(label(edge.name, up.name, "tls")),
                    "spec": {"targetRefs": [{**target, "name": name}],
                             "validation": {"caCertificateRefs": [{"group": "", "kind": "ConfigMap",
                                                                   "name": cas[up.tls.ca or ""]}],
                                            "hostname": tls_hostname(up)}}})
    return out


def _service(up: ir.Upstream, name: str, meta) -> list[Plan]:
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


def _backend(up: ir.Upstream, name: str, meta, secrets: dict[tuple[str, str], str]) -> Plan:
    """Envoy Gateway's Backend: the servers, and the TLS settings BackendTLSPolicy lacks."""
    assert up.tls is not None
    endpoints = [{"fqdn": {"hostname": s.host, "port": s.port}} if address_type(s.host) is None
                 else {"ip": {"address": s.host, "port": s.port}} for s in up.servers]
    tls: Plan = {}
    if not up.tls.verify:
        tls["insecureSkipVerify"] = True
        if tls_hostname(up):
            tls["sni"] = tls_hostname(up)
    if up.tls.cert and up.tls.key:
        tls["clientCertificateRef"] = {"kind": "Secret", "name": secrets[(up.tls.cert, up.tls.key)]}
    return {"apiVersion": EG_API, "kind": "Backend", "metadata": meta(name),
            "spec": {"endpoints": endpoints, "tls": tls}}


def refs(envoy_gateway: bool):
    """(edge, upstream, weight) → the backendRef of the upstream, as the profile builds it."""
    def backend_ref(edge: ir.Edge, upstream: str, weight: int | None = None) -> Plan:
        up = edge.upstream(upstream)
        name = service_name(edge, up)
        out: Plan = ({"group": EG_API.split("/")[0], "kind": "Backend", "name": name}
                     if is_backend(up, envoy_gateway) else {"name": name, "port": service_port(up)})
        if weight is not None:
            out["weight"] = weight
        return out
    return backend_ref


backend_ref = refs(False)
