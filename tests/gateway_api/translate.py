"""Envoy Gateway's own translator on the gateway-api target's manifests: `egctl x translate`
(github.com/envoyproxy/gateway, built by tools.sh) turns them into the xDS resources Envoy
Gateway would serve its Envoys, and `bootstrap` lays those out as a static bootstrap the
real Envoy runs (what the control plane would stream: listeners with their route
configurations, clusters with their endpoints, TLS secrets).

What a cluster would fill in is filled in here: each Service's cluster IP (the test's echo
backends listen on 127.0.0.1, at the Service port), the GatewayClass of Envoy Gateway's
controller, and the Secrets and ConfigMaps the manifests' header says to create, made by
those very commands' arguments. Envoy Gateway takes a Backend's loopback address only on
its Host infrastructure: a stand-in address goes through the translator instead, and the
bootstrap is given the loopback address back."""
from __future__ import annotations

import base64
import os
import shlex
import subprocess
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from edgec.targets import yaml_text

EGCTL = Path.home() / ".cache" / "edgec-tools" / "bin" / "egctl"
CONTROLLER = "gateway.envoyproxy.io/gatewayclass-controller"
LOOPBACK, STAND_IN = "127.0.0.1", "192.0.2.1"  # TEST-NET-1: never a real server


def egctl() -> Path:
    if not EGCTL.exists():
        message = f"{EGCTL} is missing: run bash tests/gateway_api/tools.sh"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return EGCTL


def cluster_inputs(manifests: str, gateway_class: str, tls: tuple[bytes, bytes] | None,
                   secrets: dict[str, dict[str, str]] | None = None) -> str:
    """The manifests with what the cluster provides: the GatewayClass, cluster IPs, the TLS
    Secret, and `secrets` (name → data: the Secrets `edgec build` says to create)."""
    docs = list(YAML(typ="safe").load_all(manifests))
    for doc in docs:
        if doc["kind"] == "Service" and doc["spec"].get("type") != "ExternalName":
            doc["spec"]["clusterIP"] = LOOPBACK
        for endpoint in doc["spec"].get("endpoints", []) if doc["kind"] == "Backend" else ():
            if endpoint.get("ip", {}).get("address") == LOOPBACK:
                endpoint["ip"]["address"] = STAND_IN
    extra = [{"apiVersion": "gateway.networking.k8s.io/v1", "kind": "GatewayClass", "metadata": {"name": gateway_class},
              "spec": {"controllerName": CONTROLLER}}]
    gateway = next(d for d in docs if d["kind"] == "Gateway")
    for lst in gateway["spec"]["listeners"]:
        for ref in lst.get("tls", {}).get("certificateRefs", []):
            if tls and not any(e["kind"] == "Secret" and e["metadata"]["name"] == ref["name"] for e in extra):
                extra.append({"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls",
                              "metadata": {"name": ref["name"]},
                              "data": {"tls.crt": base64.b64encode(tls[0]).decode(),
                                       "tls.key": base64.b64encode(tls[1]).decode()}})
    namespace = gateway["metadata"].get("namespace")
    for name, data in sorted((secrets or {}).items()):
        extra.append({"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
                      "metadata": {"name": name, **({"namespace": namespace} if namespace else {})},
                      "data": {k: base64.b64encode(v.encode()).decode() for k, v in data.items()}})
    return yaml_text.dump(extra + created(manifests, {e["metadata"]["name"] for e in extra}) + docs, "")


def created(manifests: str, made: set[str]) -> list[dict]:
    """What the header's `kubectl create` commands make (a Secret already in `made` is the
    listeners', made from the test's certificate)."""
    out = []
    for line in manifests.splitlines():
        if not line.startswith("# Create ") or "kubectl create" not in line:
            continue
        words = shlex.split(line[line.index("kubectl create"):])
        args = dict(w[2:].split("=", 1) for w in words if w.startswith("--"))
        if words[2:4] == ["secret", "tls"] and words[4] not in made:
            out.append({"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls",
                        "metadata": {"name": words[4]},
                        "data": {"tls.crt": _base64(args["cert"]), "tls.key": _base64(args["key"])}})
        elif words[2] == "configmap":
            key, path = args["from-file"].split("=", 1)
            out.append({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": words[3]},
                        "data": {key: Path(path).read_text(encoding="utf-8")}})
    return out


def _base64(path: str) -> str:
    return base64.b64encode(Path(path).read_bytes()).decode()


