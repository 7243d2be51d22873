"""Kubernetes Gateway API: manifests.yaml, a Gateway, its HTTPRoutes and the Services of the
upstreams, for `kubectl apply -f manifests.yaml` on a cluster with a conformant
implementation (`-O impl=generic`), or Envoy Gateway (`-O impl=envoy-gateway`).

The emitter builds the resources as plain data (gateway.py, routes.py, backends.py) and
prints them with ruamel.yaml. Every resource carries the labels edgec.dev/edge and
edgec.dev/env, so `kubectl apply --prune -l edgec.dev/edge=NAME` removes what a previous
build made and this one no longer does.
"""
from __future__ import annotations

import json
import re
import shlex

from edgec import ir
from edgec.targets import BuildContext, Target, yaml_text

from . import backend_traffic, backends, client_traffic, envoy_gateway, gateway, security
from .capabilities import ENVOY_GATEWAY, GENERIC
from .matches import rank
from .names import label
from .routes import Builder, Routes

VERSIONS = "Gateway API v1.6 standard channel; Envoy Gateway v1.9"
IMPLS = {"generic": GENERIC, "envoy-gateway": ENVOY_GATEWAY}
FILE = "manifests.yaml"
NAMESPACE = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
SECRET_NOTE = "# Create the TLS Secret first: "
CA_NOTE = "# Create the CA ConfigMap first: "
CREDENTIALS_NOTE = "# Create the credentials Secret first: "


