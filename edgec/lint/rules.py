"""The lint rules. Each class is one rule; docs/lint.md lists them with examples."""
from __future__ import annotations

from typing import Iterable, Iterator

from .. import ir
from ..diagnostics import ERROR, WARNING, did_you_mean
from ..syntax import Stmt, Value
from . import Finding, LintContext, Rule, edges, rule


def _decls(ctx: LintContext, kind: str) -> list[Stmt]:
    return [s for s in ctx.doc.edge.body if s.kind == kind]


def _names(ctx: LintContext, kind: str) -> list[str]:
    return [s.args["name"].value for s in _decls(ctx, kind)]


def _route_refs(ctx: LintContext) -> Iterator[tuple[str, Value, Stmt]]:
    """(kind, name value, route) for every upstream / auth reference in routes."""
    for route in _decls(ctx, "route"):
        for item in route.walk():
            if item.kind == "forward":
                for name, _ in item.args["backends"]:
                    yield "upstream", name, route
            elif item.kind == "mirror":
                yield "upstream", item.args["upstream"], route
            elif item.kind == "part":
                yield "upstream", item.args["upstream"], route
            elif item.kind == "auth_ref":
                yield "auth", item.args["name"], route


def _hint(name: str, known: Iterable[str], kind: str) -> str:
    guess = did_you_mean(name, known)
    return f"did you mean '{guess}'?" if guess else f"declare it with `{kind} {name} {{ ... }}`"


@rule
class UndefinedUpstream(Rule):
    code, name, severity = "E104", "undefined-upstream", ERROR
    summary = "a route forwards, mirrors or aggregates to an upstream that is not declared"

    def check(self, ctx):
        known = _names(ctx, "upstream")
        for kind, ref, _ in _route_refs(ctx):
            if kind == "upstream" and ref.value not in known:
                yield Finding(f"upstream '{ref.value}' is not defined", ref.span, _hint(ref.value, known, "upstream"))


@rule
class UndefinedAuth(Rule):
    code, name, severity = "E105", "undefined-auth", ERROR
    summary = "a route uses an auth provider that is not declared"

    def check(self, ctx):
        known = _names(ctx, "auth")
        for kind, ref, _ in _route_refs(ctx):
            if kind == "auth" and ref.value not in known:
                guess = did_you_mean(ref.value, known)
                yield Finding(f"auth '{ref.value}' is not defined", ref.span,
                              f"did you mean '{guess}'?" if guess else
                              f"declare it with `auth jwt {ref.value} {{ ... }}` (or basic, api_key)")


@rule
class DuplicateName(Rule):
    code, name, severity = "E106", "duplicate-name", ERROR
    summary = "two routes, upstreams, auth providers or envs share a name"

    def check(self, ctx):
        for kind in ("route", "upstream", "auth", "env"):
            first: dict[str, Stmt] = {}
            for stmt in _decls(ctx, kind):
                name = stmt.args["name"]
                if name.value in first:
                    line = first[name.value].args["name"].span.line
                    yield Finding(f"{kind} '{name.value}' is already defined on line {line}", name.span,
                                  "rename one of them")
                else:
                    first[name.value] = stmt


@rule
class EnvMissingVariable(Rule):
    code, name, severity = "E107", "env-missing-variable", ERROR
    summary = "a variable the file uses is defined in some environments but not in this one"

    def check(self, ctx):
        if len(ctx.envs) < 2:
            return
        defined = {}
        shared = set()
        for stmt in ctx.doc.edge.body:
            if stmt.kind == "env":
                defined[stmt.args["name"].value] = {a.args["name"].value for a in stmt.body}
            elif stmt.kind == "vars":
                shared |= {a.args["name"].value for a in stmt.body}
        everywhere = set.union(*defined.values()) if defined else set()
        for env_stmt in _decls(ctx, "env"):
            env = env_stmt.args["name"].value
            for var in sorted(everywhere - defined[env] - shared):
                users = [e for e, names in defined.items() if var in names]
                if any(var in ctx.used_variables.get(e, set()) for e in users):
                    yield Finding(f"env '{env}' does not define '{var}' (defined in {', '.join(users)})",
                                  env_stmt.args["name"].span,
                                  f"add `{var} = ...` to env {env}, or a default in `vars {{ }}`")


