"""The lint rules. Each class is one rule; docs/lint.md lists them with examples."""
from __future__ import annotations

import ipaddress
from typing import Iterable, Iterator

from .. import ir
from ..diagnostics import did_you_mean
from ..routing import per_edge
from ..syntax import Stmt
from . import Finding, LintContext, Rule, edges, rule


def _decls(ctx: LintContext, kind: str) -> list[Stmt]:
    """edgec.names.blocks, from the walk the context keeps."""
    return ctx.decls.get(kind, [])


def _names(ctx: LintContext, kind: str) -> list[str]:
    return [s.args["name"].value for s in _decls(ctx, kind)]


def _statement(ctx: LintContext, node: ir.Route | ir.Upstream, kind: str, which: int = 0):
    """Where the route's or upstream's `kind` statement number `which` is written (the name if nowhere)."""
    stmt = ctx.named.get(("route" if isinstance(node, ir.Route) else "upstream", node.name))
    if stmt is None:
        return node.span
    items = [item for item in stmt.body if item.kind == kind]
    if items:
        return items[min(which, len(items) - 1)].span
    return stmt.args["name"].span


def _duration(ms: int) -> str:
    """Milliseconds as the source would write them: the largest unit that divides evenly."""
    for unit, size in (("h", 3_600_000), ("m", 60_000), ("s", 1000)):
        if ms and ms % size == 0:
            return f"{ms // size}{unit}"
    return f"{ms}ms"


def _hint(name: str, known: Iterable[str], kind: str) -> str:
    guess = did_you_mean(name, known)
    return f"did you mean '{guess}'?" if guess else f"declare it with `{kind} {name} {{ ... }}`"


@rule
class UndefinedUpstream(Rule):
    code = "E104"
    scope = "file"

    def check(self, ctx):
        known = _names(ctx, "upstream")
        for kind, ref, _ in ctx.route_references:
            if kind == "upstream" and ref.value not in known:
                yield Finding(f"upstream '{ref.value}' is not defined", ref.span, _hint(ref.value, known, "upstream"))


@rule
class UndefinedAuth(Rule):
    code = "E105"
    scope = "file"

    def check(self, ctx):
        known = _names(ctx, "auth")
        for kind, ref, _ in ctx.route_references:
            if kind == "auth" and ref.value not in known:
                guess = did_you_mean(ref.value, known)
                yield Finding(f"auth '{ref.value}' is not defined", ref.span,
                              f"did you mean '{guess}'?" if guess else
                              f"declare it with `auth jwt {ref.value} {{ ... }}` (or basic, api_key, external)")


@rule
class DuplicateName(Rule):
    code = "E106"
    scope = "file"

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


def _env_items(ctx: LintContext, kind: str) -> Iterator[tuple[Stmt, Stmt]]:
    """(env or vars block, item) for each of its items of `kind` (assign, target)."""
    for block in sorted(_decls(ctx, "env") + _decls(ctx, "vars"), key=lambda b: b.span):  # as written
        for item in block.body:
            if item.kind == kind:
                yield block, item


def _unused_variables(ctx: LintContext) -> Iterator[tuple[Stmt, Stmt]]:
    """(env or vars block, assignment) of each variable no env uses; nothing while lowering
    failed somewhere (usage is incomplete then)."""
    if not ctx.used_variables or any(e is None for e in ctx.edges.values()):
        return
    used = set().union(*ctx.used_variables.values())
    for block, a in _env_items(ctx, "assign"):
        if a.args["name"].value not in used:
            yield block, a


def _target_input(ctx: LintContext, name: str) -> tuple[str, str] | None:
    """(target, key) when a variable is named like a target's setting once was (`aws_region`)."""
    target, sep, key = name.partition("_")
    return (target, key) if sep and key and target in ctx.target_names else None


@rule
class UnusedVariable(Rule):
    code = "W303"

    def check(self, ctx):
        for _, a in _unused_variables(ctx):
            name = a.args["name"].value
            if not _target_input(ctx, name):  # E114 says what to do with those
                yield Finding(f"variable '{name}' is never used", a.args["name"].span,
                              "remove it, or use it as ${" + name + "}")


