"""Upstreams as backends: TLS to them as BackendTLSPolicies (CA ConfigMaps, the name sent and
checked), the edge's client certificate on the Gateway (generic) or on Envoy Gateway's
Backend, `verify off` refused where the standard channel cannot say it. Every build is
validated against the pinned CRDs; the behaviour runs through Envoy Gateway's translator
on the real Envoy against HTTPS echo backends (tests/support/upstream_tls.py), where a
failed check is the status the capability table declares."""
from __future__ import annotations

import json
import shlex
import urllib.request

from ruamel.yaml import YAML

from edgec.harness.echo import EchoServer
from edgec.harness.gateways import Envoy
from edgec.pipeline import analyse
from edgec.targets import yaml_text
from edgec.targets.gateway_api.capabilities import FAILED_CONNECTION
from tests.conftest import free_port
from tests.support import upstream_tls
from tests.support.hostile import HOSTILE, edge_string

from .support import build, validate
from .test_routes import errors, manifests
from .translate import bootstrap, translate

TLS_EDGE = '''edge "t" {
  listen http 8080
  upstream a { server "10.0.0.1:8443" tls ca "/etc/edge/ca.pem" sni "a.internal" cert "/etc/edge/edge.pem" key "/etc/edge/edge.key" }
  upstream b { server "b.internal:443" tls ca "/etc/edge/b ca.pem" cert "/etc/edge/edge.pem" key "/etc/edge/edge.key" }
  route a { match path prefix "/a" forward a }
  route b { match path prefix "/b" forward b }
}'''


def kinds(docs, kind):
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == kind}


def test_a_tls_upstream_gets_a_backend_tls_policy_and_the_gateway_its_client_certificate(compile_edge, tmp_path,
                                                                                        crd_dir):
    docs = manifests(compile_edge, TLS_EDGE, tmp_path, crd_dir)
    policies = kinds(docs, "BackendTLSPolicy")
    assert policies["t-a-tls"]["spec"] == {
        "targetRefs": [{"group": "", "kind": "Service", "name": "t-a"}],
        "validation": {"caCertificateRefs": [{"group": "", "kind": "ConfigMap", "name": "t-ca"}],
                       "hostname": "a.internal"}}
    # without sni the server's host name is sent and checked
    assert policies["t-b-tls"]["spec"]["validation"] == {
        "caCertificateRefs": [{"group": "", "kind": "ConfigMap", "name": "t-ca-2"}], "hostname": "b.internal"}
    gateway = next(iter(kinds(docs, "Gateway").values()))
    assert gateway["spec"]["tls"] == {"backend": {"clientCertificateRef": {"kind": "Secret", "name": "t-tls"}}}
    header = (tmp_path / "manifests.yaml").read_text().split("\n---", 1)[0]
    assert "kubectl create secret tls t-tls --cert=/etc/edge/edge.pem --key=/etc/edge/edge.key" in header
    assert "kubectl create configmap t-ca --from-file=ca.crt=/etc/edge/ca.pem" in header
    assert "kubectl create configmap t-ca-2 --from-file=ca.crt='/etc/edge/b ca.pem'" in header


def test_envoy_gateway_gives_a_backend_what_the_policy_cannot_say(compile_edge, tmp_path, crd_dir):
    docs = manifests(compile_edge, TLS_EDGE.replace('upstream b { server "b.internal:443" tls ca "/etc/edge/b ca.pem"',
                                                    'upstream b { server "b.internal:443" tls verify off'),
                     tmp_path, crd_dir, impl="envoy-gateway")
    backends = kinds(docs, "Backend")
    assert backends["t-a"]["spec"] == {"endpoints": [{"ip": {"address": "10.0.0.1", "port": 8443}}],
                                       "tls": {"clientCertificateRef": {"kind": "Secret", "name": "t-tls"}}}
    assert backends["t-b"]["spec"]["tls"] == {"insecureSkipVerify": True, "sni": "b.internal",
                                              "clientCertificateRef": {"kind": "Secret", "name": "t-tls"}}
    # the name and CA are still checked by the standard policy, now aimed at the Backend
    assert kinds(docs, "BackendTLSPolicy")["t-a-tls"]["spec"]["targetRefs"] == [
        {"group": "gateway.envoyproxy.io", "kind": "Backend", "name": "t-a"}]
    assert set(kinds(docs, "BackendTLSPolicy")) == {"t-a-tls"}
    assert not kinds(docs, "Service")
    assert "tls" not in next(iter(kinds(docs, "Gateway").values()))["spec"]
    rules = next(iter(kinds(docs, "HTTPRoute").values()))["spec"]["rules"]
    assert rules[0]["backendRefs"] == [{"group": "gateway.envoyproxy.io", "kind": "Backend", "name": "t-a"}]


