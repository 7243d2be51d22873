"""SecurityPolicies through Envoy Gateway's translator and the real Envoy: JWT with a JWKS
served on loopback, basic auth and API keys from the Secrets `edgec build` says to create,
client address lists."""
from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

from edgec.pipeline import analyse
from edgec.targets import get
from tests.nginx.support import TEST_HTPASSWD, TEST_PASSWORD, TEST_USER
from tests.runtime.servers import JsonServer
from tests.support import claims, external_auth, tokens

from .support import build

HERE = Path(__file__).resolve().parent


def test_jwt_with_a_jwks_on_loopback(envoy_gateway):
    good, other, jwks_document = tokens.rsa_keys()
    jwks = JsonServer(jwks_document)
    try:
        gw = envoy_gateway(f'''edge "t" {{
          listen http 8080
          upstream app {{ server "127.0.0.1:1" }}
          auth jwt main {{ issuer "{tokens.ISSUER}" jwks "{jwks.url}" audience "{tokens.AUDIENCE}" algorithms RS256 }}
          route api {{ match path prefix "/api" auth main forward app }}
          route open {{ match path prefix "/open" forward app }}
        }}''')
        token = tokens.token(good)
        ok = gw.get("/api/x", [("Authorization", f"Bearer {token}")])
        assert ok.status == 200, ok.body
        assert gw.get("/open").status == 200
        refused = tokens.refused(good, other)
        statuses = {case: gw.get("/api/x", [("Authorization", f"Bearer {bad}")] if bad else []).status
                    for case, bad in refused.items()}
        # declared in the auth.jwt row: Envoy Gateway does not require exp, and answers a
        # valid token for another audience 403
        assert statuses == {case: 200 if case == "no_exp" else 403 if case == "wrong_aud" else 401
                            for case in refused}
    finally:
        jwks.stop()


def test_claims_and_scopes_as_jwt_principals(envoy_gateway):
    """tests/support/claims.py's table; the 403 has no challenge (declared in auth.claims)."""
    with claims.services() as (_, jwks):
        gw = envoy_gateway(claims.edge("127.0.0.1:1", jwks.url, listen="listen http 8080"))
        url = f"http://127.0.0.1:{gw.ports[8080]}"
        claims.wait_for_keys(url, gw.echoes["app"])
        assert claims.failures(url, gw.echoes["app"], challenge=False) == []


def secrets_made_by_the_notes(source: str, tmp_path: Path, env: dict[str, str]) -> dict[str, dict[str, str]]:
    """The Secrets the commands `edgec build` prints create, run by bash with a kubectl that
    records them (kubectl_shim.py)."""
    edge = analyse(source, "test.edge").edge
    target = get("gateway-api")
    files, _ = build(edge, {"impl": "envoy-gateway"})
    commands = [n.split(": ", 1)[1] for n in target.notes(files) if "create secret generic" in n]
    shim = tmp_path / "bin"
    shim.mkdir()
    (shim / "kubectl").write_text(f"#!/bin/sh\nexec {sys.executable} {HERE / 'kubectl_shim.py'} \"$@\"\n")
    (shim / "kubectl").chmod(0o755)
    out = tmp_path / "secrets"
    out.mkdir()
    for command in commands:
        res = subprocess.run(["bash", "-c", command], capture_output=True, text=True, timeout=60,
                             env={**os.environ, **env, "PATH": f"{shim}:{os.environ['PATH']}", "SHIM_OUT": str(out)})
        assert res.returncode == 0, (command, res.stderr)
    return {p.stem: json.loads(p.read_text()) for p in sorted(out.glob("*.json"))}