@rule
class TargetInputVariable(Rule):
    """Once per env or vars block and target, at its first such variable: one block replaces them all."""
    code = "E114"

    def check(self, ctx):
        found: dict[tuple[int, str], list[tuple[Stmt, Stmt, str]]] = {}
        for block, a in _unused_variables(ctx):
            old = _target_input(ctx, a.args["name"].value)
            if old:
                found.setdefault((id(block), old[0]), []).append((block, a, old[1]))
        for (_, target), assignments in found.items():
            block = assignments[0][0]
            names = [f"'{a.args['name'].value}'" for _, a, _ in assignments]
            lines = " ".join(f"{key} {_source(ctx, a.args['value'].span)}" for _, a, key in assignments)
            where = f"env {block.args['name'].value}" if block.kind == "env" else "vars"
            yield Finding(f"{'variable ' if len(names) == 1 else 'variables '}{' and '.join(names)} "
                          f"{'is' if len(names) == 1 else 'are'} no longer read by the {target} target: "
                          f"its settings are written in a `target {target} {{ }}` block",
                          assignments[0][1].args["name"].span,
                          f"in this {where} block, write instead: target {target} {{ {lines} }}")


@rule
class UnknownTarget(Rule):
    code = "E113"
    scope = "file"

    def check(self, ctx):
        for _, item in _env_items(ctx, "target"):
            name = item.args["name"]
            if name.value not in ctx.target_names:
                guess = did_you_mean(name.value, ctx.target_names)
                yield Finding(f"there is no target '{name.value}'", name.span,
                              f"did you mean '{guess}'?" if guess else "targets: " + ", ".join(ctx.target_names))


def _source(ctx: LintContext, span) -> str:
    """A value as it was written, on one line."""
    from ..fmt import one_line
    lines = ctx.doc.source.split("\n")[span.line - 1:span.end_line]
    lines[-1] = lines[-1][:span.end_column - 1]
    lines[0] = lines[0][span.column - 1:]
    return one_line("\n".join(lines))


@rule
class UnusedUpstream(Rule):
    code = "W301"
    scope = "file"

    def check(self, ctx):
        used = {ref.value for kind, ref, _ in ctx.route_references if kind == "upstream"}
        for stmt in _decls(ctx, "upstream"):
            if stmt.args["name"].value not in used:
                yield Finding(f"upstream '{stmt.args['name'].value}' is never used", stmt.args["name"].span,
                              "forward a route to it, or remove it")


@rule
class UnusedAuth(Rule):
    code = "W302"
    scope = "file"

    def check(self, ctx):
        used = {ref.value for kind, ref, _ in ctx.route_references if kind == "auth"}
        for stmt in _decls(ctx, "auth"):
            if stmt.args["name"].value not in used:
                yield Finding(f"auth '{stmt.args['name'].value}' is never used", stmt.args["name"].span,
                              f"add `auth {stmt.args['name'].value}` to a route, or remove it")


@rule
class HttpsWithoutCertificate(Rule):
    code = "E207"
    scope = "file"

    def check(self, ctx):
        for stmt in _decls(ctx, "listen"):
            has_tls = any(i.kind == "tls" for i in stmt.body or ())
            proto = stmt.args["protocol"].value
            if proto == "https" and not has_tls:
                yield Finding("https listener has no certificate", stmt.args["protocol"].span,
                              'add: tls cert "/path/server.crt" key "/path/server.key"')
            if proto == "http" and has_tls:
                yield Finding("tls on an http listener", stmt.args["protocol"].span, "use `listen https PORT`")
            # HTTP/2 is offered through TLS (ALPN), as browsers speak it; cleartext h2c is not
            # offered by any target, so asking for it is an error rather than a silent HTTP/1.1
            for item in stmt.body or ():
                if proto == "http" and item.kind == "http2":
                    yield Finding("http2 on an http listener: HTTP/2 is offered over TLS only", item.span,
                                  "use `listen https PORT` with `tls ...`, or remove http2")
                if proto == "http" and item.kind == "client_cert":
                    yield Finding("client_cert on an http listener: client certificates come with TLS", item.span,
                                  "use `listen https PORT` with `tls ...`, or remove client_cert")


@rule
class HealthTimeoutNotBelowInterval(Rule):
    code = "E206"
    scope = "env"

    def check(self, ctx):
        for env, edge in edges(ctx):
            for up in edge.upstreams:
                h = up.health
                if h and h.timeout_ms >= h.interval_ms:
                    yield Finding(f"health check of upstream '{up.name}': timeout {_duration(h.timeout_ms)} is not "
                                  f"shorter than the interval {_duration(h.interval_ms)}",
                                  _statement(ctx, up, "health"),
                                  "make the timeout shorter than `every`")


@rule
class ZeroWeights(Rule):
    code = "E204"
    scope = "env"

    def check(self, ctx):
        for env, edge in edges(ctx):
            for route in _routes_with(edge).zero_weights:
                yield Finding(f"route '{route.name}': forward weights add up to 0",
                              _statement(ctx, route, "forward"),
                              "give at least one backend a positive weight")


