"""Envoy Gateway SecurityPolicies: the auth a route names and the client address lists.

A route's policy targets the rules of that route in every HTTPRoute (targetRefs with the
rule's name as sectionName); the edge's own lists are a policy on the Gateway. Envoy
Gateway applies only the most specific policy to a rule, so a route's policy carries the
edge's lists too (denied networks of both, allowed networks that both allow).

Credentials never enter the manifests: basic auth and API keys name Secrets, and the
commands that create them from the files and secrets the source names are printed with
the build (`secret_commands`).
"""
from __future__ import annotations

import ipaddress
import itertools
import shlex

from edgec import ir

from .backends import service_name
from .envoy_gateway import API
from .names import label
from .routes import duration

Plan = dict
GROUP = "gateway.networking.k8s.io"
HTPASSWD_KEY = ".htpasswd"  # the key of the Secret Envoy Gateway reads the users from


def policies(edge: ir.Edge, targets: dict[str, list[tuple[str, str]]], meta) -> list[Plan]:
    """The SecurityPolicies of the edge; `targets` maps a route to its (HTTPRoute, rule) pairs."""
    out = []
    if not edge.access.empty:
        out.append(_policy(meta(label(edge.name, "access")),
                           [{"group": GROUP, "kind": "Gateway", "name": label(edge.name)}],
                           {"authorization": authorization(edge.access, ir.Access())}))
    for route in edge.routes:
        spec: Plan = {}
        if route.auth:
            spec.update(_auth(edge, edge.auth_provider(route.auth)))
        if not route.access.empty or not route.require.empty or (spec and not edge.access.empty):
            spec["authorization"] = authorization(edge.access, route.access, jwt_principals(route))
        refs = targets.get(route.name)
        if spec and refs:
            out.append(_policy(meta(label(edge.name, route.name)),
                               [{"group": GROUP, "kind": "HTTPRoute", "name": name, "sectionName": rule}
                                for name, rule in refs], spec))
    return out


def _policy(metadata: Plan, refs: list[Plan], spec: Plan) -> Plan:
    return {"apiVersion": API, "kind": "SecurityPolicy", "metadata": metadata, "spec": {"targetRefs": refs, **spec}}


def _auth(edge: ir.Edge, auth: ir.Auth) -> Plan:
    if isinstance(auth, ir.JwtAuth):
        provider: Plan = {"name": label(auth.name)}
        if auth.issuer:
            provider["issuer"] = auth.issuer
        if auth.audiences:
            provider["audiences"] = list(auth.audiences)
        provider["remoteJWKS"] = {"uri": auth.jwks_url}
        header: Plan = {"name": auth.header}
        if auth.header.lower() == "authorization":
            header["valuePrefix"] = "Bearer "
        provider["extractFrom"] = {"headers": [header]}
        return {"jwt": {"providers": [provider]}}
    if isinstance(auth, ir.BasicAuth):
        return {"basicAuth": {"users": {"name": secret_name(edge, auth)}}}
    if isinstance(auth, ir.ApiKeyAuth):
        return {"apiKeyAuth": {"credentialRefs": [{"name": secret_name(edge, auth)}],
                               "extractFrom": [{"headers": [auth.header]}]}}
    assert isinstance(auth, ir.ExternalAuth)
    service = auth.service
    http: Plan = {"backendRefs": [{"name": service_name(edge, service), "port": service.servers[0].port}]}
    if auth.path:
        http["path"] = auth.path
    if auth.copy_headers:
        http["headersToBackend"] = list(auth.copy_headers)
    return {"extAuth": {"http": http, "headersToExtAuth": list(auth.check_headers),
                        "timeout": duration(auth.timeout_ms), "failOpen": False,
                        "statusOnError": ir.EXTERNAL_AUTH_ERROR_STATUS}}


def external_services(edge: ir.Edge) -> list[ir.Upstream]:
    """The authorization services the routes use, as upstreams (each becomes a Service)."""
    used = {r.auth for r in edge.routes if r.auth}
    return [a.service for a in edge.auth if isinstance(a, ir.ExternalAuth) and a.name in used]