@rule
class UnusedVariable(Rule):
    code, name, severity = "W303", "unused-variable", WARNING
    summary = "a variable is defined but never used"

    def check(self, ctx):
        used = set().union(*ctx.used_variables.values()) if ctx.used_variables else set()
        if not ctx.used_variables or any(e is None for e in ctx.edges.values()):
            return  # lowering failed somewhere: usage is incomplete
        for stmt in ctx.doc.edge.body:
            if stmt.kind in ("env", "vars"):
                for a in stmt.body:
                    if a.args["name"].value not in used:
                        yield Finding(f"variable '{a.args['name'].value}' is never used", a.args["name"].span,
                                      "remove it, or use it as ${" + a.args["name"].value + "}")


@rule
class UnusedUpstream(Rule):
    code, name, severity = "W301", "unused-upstream", WARNING
    summary = "an upstream no route uses"

    def check(self, ctx):
        used = {ref.value for kind, ref, _ in _route_refs(ctx) if kind == "upstream"}
        for stmt in _decls(ctx, "upstream"):
            if stmt.args["name"].value not in used:
                yield Finding(f"upstream '{stmt.args['name'].value}' is never used", stmt.args["name"].span,
                              "forward a route to it, or remove it")


@rule
class UnusedAuth(Rule):
    code, name, severity = "W302", "unused-auth", WARNING
    summary = "an auth provider no route uses"

    def check(self, ctx):
        used = {ref.value for kind, ref, _ in _route_refs(ctx) if kind == "auth"}
        for stmt in _decls(ctx, "auth"):
            if stmt.args["name"].value not in used:
                yield Finding(f"auth '{stmt.args['name'].value}' is never used", stmt.args["name"].span,
                              f"add `auth {stmt.args['name'].value}` to a route, or remove it")


@rule
class HttpsWithoutCertificate(Rule):
    code, name, severity = "E207", "https-without-certificate", ERROR
    summary = "an https listener has no tls cert/key"

    def check(self, ctx):
        for stmt in _decls(ctx, "listen"):
            has_tls = any(i.kind == "tls" for i in stmt.body or ())
            proto = stmt.args["protocol"].value
            if proto == "https" and not has_tls:
                yield Finding("https listener has no certificate", stmt.args["protocol"].span,
                              'add: tls cert "/path/server.crt" key "/path/server.key"')
            if proto == "http" and has_tls:
                yield Finding("tls on an http listener", stmt.args["protocol"].span, "use `listen https PORT`")


@rule
class HealthTimeoutNotBelowInterval(Rule):
    code, name, severity = "E206", "health-timeout", ERROR
    summary = "a health check's timeout is not shorter than its interval"

    def check(self, ctx):
        for env, edge in edges(ctx):
            for up in edge.upstreams:
                h = up.health
                if h and h.timeout_ms >= h.interval_ms:
                    yield Finding(f"health check of upstream '{up.name}': timeout {h.timeout_ms}ms is not shorter "
                                  f"than the interval {h.interval_ms}ms", up.span,
                                  "make the timeout shorter than `every`")


@rule
class ZeroWeights(Rule):
    code, name, severity = "E204", "zero-weights", ERROR
    summary = "a forward's weights add up to 0: no backend can receive traffic"

    def check(self, ctx):
        for env, edge in edges(ctx):
            for route in edge.routes:
                if isinstance(route.action, ir.Forward) and sum(b.weight for b in route.action.backends) == 0:
                    yield Finding(f"route '{route.name}': forward weights add up to 0", route.span,
                                  "give at least one backend a positive weight")


@rule
class PercentagesNot100(Rule):
    code, name, severity = "W310", "weights-not-100", WARNING
    summary = "a forward written with percentages that do not add up to 100%"

    def check(self, ctx):
        for route in _decls(ctx, "route"):
            for item in route.body:
                if item.kind != "forward":
                    continue
                weights = [w for _, w in item.args["backends"] if w is not None]
                if weights and all(w.kind == "percent" for w in weights):
                    total = sum(w.value for w in weights)
                    if abs(total - 100) > 1e-9:
                        yield Finding(f"forward percentages add up to {total:g}%, not 100%", item.span,
                                      "the shares are relative; make them add up to 100% to say what you mean")