def test_what_the_standard_channel_cannot_say_is_refused_at_the_upstream(compile_edge):
    found = errors(compile_edge, TLS_EDGE.replace('ca "/etc/edge/b ca.pem"', 'verify off'))
    assert [(d.code, d.line) for d in found] == [("E401", 4)]
    assert "[upstream.tls.no_verify]" in found[0].message
    # one client certificate per Gateway: an upstream without it would be sent it
    found = errors(compile_edge, TLS_EDGE.replace('ca "/etc/edge/b ca.pem" cert "/etc/edge/edge.pem" '
                                                  'key "/etc/edge/edge.key"', 'ca "/etc/edge/ca.pem"'))
    assert [(d.code, d.line) for d in found] == [("E401", 4)]
    assert "spec.tls.backend" in found[0].message and "upstream 'a'" in found[0].message
    # an address is no name to send and check
    found = errors(compile_edge, TLS_EDGE.replace('sni "a.internal" ', ''))
    assert [(d.code, d.line) for d in found] == [("E401", 3)]
    assert "sends and checks a host name" in found[0].message and found[0].hint == "give the tls an sni"


def test_hostile_file_names_stay_one_word_of_the_printed_commands(compile_edge, tmp_path, crd_dir):
    ca, cert = "/ca " + HOSTILE, "/c$(x)" + HOSTILE
    manifests(compile_edge, f'''edge "t" {{
      listen http 8080
      upstream a {{ server "a.internal:443" tls ca {edge_string(ca)} cert {edge_string(cert)} key "/k" }}
      route a {{ forward a }}
    }}''', tmp_path, crd_dir)
    lines = [line for line in (tmp_path / "manifests.yaml").read_text().splitlines() if "kubectl create" in line]
    commands = [shlex.split(line[line.index("kubectl"):]) for line in lines]
    assert commands == [["kubectl", "create", "secret", "tls", "t-tls", f"--cert={cert}", "--key=/k"],
                        ["kubectl", "create", "configmap", "t-ca", f"--from-file=ca.crt={ca}"]]


def _run(source: str, options: dict, tmp_path, port: int, crd_dir, only: tuple[str, ...] = (),
         failed: int = 502) -> list[str]:
    result = analyse(source, "u.edge")
    assert result.edge is not None, [d.message for d in result.diagnostics]
    files, diagnostics = build(result.edge, options)
    assert files is not None, [d.message for d in diagnostics if d.severity == "error"]
    (tmp_path / "manifests.yaml").write_text(files["manifests.yaml"], encoding="utf-8")
    verdict = validate(tmp_path / "manifests.yaml", crd_dir)
    assert verdict["ok"], verdict["output"]
    admin = free_port()
    dump = translate(files["manifests.yaml"], tmp_path)
    config = tmp_path / "envoy.yaml"
    config.write_text(yaml_text.dump([bootstrap(dump, admin, inputs=(tmp_path / "cluster.yaml").read_text())],
                                     "translated by egctl"), encoding="utf-8")
    with Envoy(config, [port], admin):
        return upstream_tls.failures(f"http://127.0.0.1:{port}", only, failed)