def jwt_principals(route: ir.Route) -> list[Plan]:
    """The route's `require` as JWT principals, any of which lets a verified token in. Envoy
    Gateway matches a claim either as a string or as a string array (valueType), and edgec's
    rule takes both: one principal per way of reading each claim."""
    if route.require.empty:
        return []
    base: Plan = {"provider": label(route.auth or "")}
    if route.require.scopes:
        base["scopes"] = list(route.require.scopes)
    readings = itertools.product(*[[{"name": c.name, "valueType": kind, "values": list(c.values)}
                                    for kind in ("String", "StringArray")] for c in route.require.claims])
    return [{**base, **({"claims": list(claims)} if claims else {})} for claims in readings]


def authorization(outer: ir.Access, inner: ir.Access, jwt: list[Plan] | None = None) -> Plan:
    """Rules a client address must pass for both lists, and a verified token for `jwt` (any
    of those principals): first match wins, so the denied networks of either come first, then
    the networks both allow, each with every JWT principal."""
    rules = []
    deny = [*outer.deny, *inner.deny]
    if deny:
        rules.append({"name": "deny", "action": "Deny", "principal": {"clientCIDRs": _cidrs(deny)}})
    allowed = _intersection(outer.allow, inner.allow)
    cidrs: Plan = {"clientCIDRs": _cidrs(allowed)} if allowed else {}
    if jwt:
        rules += [{"name": f"require-{i + 1}", "action": "Allow", "principal": {**cidrs, "jwt": p}}
                  for i, p in enumerate(jwt)]
    elif allowed:
        rules.append({"name": "allow", "action": "Allow", "principal": cidrs})
    restricted = bool(outer.allow or inner.allow or jwt)
    out: Plan = {"defaultAction": "Deny" if restricted else "Allow"}
    if rules:
        out["rules"] = rules
    return out


def _intersection(a: tuple[str, ...], b: tuple[str, ...]) -> list[str]:
    """The networks inside one of `a` and one of `b` (either list empty: no limit from it)."""
    if not a or not b:
        return list(a or b)
    out = []
    for x in map(ipaddress.ip_network, a):
        for y in map(ipaddress.ip_network, b):
            if x.version == y.version and (x.subnet_of(y) or y.subnet_of(x)):
                inner = x if x.subnet_of(y) else y
                if str(inner) not in out:
                    out.append(str(inner))
    return out


def _cidrs(networks) -> list[str]:
    """CIDRs as the CRD's pattern wants them (a bare address is one host)."""
    return [str(ipaddress.ip_network(n)) for n in networks]


def secret_name(edge: ir.Edge, auth: ir.BasicAuth | ir.ApiKeyAuth) -> str:
    return label(edge.name, auth.name, "users" if isinstance(auth, ir.BasicAuth) else "api-keys")


def secret_commands(edge: ir.Edge, namespace: str) -> list[str]:
    """The kubectl commands that create the Secrets the policies name, from the files and
    secrets the source names (a secret NAME is read from the environment variable NAME)."""
    used = {r.auth for r in edge.routes if r.auth}
    where = f" -n {namespace}" if namespace else ""
    out = []
    for auth in edge.auth:
        if auth.name not in used or not isinstance(auth, (ir.BasicAuth, ir.ApiKeyAuth)):
            continue
        command = f"kubectl create secret generic {secret_name(edge, auth)}{where}"
        if isinstance(auth, ir.BasicAuth):
            source = auth.htpasswd
            if isinstance(source, ir.Secret):
                command += f' --from-literal={HTPASSWD_KEY}="${source.secret}"'
            else:
                command += f" --from-file={HTPASSWD_KEY}={shlex.quote(source)}"
        else:
            command += "".join(f' --from-literal=key{i + 1}="${s.secret}"' for i, s in enumerate(auth.keys))
            if auth.keys_file:
                # one key a line, '#' comments: an env file of file1=KEY, file2=KEY…
                command += (" --from-env-file=<(grep -v '^[[:space:]]*#' " + shlex.quote(auth.keys_file)
                            + " | awk 'NF {print \"file\" NR \"=\" $1}')")
        out.append(command)
    return out