def translate(manifests: str, directory: Path, gateway_class: str = "edgec",
              tls: tuple[bytes, bytes] | None = None, secrets: dict[str, dict[str, str]] | None = None) -> dict:
    """egctl's xDS resources for the manifests (the config dump of the one Gateway)."""
    source = directory / "cluster.yaml"
    source.write_text(cluster_inputs(manifests, gateway_class, tls, secrets), encoding="utf-8")
    res = subprocess.run([str(egctl()), "x", "translate", "--from", "gateway-api", "--to", "xds", "--type", "all",
                          "-o", "yaml", "-f", str(source)], capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    (directory / "xds.yaml").write_text(res.stdout, encoding="utf-8")
    xds = YAML(typ="safe").load(res.stdout)["xds"]
    assert len(xds) == 1, list(xds)
    return next(iter(xds.values()))


def _of(configs: list[dict], kind: str) -> dict:
    return next((c for c in configs if c["@type"].endswith("." + kind)), {})


def bootstrap(dump: dict, admin_port: int, tls: tuple[bytes, bytes] | None = None, inputs: str = "") -> dict:
    """A static bootstrap of the config dump: routes inlined where listeners name them (RDS),
    endpoints where clusters name them (EDS), and the certificate the listeners name (SDS:
    the control plane would stream the Secret) as static secrets; so are the upstreams' CA
    bundles and client certificates, from the Secrets and ConfigMaps of `inputs` (what
    cluster_inputs gave the translator)."""
    configs = dump["configs"]
    routes = {r["routeConfig"]["name"]: r["routeConfig"]
              for r in _of(configs, "RoutesConfigDump").get("dynamicRouteConfigs", [])}
    endpoints = {e["endpointConfig"]["clusterName"]: e["endpointConfig"]
                 for e in _of(configs, "EndpointsConfigDump").get("dynamicEndpointConfigs", [])}
    listeners = []
    for item in _of(configs, "ListenersConfigDump").get("dynamicListeners", []):
        listener = _untyped(item["activeState"]["listener"])
        if listener["name"].startswith("envoy-gateway-proxy-ready"):
            continue  # the control plane's readiness listener, on a fixed port
        listeners.append(_static(listener, routes))
    clusters = []
    for item in _of(configs, "ClustersConfigDump").get("dynamicActiveClusters", []):
        cluster = _untyped(item["cluster"])
        if cluster.get("type") == "EDS":
            cluster.pop("edsClusterConfig")
            cluster["type"] = "STATIC"
            cluster["loadAssignment"] = _untyped(endpoints[cluster["name"]])
        clusters.append(_static(_loopback(cluster), routes))
    names = sorted({ref["name"] for listener in listeners for ref in _found(listener, "tlsCertificateSdsSecretConfigs")})
    secrets = [{"name": name, "tlsCertificate": {
        "certificateChain": {"inlineBytes": base64.b64encode(tls[0]).decode()},
        "privateKey": {"inlineBytes": base64.b64encode(tls[1]).decode()}}} for name in names if tls]
    taken = {secret["name"] for secret in secrets}
    secrets += [secret for secret in _upstream_secrets(clusters, list(YAML(typ="safe").load_all(inputs)) if inputs
                                                       else []) if secret["name"] not in taken]
    static = {"listeners": listeners, "clusters": clusters}
    if secrets:
        static["secrets"] = secrets
    return {"admin": {"address": {"socketAddress": {"address": "127.0.0.1", "portValue": admin_port}}},
            "staticResources": static}


def _upstream_secrets(clusters: list[dict], resources: list[dict]) -> list[dict]:
    """Envoy Gateway names an upstream's CA "POLICY/NAMESPACE-ca" (the BackendTLSPolicy's
    ConfigMap) and its client certificate "NAMESPACE/SECRET"."""
    by_kind = {(r["kind"], r["metadata"]["name"]): r for r in resources}
    out: dict[str, dict] = {}
    for ref in _found(clusters, "tlsCertificateSdsSecretConfigs"):
        secret = by_kind[("Secret", ref["name"].split("/", 1)[1])]["data"]
        out[ref["name"]] = {"name": ref["name"], "tlsCertificate": {
            "certificateChain": {"inlineBytes": secret["tls.crt"]}, "privateKey": {"inlineBytes": secret["tls.key"]}}}
    for context in _values(clusters, "validationContextSdsSecretConfig"):
        policy = by_kind[("BackendTLSPolicy", context["name"].split("/", 1)[0])]
        bundle = "".join(by_kind[("ConfigMap", ref["name"])]["data"]["ca.crt"]
                         for ref in policy["spec"]["validation"]["caCertificateRefs"])
        out[context["name"]] = {"name": context["name"], "validationContext": {"trustedCa": {"inlineString": bundle}}}
    return [out[name] for name in sorted(out)]


def _loopback(node):
    """The node with the stand-in address of cluster_inputs given back its loopback one."""
    if isinstance(node, list):
        return [_loopback(x) for x in node]
    if isinstance(node, dict):
        return {k: LOOPBACK if k == "address" and v == STAND_IN else _loopback(v) for k, v in node.items()}
    return node


def _values(node, key: str) -> list:
    """Every value held under `key` anywhere in node."""
    if isinstance(node, list):
        return [x for item in node for x in _values(item, key)]
    if not isinstance(node, dict):
        return []
    return [x for k, v in node.items() for x in ([v] if k == key else _values(v, key))]


def _found(node, key: str) -> list:
    """Every item of the lists held under `key` anywhere in node."""
    return [x for items in _values(node, key) for x in items]


def _untyped(resource: dict) -> dict:
    """A resource of the dump as a bootstrap field holds it (without its Any type URL)."""
    return {k: v for k, v in resource.items() if k != "@type"}


def _static(node, routes: dict):
    """The node with RDS references replaced by the route configuration and SDS references
    pointed at static secrets."""
    if isinstance(node, list):
        return [_static(x, routes) for x in node]
    if not isinstance(node, dict):
        return node
    out = {}
    for key, value in node.items():
        if key == "rds":
            out["routeConfig"] = _untyped(routes[value["routeConfigName"]])
        elif key == "sdsConfig":
            continue
        else:
            out[key] = _static(value, routes)
    return out
