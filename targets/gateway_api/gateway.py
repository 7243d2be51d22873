"""IR listeners → the Gateway, its TLS Secrets, and the routes that redirect to HTTPS."""
from __future__ import annotations

from edgec import ir, routing

from .names import label

Plan = dict


def listener_name(lst: ir.Listener) -> str:
    return f"{lst.protocol}-{lst.port}"


def tls_secrets(edge: ir.Edge, base: str) -> dict[tuple[str, str], str]:
    """(certificate file, key file) → the name of the Secret that holds them: `base`, then
    base-2, base-3 for further pairs, the listeners' first, then the upstreams' client
    certificates."""
    pairs = [(lst.tls.cert, lst.tls.key) for lst in edge.listeners if lst.tls]
    pairs += [(up.tls.cert, up.tls.key) for up in edge.upstreams if up.tls and up.tls.cert and up.tls.key]
    out: dict[tuple[str, str], str] = {}
    for pair in pairs:
        if pair not in out:
            out[pair] = base if not out else f"{base}-{len(out) + 1}"
    return out


def gateway(edge: ir.Edge, meta, gateway_class: str, secrets: dict[tuple[str, str], str],
            parameters: Plan | None = None, client: str | None = None) -> Plan:
    """`parameters`: the implementation's own resource the Gateway refers to (infrastructure);
    `client`: the Secret of the certificate presented to every upstream reached with TLS."""
    listeners = []
    for lst in edge.listeners:
        out: Plan = {"name": listener_name(lst), "port": lst.port, "protocol": lst.protocol.upper()}
        if lst.tls:
            out["tls"] = {"mode": "Terminate",
                          "certificateRefs": [{"kind": "Secret", "name": secrets[(lst.tls.cert, lst.tls.key)]}]}
        out["allowedRoutes"] = {"namespaces": {"from": "Same"}}
        listeners.append(out)
    spec: Plan = {"gatewayClassName": gateway_class}
    if parameters:
        group = parameters["apiVersion"].split("/")[0]
        spec["infrastructure"] = {"parametersRef": {"group": group, "kind": parameters["kind"],
                                                    "name": parameters["metadata"]["name"]}}
    spec["listeners"] = listeners
    if client:
        spec["tls"] = {"backend": {"clientCertificateRef": {"kind": "Secret", "name": client}}}
    return {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway", "metadata": meta(label(edge.name)),
            "spec": spec}


def parent_refs(edge: ir.Edge, listeners: list[ir.Listener]) -> list[Plan]:
    return [{"name": label(edge.name), "sectionName": listener_name(lst)} for lst in listeners]


def redirect_route(edge: ir.Edge, lst: ir.Listener, meta) -> Plan:
    """Every request on the listener redirected to HTTPS (the port left out when 443)."""
    assert lst.redirect is not None
    redirect: Plan = {"scheme": "https", "statusCode": lst.redirect.status}
    if lst.redirect.port != routing.DEFAULT_PORTS["https"]:
        redirect["port"] = lst.redirect.port
    return {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
            "metadata": meta(label(edge.name, listener_name(lst), "to-https")),
            "spec": {"parentRefs": parent_refs(edge, [lst]),
                     "rules": [{"name": "to-https",
                                "filters": [{"type": "RequestRedirect", "requestRedirect": redirect}]}]}}