def test_tls_to_upstreams_through_envoy_gateway(tmp_path, crd_dir):
    port = free_port()
    with upstream_tls.Backends(tmp_path / "certs") as backends:
        source = upstream_tls.edge(backends, listen=f"listen http {port}")
        assert _run(source, {"impl": "envoy-gateway"}, tmp_path, port, crd_dir) == []


def test_tls_to_upstreams_with_the_gateways_client_certificate(tmp_path, crd_dir):
    # generic: one client certificate for every upstream, so every one names it; the plain
    # backends ask for none, the mutual one takes it
    port = free_port()
    with upstream_tls.Backends(tmp_path / "certs") as backends:
        cert = f'cert "{backends.edge_cert}" key "{backends.edge_key}"'
        only = ("verified", "wrong_ca", "wrong_name", "mutual")
        source = upstream_tls.edge(backends, listen=f"listen http {port}", client_cert=cert, only=only)
        # no BackendTrafficPolicy to make Envoy's 503 a 502 (the generic upstream.tls row)
        assert _run(source, {}, tmp_path, port, crd_dir, only, FAILED_CONNECTION) == []


SERVICE_EDGE = '''edge "t" {
  listen http 8080
  upstream users { service "users:8080" tls ca "/etc/edge/ca.pem" }
  route r { forward users }
}'''


def test_a_service_the_cluster_has_is_referred_to_and_not_written(compile_edge, tmp_path, crd_dir):
    docs = manifests(compile_edge, SERVICE_EDGE, tmp_path, crd_dir)
    assert not kinds(docs, "Service") and not kinds(docs, "EndpointSlice")
    rules = next(iter(kinds(docs, "HTTPRoute").values()))["spec"]["rules"]
    assert rules[0]["backendRefs"] == [{"name": "users", "port": 8080}]
    assert kinds(docs, "BackendTLSPolicy")["t-users-tls"]["spec"] == {
        "targetRefs": [{"group": "", "kind": "Service", "name": "users"}],
        "validation": {"caCertificateRefs": [{"group": "", "kind": "ConfigMap", "name": "t-ca"}],
                       "hostname": "users"}}


def test_envoy_gateway_refuses_a_backend_of_a_service(compile_edge):
    found = errors(compile_edge, SERVICE_EDGE.replace('ca "/etc/edge/ca.pem"', "verify off"), impl="envoy-gateway")
    assert [(d.code, d.line) for d in found] == [("E401", 3)]
    assert "not a Service" in found[0].message


def test_a_service_reference_reaches_the_services_endpoints(tmp_path, crd_dir):
    # the cluster's Service (here made by the test, as the cluster would have it) is what
    # Envoy Gateway resolves the backendRef to
    echo = EchoServer("users").start()
    try:
        port = free_port()
        result = analyse(f'edge "t" {{\n  listen http {port}\n  upstream users {{ service "users:{echo.port}" }}\n'
                         '  route r { forward users }\n}', "t.edge")
        files, diagnostics = build(result.edge, {"impl": "envoy-gateway"})
        assert files is not None, [d.message for d in diagnostics if d.severity == "error"]
        service = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "users"},
                   "spec": {"ports": [{"name": "http", "port": echo.port, "protocol": "TCP"}]}}
        endpoints = {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
                     "metadata": {"name": "users-1", "labels": {"kubernetes.io/service-name": "users"}},
                     "addressType": "IPv4", "ports": [{"name": "http", "port": echo.port, "protocol": "TCP"}],
                     "endpoints": [{"addresses": ["127.0.0.1"], "conditions": {"ready": True}}]}
        admin = free_port()
        cluster = [service, endpoints, *YAML(typ="safe").load_all(files["manifests.yaml"])]
        dump = translate(yaml_text.dump(cluster, ""), tmp_path)
        config = tmp_path / "envoy.yaml"
        config.write_text(yaml_text.dump([bootstrap(dump, admin)], "translated by egctl"), encoding="utf-8")
        with Envoy(config, [port], admin):
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/x", timeout=20) as answer:
                assert json.loads(answer.read())["backend"] == "users"
    finally:
        echo.stop()