@rule
class PercentagesNot100(Rule):
    code = "W310"
    scope = "file"

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
    code = "E222"
    scope = "env"

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
    code = "E214"
    scope = "env"

    def check(self, ctx):
        for route in _routes_without_jwt(ctx, "rate_limit"):
            rl = route.rate_limit
            if rl.key.source == "claim":
                yield Finding(f"route '{route.name}' limits by claim '{rl.key.name}' but has no jwt auth",
                              _statement(ctx, route, "rate_limit"),
                              "add `auth NAME` naming a jwt provider, or key by client_ip")


@rule
class RequireNeedsJwt(Rule):
    code = "E230"
    scope = "env"

    def check(self, ctx):
        for route in _routes_without_jwt(ctx, "require"):
            what = "claims" if route.require.claims else "scopes"
            yield Finding(f"route '{route.name}' requires {what} of a token but has no jwt auth",
                          _statement(ctx, route, "require"),
                          "add `auth NAME` naming a jwt provider: its verified token is what `require` reads")


def _routes_without_jwt(ctx, kind: str):
    """The routes of every environment with `kind` (see _Routes) whose auth is no jwt provider:
    no verified token's claims."""
    for env, edge in edges(ctx):
        jwt = {a.name for a in edge.auth if a.kind == "jwt"}
        yield from (r for r in getattr(_routes_with(edge), kind) if r.auth not in jwt)


class _Routes:
    """An env's routes that have what one of the per-route rules checks, sorted out in one
    walk: at 10,000 routes, a walk of its own for each rule cost more than what they check."""

    __slots__ = ("zero_weights", "redirect", "rate_limit", "require", "path_rewrite", "cache", "retry", "mirrors")

    def __init__(self, routes: tuple[ir.Route, ...]):
        for name in self.__slots__:
            setattr(self, name, [])
        for route in routes:
            action = route.action
            if isinstance(action, ir.Forward):
                backends = action.backends  # weights are never negative: the first one mostly settles it
                if not (backends and backends[0].weight) and not any(b.weight for b in backends):
                    self.zero_weights.append(route)
            elif isinstance(action, ir.Redirect):
                self.redirect.append(route)
            if route.rate_limit is not None:
                self.rate_limit.append(route)
            if not route.require.empty:
                self.require.append(route)
            if route.rewrite.path is not None:
                self.path_rewrite.append(route)
            if route.cache is not None:
                self.cache.append(route)
            if route.retry.attempts:
                self.retry.append(route)
            if route.mirrors:
                self.mirrors.append(route)


@per_edge
def _routes_with(edge: ir.Edge) -> _Routes:
    return _Routes(edge.routes)


@rule
class RewritePrefixNotMatched(Rule):
    code = "E213"
    scope = "env"

    def check(self, ctx):
        for env, edge in edges(ctx):
            for route in _routes_with(edge).path_rewrite:
                rw = route.rewrite.path
                if rw.type != "prefix" or rw.match is None:
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
    code = "E223"
    scope = "env"

    def check(self, ctx):
        for env, edge in edges(ctx):
            for route in _routes_with(edge).redirect:
                a = route.action
                if a.path and a.path.type == "prefix":
                    if any(m.path.type != "prefix" for m in route.matches):
                        yield Finding(f"route '{route.name}': `redirect prefix` replaces the matched prefix, but a "
                                      "match is not a prefix match", _statement(ctx, route, "redirect"),
                                      "use `redirect path \"/new\"` for a fixed path")


@rule
class UpstreamWithoutServers(Rule):
    code = "E216"
    scope = "env"

    def check(self, ctx):
        for env, edge in edges(ctx):
            for up in edge.upstreams:
                if not up.servers:
                    where = f" in env '{env}'" if env else ""
                    yield Finding(f"upstream '{up.name}' has no servers{where}", _statement(ctx, up, "servers"),
                                  'add: server "host:port"')


@rule
class ServiceWithServers(Rule):
    """A Service is one backend whose endpoints the cluster keeps: servers beside it have no
    meaning a Gateway API backendRef could keep."""
    code = "E227"
    scope = "env"

    def check(self, ctx):
        for env, edge in edges(ctx):
            for up in edge.upstreams:
                if any(s.service for s in up.servers) and len(up.servers) > 1:
                    where = f" in env '{env}'" if env else ""
                    yield Finding(f"upstream '{up.name}' names a Service and servers too{where}",
                                  _statement(ctx, up, "service"),
                                  "give the Service its own upstream, and weigh the two in the route's forward")