def test_basic_auth_and_api_keys_from_the_secrets_the_build_names(envoy_gateway, tmp_path):
    htpasswd = tmp_path / "staff's users.htpasswd"  # a quote in the path stays inside its word
    htpasswd.write_text(TEST_HTPASSWD)
    keys = tmp_path / "keys.txt"
    keys.write_text("# partners\nfile-key-1\n\n  file-key-2  \n")
    source = f'''edge "t" {{
      listen http 8080
      upstream app {{ server "127.0.0.1:1" }}
      auth basic staff {{ htpasswd "{htpasswd}" }}
      auth api_key partners {{ header "X-API-Key" keys ${{secret:PARTNER_KEY}} keys_file "{keys}" }}
      route admin {{ match path prefix "/admin" auth staff forward app }}
      route api {{ match path prefix "/api" auth partners forward app }}
      route open {{ match path prefix "/open" forward app }}
    }}'''
    secrets = secrets_made_by_the_notes(source, tmp_path, {"PARTNER_KEY": "k-1 $(not run)"})
    assert secrets == {"t-staff-users": {".htpasswd": TEST_HTPASSWD},
                       "t-partners-api-keys": {"key1": "k-1 $(not run)", "file1": "file-key-1",
                                               "file3": "file-key-2"}}
    gw = envoy_gateway(source, secrets=secrets)
    manifests = gw.files["manifests.yaml"]
    assert "file-key" not in manifests and "k-1" not in manifests and TEST_HTPASSWD not in manifests

    def basic(user, password):
        return [("Authorization", "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode())]
    assert gw.get("/admin").status == 401
    assert gw.get("/admin", basic(TEST_USER, "wrong")).status == 401
    assert gw.get("/admin", basic(TEST_USER, TEST_PASSWORD)).status == 200
    assert gw.get("/api").status == 401
    assert gw.get("/api", [("X-API-Key", "nope")]).status == 401
    for key in ("k-1 $(not run)", "file-key-1", "file-key-2"):
        assert gw.get("/api", [("X-API-Key", key)]).status == 200, key
    assert gw.get("/open").status == 200


def test_the_authorization_service_decides(envoy_gateway):
    with external_auth.services() as (_, authz, dead):
        gw = envoy_gateway(external_auth.edge("127.0.0.1:1", authz.address, dead))
        url = f"http://127.0.0.1:{gw.ports[8080]}"
        declared = "allowed, the client's copy header dropped"
        own_id = "allowed, the client's request id"
        cases = [c for c in external_auth.CASES if c[0] not in (declared, own_id)]
        assert external_auth.failures(url, gw.echoes["app"], authz, cases) == []
        # the request.header.request_id row's difference: this gateway makes its own id even for a
        # client's sane one (the check and the backend still see the same id)
        failed, = external_auth.failures(url, gw.echoes["app"], authz,
                                         [c for c in external_auth.CASES if c[0] == own_id])
        assert failed.startswith(f"{own_id}: backend header x-request-id = ") and failed.endswith(
            ", expected 'req-7'"), failed
        # the auth.external row's difference: a copied header the service does not set keeps the client's value
        assert external_auth.failures(url, gw.echoes["app"], authz, [c for c in external_auth.CASES
                                                                      if c[0] == declared]) == [
            f"{declared}: backend header x-user = 'mallory', expected None"]


def test_a_route_policy_carries_the_edge_lists_and_targets_its_rules(compile_edge, tmp_path, crd_dir):
    from .test_routes import manifests
    docs = manifests(compile_edge, '''edge "t" {
      listen http 8080
      trust_proxies "10.0.0.0/8"
      deny "203.0.113.0/24"
      allow "198.51.100.0/24" "2001:db8::/32"
      upstream a { server "10.0.0.1:80" }
      route office { match host "a.example.com" path prefix "/office" match path prefix "/o2"
                     allow "198.51.100.128/25" "192.0.2.0/24" deny "198.51.100.200" forward a }
      route open { match path prefix "/open" forward a }
    }''', tmp_path, crd_dir, impl="envoy-gateway")
    policies = {d["metadata"]["name"]: d["spec"] for d in docs if d["kind"] == "SecurityPolicy"}
    assert policies["t-access"]["targetRefs"] == [{"group": "gateway.networking.k8s.io", "kind": "Gateway",
                                                   "name": "t"}]
    office = policies["t-office"]
    # every rule of the route, under each host it is repeated for
    assert sorted((r["name"], r["sectionName"]) for r in office["targetRefs"]) == [
        ("t-a.example.com", "office-1"), ("t-a.example.com", "office-2"), ("t-any-host", "office-2")]
    # denied by either list, allowed only where both allow
    assert office["authorization"] == {"defaultAction": "Deny", "rules": [
        {"name": "deny", "action": "Deny", "principal": {"clientCIDRs": ["203.0.113.0/24", "198.51.100.200/32"]}},
        {"name": "allow", "action": "Allow", "principal": {"clientCIDRs": ["198.51.100.128/25"]}}]}
    assert "t-open" not in policies  # the Gateway's policy holds there
    traffic = [d["spec"] for d in docs if d["kind"] == "ClientTrafficPolicy"]
    assert traffic[0]["clientIPDetection"] == {"xForwardedFor": {"trustedCIDRs": ["10.0.0.0/8"]}}


def test_a_jwt_shared_secret_is_refused(compile_edge):
    from .test_routes import errors
    found = errors(compile_edge, '''edge "t" {
      listen http 8080
      upstream a { server "10.0.0.1:80" }
      auth jwt main { issuer "https://i.test/" secret ${secret:JWT_KEY} algorithms HS256 }
      route r { auth main forward a }
    }''', impl="envoy-gateway")
    assert [(d.code, d.line) for d in found] == [("E401", 4)]
    assert "shared secret" in found[0].message and found[0].hint