class GatewayApiTarget(Target):
    name = "gateway-api"
    description = (f"Kubernetes Gateway API ({VERSIONS}): {FILE} with a Gateway, HTTPRoutes, a Service "
                   "(with EndpointSlices) per upstream and a BackendTLSPolicy per upstream reached with TLS, for "
                   "`kubectl apply -f`")
    capabilities = GENERIC
    profiles = {"impl=envoy-gateway": ENVOY_GATEWAY}
    options = {
        "impl": ("generic", "generic: what every conformant implementation does (the standard channel); "
                            "envoy-gateway: Envoy Gateway, with its regex dialect (RE2)"),
        "namespace": ("", "the namespace of every resource (empty: kubectl's current namespace)"),
        "gateway_class": ("edgec", "the GatewayClass the Gateway names (Envoy Gateway's quickstart calls "
                                   "its own 'eg')"),
        "tls_secret": ("", "the Secret (type kubernetes.io/tls) of the HTTPS listeners' certificate; further "
                           "certificates, then the upstreams' client certificates, get -2, -3 (empty: EDGE-tls)"),
    }

    def check(self, ctx: BuildContext) -> None:
        impl = self.option(ctx, "impl")
        if impl not in IMPLS:
            ctx.sink.error("E403", f"impl '{impl}' is unknown", None,
                           hint="use -O impl=generic or -O impl=envoy-gateway")
            return
        for key, pattern, what in (("namespace", NAMESPACE, "a namespace"), ("gateway_class", None, "a name"),
                                   ("tls_secret", None, "a Secret name")):
            value = self.option(ctx, key)
            if value and not (pattern or NAMESPACE).fullmatch(value) or len(value) > 63:
                ctx.sink.error("E403", f"{key} '{value}' is not {what} Kubernetes takes", None,
                               hint="a DNS label: lower-case letters, digits and '-', at most 63 characters")
                return
        self.capabilities = IMPLS[impl]
        before = len(ctx.sink.items)
        super().check(ctx)
        if any(d.severity == "error" for d in ctx.sink.items[before:]):
            return  # a feature the table refuses: the routes would only repeat it
        for up in ctx.edge.upstreams:
            found = backends.problem(up, self._envoy_gateway(ctx))
            if found:
                ctx.unsupported(found[0], up.span, found[1])
        mixed = None if self._envoy_gateway(ctx) else backends.client_cert_problem(ctx.edge)
        if mixed:
            ctx.unsupported(mixed[1], mixed[0].span, "give every upstream with tls the same cert and key, or build "
                                                     "with -O impl=envoy-gateway (a Backend per upstream)")
        if self._envoy_gateway(ctx):
            self._check_regexes(ctx)
            used = {r.auth for r in ctx.edge.routes if r.auth}
            for auth in ctx.edge.auth:
                if isinstance(auth, ir.JwtAuth) and auth.name in used and not auth.jwks_url:
                    ctx.unsupported(f"auth '{auth.name}': a JWT shared secret (Envoy Gateway checks tokens against "
                                    "a JWKS)", auth.span, "give the auth a jwks URL")
            for route, what, hint in backend_traffic.problems(ctx.edge):
                ctx.approximates(what, route.span, hint)
        for p in self._routes(ctx).problems:
            ctx.unsupported(p.what, p.span, p.hint)

    @staticmethod
    def _check_regexes(ctx: BuildContext) -> None:
        from edgec.targets import envoy_regex as regex
        for route in ctx.edge.routes:
            for m in route.matches:
                patterns = [("path regex", m.path.value, True)] if m.path.type == "regex" else []
                patterns += [(f"header '{v.name}' regex", v.value or "", False)
                             for v in (*m.headers, *m.query) if v.type == "regex"]
                for what, pattern, path in patterns:
                    try:
                        regex.full(pattern, path)
                    except regex.Unsupported as err:
                        ctx.unsupported(f"the {what} of route '{route.name}': Envoy's RE2 has no form of it: {err}",
                                        m.span or route.span, "write the pattern without that construct")

    def _meta(self, ctx: BuildContext):
        namespace = self.option(ctx, "namespace")
        labels = {"edgec.dev/edge": label(ctx.edge.name)}
        if ctx.edge.env:
            labels["edgec.dev/env"] = label(ctx.edge.env)

        def meta(name: str) -> dict:
            out: dict = {"name": name}
            if namespace:
                out["namespace"] = namespace
            out["labels"] = dict(labels)
            return out
        return meta

    def _envoy_gateway(self, ctx: BuildContext) -> bool:
        return self.option(ctx, "impl") == "envoy-gateway"

    def _regex(self, ctx: BuildContext):
        if not self._envoy_gateway(ctx):
            return lambda pattern, path: pattern
        from edgec.targets import envoy_regex as regex  # Envoy Gateway hands the pattern to Envoy's RE2

        def translate(pattern: str, path: bool) -> str:
            try:
                return regex.full(pattern, path).text
            except regex.Unsupported:
                return pattern  # reported by check()
        return translate

    def _routes(self, ctx: BuildContext) -> Routes:
        edge = ctx.edge
        meta = self._meta(ctx)
        serving = [lst for lst in edge.listeners if lst.redirect is None]
        groups: dict[str | None, list[ir.Listener]] = {}
        for lst in serving:
            groups.setdefault(lst.hsts.header_value if lst.hsts and lst.tls else None, []).append(lst)
        out = Routes()
        eg = self._envoy_gateway(ctx)
        last = None
        if eg and not edge.access.empty:
            last, answer = envoy_gateway.no_route(edge, meta)
            out.extras[answer["metadata"]["name"]] = answer
        for hsts, listeners in groups.items():
            # Envoy Gateway is told to keep the rules' order (envoy_gateway.proxy): no rank to check
            builder = Builder(edge, self._regex(ctx), meta, gateway.parent_refs(edge, listeners),
                              None if eg else rank,
                              (lambda route: envoy_gateway.direct_response(edge, route, meta)) if eg else None,
                              backends.refs(eg), last)
            suffix = ("hsts" if hsts else "") if len(groups) > 1 else ""
            built = builder.build(suffix, (("Strict-Transport-Security", hsts),) if hsts else ())
            out.plans += built.plans
            out.problems += [p for p in built.problems if p not in out.problems]
            out.extras.update(built.extras)
            for route, rules in built.rules_of.items():
                out.rules_of.setdefault(route, []).extend(rules)
        out.plans += [gateway.redirect_route(edge, lst, meta) for lst in edge.listeners if lst.redirect]
        return out

    def emit(self, ctx: BuildContext) -> dict[str, str]:
        edge = ctx.edge
        meta = self._meta(ctx)
        eg = self._envoy_gateway(ctx)
        secrets = gateway.tls_secrets(edge, self.option(ctx, "tls_secret") or label(edge.name, "tls"))
        cas = backends.ca_configmaps(edge, label(edge.name, "ca"))
        client = None if eg else backends.client_pair(edge)  # Envoy Gateway's Backends carry their own
        proxy = envoy_gateway.proxy(edge, meta) if eg else None
        docs = [gateway.gateway(edge, meta, self.option(ctx, "gateway_class"), secrets, proxy,
                                secrets[client] if client else None)]
        docs += [proxy] if proxy else []
        routes = self._routes(ctx)
        docs += routes.plans + [routes.extras[name] for name in sorted(routes.extras)]
        if proxy:
            docs += client_traffic.policies(edge, meta) + security.policies(edge, routes.rules_of, meta)
            docs += backend_traffic.policies(edge, routes.rules_of, meta)
        for up in (*edge.upstreams, *(security.external_services(edge) if proxy else ())):
            if up.servers:
                docs += backends.resources(edge, up, meta, eg, cas, secrets)
        header = (f"Generated by edgec from edge {json.dumps(edge.name)}"
                  + (f", env {json.dumps(edge.env)}" if edge.env else "") + ". Do not edit.\n"
                  f"Apply: kubectl apply -f {FILE} ({VERSIONS}, -O impl={self.option(ctx, 'impl')})")
        if any(d["kind"] == "Backend" for d in docs):
            header += "\nEnvoy Gateway's Backend API must be enabled (EnvoyGateway extensionApis.enableBackend)"
        namespace = self.option(ctx, "namespace")
        where = f" -n {namespace}" if namespace else ""  # the option's pattern admits no shell metacharacter
        for (cert, key), name in secrets.items():
            header += f"\n{SECRET_NOTE[2:]}kubectl create secret tls {name}{where} --cert={shlex.quote(cert)} " \
                      f"--key={shlex.quote(key)}"
        for ca, name in cas.items():
            header += (f"\n{CA_NOTE[2:]}kubectl create configmap {name}{where} "
                       f"--from-file={backends.CA_KEY}={shlex.quote(ca)}")
        if proxy:
            for command in security.secret_commands(edge, namespace):
                header += f"\n{CREDENTIALS_NOTE[2:]}{command}"
        return {FILE: yaml_text.dump(docs, header)}

    def notes(self, files: dict[str, str]) -> list[str]:
        notes = (SECRET_NOTE, CA_NOTE, CREDENTIALS_NOTE)
        return [line[2:] for line in files.get(FILE, "").splitlines() if line.startswith(notes)]


TARGET = GatewayApiTarget