@rule
class BackupWithHash(Rule):
    code = "E217"
    scope = "env"

    def check(self, ctx):
        for env, edge in edges(ctx):
            for up in edge.upstreams:
                if up.balance in ("hash", "ip_hash", "random") and any(s.backup for s in up.servers):
                    yield Finding(f"upstream '{up.name}': backup servers cannot be used with balance {up.balance}",
                                  _statement(ctx, up, "balance"), "use round_robin or least_conn, or drop `backup`")


@rule
class DuplicateVariable(Rule):
    code = "E111"
    scope = "file"

    def check(self, ctx):
        first: dict[tuple[int, str], Stmt] = {}  # by (block, name)
        for block, a in _env_items(ctx, "assign"):
            name = a.args["name"]
            earlier = first.setdefault((id(block), name.value), a)
            if earlier is not a:
                yield Finding(f"variable '{name.value}' is already set on line {earlier.span.line}",
                              name.span, "remove one of the two assignments")


@rule
class DuplicateServer(Rule):
    code = "W311"
    scope = "env"

    def check(self, ctx):
        for env, edge in edges(ctx):
            for up in edge.upstreams:
                seen = set()
                for i, server in enumerate(up.servers):
                    if server.address in seen:
                        yield Finding(f"upstream '{up.name}' lists server {server.address} twice"
                                      + (f" in env '{env}'" if env else ""), self._where(ctx, up, i),
                                      "list each server once; give it a weight to send it more traffic")
                    seen.add(server.address)

    @staticmethod
    def _where(ctx, up: ir.Upstream, index: int):
        """The `server` line of the index-th server when each line gave one; else the upstream's name."""
        stmt = ctx.named.get(("upstream", up.name))
        lines = stmt.body if stmt is not None else ()
        servers = [item for item in lines if item.kind in ("server", "servers")]
        if len(servers) == len(up.servers) and all(item.kind == "server" for item in servers):
            return servers[index].span
        return _statement(ctx, up, "")


@rule
class PerTryTimeoutNotBelowTimeout(Rule):
    code = "W312"
    scope = "file"

    def check(self, ctx):
        for stmt in _decls(ctx, "route"):
            for item in stmt.body:
                if item.kind == "timeout" and item.args["per_try"] is not None:
                    request, per_try = item.args["request"], item.args["per_try"]
                    if per_try.value >= request.value:
                        yield Finding(f"per_try {per_try.raw} is not shorter than the request timeout {request.raw}",
                                      per_try.span,
                                      "make per_try a fraction of the timeout, e.g. timeout 6s per_try 2s")


def _methods_matched(route: ir.Route) -> set[str] | None:
    """Every method some match of the route accepts; None when a match accepts any method."""
    methods: set[str] = set()
    for m in route.matches:
        if not m.methods:
            return None
        methods |= set(m.methods)
    return methods


@rule
class CacheNeverUsed(Rule):
    code = "W313"
    scope = "env"

    def check(self, ctx):
        for env, edge in edges(ctx):
            for route in _routes_with(edge).cache:
                if isinstance(route.action, (ir.Redirect, ir.Respond)):
                    yield Finding(f"route '{route.name}' caches, but its {route.action.type} is answered by the "
                                  "edge itself", _statement(ctx, route, "cache"),
                                  "remove `cache`: only forwarded responses are stored")
                    continue
                matched = _methods_matched(route)
                cached = set(route.cache.methods)
                if matched is not None and not matched & cached:
                    yield Finding(f"route '{route.name}' matches only {', '.join(sorted(matched))}, which its cache "
                                  f"does not store ({', '.join(sorted(cached))})", _statement(ctx, route, "cache"),
                                  "remove `cache`, or match GET/HEAD requests too")
                uncacheable = cached - {"GET", "HEAD"}
                if uncacheable:
                    yield Finding(f"route '{route.name}': responses to {', '.join(sorted(uncacheable))} are not "
                                  "cacheable", _statement(ctx, route, "cache"), "cache methods GET HEAD")


@rule
class RetryNeverApplies(Rule):
    code = "W314"
    scope = "env"

    def check(self, ctx):
        for env, edge in edges(ctx):
            for route in _routes_with(edge).retry:
                matched = _methods_matched(route)
                if matched is not None and not matched & set(route.retry.methods):
                    yield Finding(f"route '{route.name}' retries, but it matches only {', '.join(sorted(matched))}, "
                                  "which are not idempotent and never retried", _statement(ctx, route, "retries"),
                                  "remove `retries` (a retried POST could be applied twice)")