@rule
class DuplicateListener(Rule):
    code, name, severity = "E222", "duplicate-listener", ERROR
    summary = "two listeners on the same address and port"

    def check(self, ctx):
        for env, edge in edges(ctx):
            seen = {}
            for lst in edge.listeners:
                key = (lst.address, lst.port)
                if key in seen:
                    yield Finding(f"two listeners on port {lst.port}", lst.span, "use another port")
                seen[key] = lst


@rule
class ClaimKeyNeedsJwt(Rule):
    code, name, severity = "E214", "claim-key-needs-jwt", ERROR
    summary = "a rate limit keyed by a JWT claim on a route without JWT auth"

    def check(self, ctx):
        for env, edge in edges(ctx):
            kinds = {a.name: a.kind for a in edge.auth}
            for route in edge.routes:
                rl = route.rate_limit
                if rl and rl.key.source == "claim" and kinds.get(route.auth or "") != "jwt":
                    yield Finding(f"route '{route.name}' limits by claim '{rl.key.name}' but has no jwt auth",
                                  route.span, "add `auth NAME` naming a jwt provider, or key by client_ip")


@rule
class RewritePrefixNotMatched(Rule):
    code, name, severity = "E213", "rewrite-prefix-mismatch", ERROR
    summary = "strip_prefix / rewrite prefix names a prefix that some match of the route does not start with"

    def check(self, ctx):
        for env, edge in edges(ctx):
            for route in edge.routes:
                rw = route.rewrite.path
                if rw is None or rw.type != "prefix" or rw.match is None:
                    continue
                base = rw.match.rstrip("/") or "/"
                for m in route.matches:
                    p = m.path
                    ok = p.type != "regex" and (
                        base == "/" or p.value.rstrip("/") == base or p.value.startswith(base + "/"))
                    if not ok:
                        yield Finding(f"route '{route.name}': prefix '{rw.match}' is not a path prefix of its match "
                                      f"'{p.value}'", m.span or route.span,
                                      "the prefix must be the matched path or a leading part of it, element by element")


@rule
class RedirectPrefixNeedsPrefixMatch(Rule):
    code, name, severity = "E223", "redirect-prefix-mismatch", ERROR
    summary = "a `redirect prefix` on a route whose matches are not all path prefixes"

    def check(self, ctx):
        for env, edge in edges(ctx):
            for route in edge.routes:
                a = route.action
                if isinstance(a, ir.Redirect) and a.path and a.path.type == "prefix":
                    if any(m.path.type != "prefix" for m in route.matches):
                        yield Finding(f"route '{route.name}': `redirect prefix` replaces the matched prefix, but a "
                                      "match is not a prefix match", route.span,
                                      "use `redirect path \"/new\"` for a fixed path")


@rule
class UpstreamWithoutServers(Rule):
    code, name, severity = "E216", "upstream-without-servers", ERROR
    summary = "an upstream with no servers"

    def check(self, ctx):
        for env, edge in edges(ctx):
            for up in edge.upstreams:
                if not up.servers:
                    where = f" in env '{env}'" if env else ""
                    yield Finding(f"upstream '{up.name}' has no servers{where}", up.span,
                                  'add: server "host:port"')


@rule
class BackupWithHash(Rule):
    code, name, severity = "E217", "backup-with-hash", ERROR
    summary = "backup servers in an upstream balanced by hash, ip_hash or random (no server is ever 'next')"

    def check(self, ctx):
        for env, edge in edges(ctx):
            for up in edge.upstreams:
                if up.balance in ("hash", "ip_hash", "random") and any(s.backup for s in up.servers):
                    yield Finding(f"upstream '{up.name}': backup servers cannot be used with balance {up.balance}",
                                  up.span, "use round_robin or least_conn, or drop `backup`")