@rule
class MirrorToForwardUpstream(Rule):
    code = "W315"
    scope = "env"

    def check(self, ctx):
        for env, edge in edges(ctx):
            for route in _routes_with(edge).mirrors:
                if not isinstance(route.action, ir.Forward):
                    continue
                forwarded = {b.upstream for b in route.action.backends}
                for mirror in route.mirrors:
                    if mirror.upstream in forwarded:
                        yield Finding(f"route '{route.name}' mirrors to '{mirror.upstream}', which it also forwards "
                                      "to", _statement(ctx, route, "mirror"),
                                      "mirror to a different upstream (e.g. a shadow deployment)")


@rule
class RedirectToMissingListener(Rule):
    code = "W316"
    scope = "env"

    def check(self, ctx):
        for env, edge in edges(ctx):
            https_ports = {lst.port for lst in edge.listeners if lst.protocol == "https"}
            for lst in edge.listeners:
                if lst.redirect and lst.redirect.port not in https_ports:
                    yield Finding(f"listener {lst.protocol}:{lst.port} redirects to https port {lst.redirect.port}, "
                                  "but no https listener serves it" + (f" in env '{env}'" if env else ""), lst.span,
                                  f"add `listen https {lst.redirect.port} {{ tls ... }}`, or redirect to its port")


def _hsts_statements(ctx: LintContext) -> Iterator[tuple[Stmt, Stmt]]:
    """(listen statement, its hsts statement)."""
    for stmt in _decls(ctx, "listen"):
        for item in stmt.body or ():
            if item.kind == "hsts":
                yield stmt, item


@rule
class HstsWithoutTls(Rule):
    code = "E225"
    scope = "file"

    def check(self, ctx):
        for stmt, item in _hsts_statements(ctx):
            if stmt.args["protocol"].value != "https":
                # browsers ignore the header over plain HTTP (RFC 6797 8.1): it would promise nothing
                yield Finding("hsts on an http listener: browsers take Strict-Transport-Security only over HTTPS",
                              item.span, "move it to the `listen https` block")


PRELOAD_MIN_AGE_MS = 365 * 86_400_000  # what hstspreload.org accepts


@rule
class HstsPreloadRequirements(Rule):
    code = "W317"
    scope = "file"

    def check(self, ctx):
        for _, item in _hsts_statements(ctx):
            options: dict = {}
            for option in item.args["options"]:
                options.setdefault(option.value, option)
            if "preload" not in options:
                continue
            age = item.args["max_age"]
            if age.value < PRELOAD_MIN_AGE_MS:
                yield Finding(f"hsts preload needs a max-age of at least 365d, not {age.raw}", age.span,
                              "the preload list refuses shorter ones: write hsts 365d (or more)")
            if "include_subdomains" not in options:
                yield Finding("hsts preload needs include_subdomains", options["preload"].span,
                              "the preload list covers every subdomain: add include_subdomains")


def _network(text: str):
    try:
        return ipaddress.ip_network(text, strict=False)
    except ValueError:
        return None


def _allow_span(ctx: LintContext, route: str | None, network: str):
    """Where `allow` writes the network (in the route's block, or the edge's for None); the first
    allow line when a variable gave it."""
    if route is None:
        block = ctx.doc.edge.body
    else:
        stmt = ctx.named.get(("route", route))
        block = stmt.body if stmt is not None else ()
    lines = [s for s in block if s.kind == "access" and s.args["verb"].value == "allow"]
    for stmt in lines:
        for value in stmt.args["values"]:
            if value.kind == "string" and all(isinstance(p, str) for p in value.value) and \
                    str(_network("".join(value.value))) == network:
                return value.span
    return lines[0].span if lines else ctx.doc.edge.span


@rule
class AllowInsideDeny(Rule):
    code = "W320"

    def check(self, ctx):
        seen = set()
        for _, edge in edges(ctx):
            scopes = [(None, edge.access.allow, edge.access.deny)]
            scopes += [(r.name, r.access.allow, edge.access.deny + r.access.deny)
                       for r in edge.routes if r.access.allow]
            for route, allow, deny in scopes:
                for net in allow:
                    inner = _network(net)
                    cover = next((d for d in deny if inner is not None and (outer := _network(d)) is not None
                                  and inner.version == outer.version and inner.subnet_of(outer)), None)
                    if cover is None or (route, net) in seen:
                        continue
                    seen.add((route, net))
                    where = "the edge" if route is None else f"route '{route}'"
                    yield Finding(f"allow {net} in {where} lies inside deny {cover}: deny wins, so it lets no one in",
                                  _allow_span(ctx, route, net),
                                  "remove it, or deny a narrower network (deny wins whatever the order written)")
