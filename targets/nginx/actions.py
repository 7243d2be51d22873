"""What a route does, as the directives of its location: proxy (with its split, rewrite,
timeouts, retries and cache), redirect, fixed response; and the mirror locations."""
from __future__ import annotations

import dataclasses
import math
import operator
from typing import Callable

from edgec import ir, routing
from edgec.ir import DEFAULT_TIMEOUTS
from edgec.routing import escape_path, strip_slash

from . import regex
from .capabilities import RETRYABLE_STATUSES
from .conf import Chunks, D, Expr, Var, duration, expr, header_var, internal_uri, line
from .headers import Headers
from .upstreams import Upstreams
from .variables import Variables

CACHE_ZONE = "edgec_cache"
NON_IDEMPOTENT = ("POST", "PATCH", "LOCK")


def _byte_class(allowed: frozenset[int]) -> str:
    """A PCRE class of these bytes, as ranges."""
    out, b = [], 0
    while b < 256:
        if b in allowed:
            end = b
            while end + 1 in allowed:
                end += 1
            out.append(f"\\x{b:02x}" + (f"-\\x{end:02x}" if end > b else ""))
            b = end
        b += 1
    return "[" + "".join(out) + "]"


# the characters routing.escape_path sends as they are
_SENT_AS_IS = _byte_class(routing.PATH_SENT_AS_IS)


class Actions:
    def __init__(self, edge: ir.Edge, variables: Variables, upstreams: Upstreams, headers: Headers):
        self.edge = edge
        self.vars = variables
        self.upstreams = upstreams
        self.headers = headers
        self.chunks = Chunks()  # a route's timeouts, retries and cache: the same for many routes
        # a Forward's id → it, the backends that can take a request and their upstreams: lowering
        # makes one Forward for every route that forwards alike (edgec.values.Values.node)
        self._backends: dict[int, tuple[ir.Forward, list[ir.Backend], list[ir.Upstream]]] = {}
        # the ids of a route's timeouts, retry, cache and upstreams → them (kept, so that the
        # ids stay theirs) and their chunks
        self._tails: dict[tuple[int, ...], tuple[tuple, list[D]]] = {}

    # ---- forward --------------------------------------------------------------------------------
    def forward(self, route: ir.Route) -> list[D | str]:
        action = route.action
        assert isinstance(action, ir.Forward)
        known = self._backends.get(id(action))
        if known is None:
            by_name = self.upstreams.by_name
            backends = [b for b in action.backends if b.weight > 0 and by_name[b.upstream].servers]
            known = self._backends[id(action)] = (action, backends, [by_name[b.upstream] for b in backends])
        _, backends, ups = known
        if not backends:
            return [D("return", 500)]
        out = self.path_rewrite(route)
        tls = ups[0].tls  # every backend of a split has the same (problems.py refuses others)
        scheme = "https://" if tls else "http://"
        if len(backends) == 1:
            out.append(line("proxy_pass", scheme + self.upstreams.name_for(backends[0].upstream, route)))
        else:
            out.append(line("proxy_pass", Expr(scheme + "$" + self.split_var(route, backends))))
        out += upstream_tls(ups[0])
        out += self.headers.proxy_headers(route)
        out += self.headers.response_headers(route, proxied=True)
        # lowering makes one Timeouts, Retry and Cache for every route that sets them alike
        # (edgec.values.Values.node): the chunks are found by those objects first
        policies = (route.timeouts, route.retry, route.cache, ups)
        key = tuple(map(id, policies))
        tail = self._tails.get(key)
        if tail is None:
            tail = self._tails[key] = (policies, self.timeouts(route, ups) + self.retries(route) + self.cache(route))
        out += tail[1]
        for i, mirror in enumerate(route.mirrors):
            out.append(line("mirror", self.mirror_uri(route, i)))
        return out

    def split_var(self, route: ir.Route, backends: list[ir.Backend]) -> str:
        total = sum(b.weight for b in backends)
        entries = []
        for b in backends[:-1]:
            pct = math.floor(b.weight * 10000 / total) / 100
            entries.append(D(f"{pct:.2f}".rstrip("0").rstrip(".") + "%", self.upstreams.name_for(b.upstream, route)))
        entries.append(D("*", self.upstreams.name_for(backends[-1].upstream, route)))
        return self.vars.define(("split", route.name), lambda n: D(
            "split_clients", Expr("${request_id}"), Expr("$" + n), block=entries,
            comment=f"route {route.name}: weighted split, drawn per request"))

    def path_rewrite(self, route: ir.Route) -> list[D | str]:
        rw = route.rewrite.path
        if rw is None:
            return []
        if rw.type == "full":
            return [line("rewrite", "^", rw.replacement, "break")]
        p = strip_slash(routing.decoded_path(rw.match or "/"))
        r = strip_slash(rw.replacement)
        head = "(?s)^" + regex.literal(p)
        if r:
            return [line("rewrite", head + "(/.*)?\\z", Expr(expr(r) + "$1"), "break")]
        return [line("rewrite", head + "(/.*)\\z", Expr("$1"), "break"), line("rewrite", head + "\\z", "/", "break")]

    def timeouts(self, route: ir.Route, ups: list[ir.Upstream]) -> list[D]:
        return self.chunks.get(("timeouts", _fields(route.timeouts), *map(id, ups)), lambda: self._timeouts(route, ups))

    @staticmethod
    def _timeouts(route: ir.Route, ups: list[ir.Upstream]) -> list[D]:
        # one location holds a weighted split: the longest limit of its upstreams (W402)
        limits = [routing.time_limits(route.timeouts, u) for u in ups]
        connect = max(t.connect_ms for t in limits)
        read = max(t.attempt_ms for t in limits)
        send = max(t.send_ms for t in limits)
        if route.timeouts.request_ms:
            # nginx has no clock for the whole request: no single wait may outlast it
            read = min(read, route.timeouts.request_ms)
            send = min(send, route.timeouts.request_ms)
            connect = min(connect, route.timeouts.request_ms)
        d = DEFAULT_TIMEOUTS
        return [D(name, duration(ms)) for name, ms, default in (
            ("proxy_connect_timeout", connect, d.connect_ms), ("proxy_read_timeout", read, d.read_ms),
            ("proxy_send_timeout", send, d.send_ms)) if ms != default]

    def retries(self, route: ir.Route) -> list[D]:
        return self.chunks.get(("retries", _fields(route.retry), route.timeouts.request_ms),
                               lambda: self._retries(route))

    @staticmethod
    def _retries(route: ir.Route) -> list[D]:
        r = route.retry
        if not r.attempts:
            return []
        conds = (["error", "timeout"] if r.connect_errors else []) + \
            [f"http_{s}" for s in r.statuses if s in RETRYABLE_STATUSES]
        if any(m in NON_IDEMPOTENT for m in r.methods):
            conds.append("non_idempotent")
        if not conds:
            return []
        out = [D("proxy_next_upstream", *conds), D("proxy_next_upstream_tries", r.attempts + 1)]
        if route.timeouts.request_ms:
            out.append(D("proxy_next_upstream_timeout", duration(route.timeouts.request_ms)))
        return out

    def cache(self, route: ir.Route) -> list[D]:
        return self.chunks.get(("cache", _fields(route.cache)), lambda: self._cache(route.cache)) if route.cache else []

    @staticmethod
    def _cache(c: ir.Cache) -> list[D]:
        parts = {"method": "$request_method", "scheme": "$scheme", "host": "$host", "path": "$uri", "query": "$args"}
        key = "|".join(parts[p] for p in c.key)
        key = key.replace("$uri|$args", "$request_uri")
        key += "".join("|$" + header_var(v) for v in c.vary)
        methods = [m for m in c.methods if m not in ("GET", "HEAD")]
        return [D("proxy_cache", CACHE_ZONE), D("proxy_cache_key", Expr(key)),
                D("proxy_cache_valid", 200, duration(c.ttl_ms)),
                D("proxy_cache_methods", "GET", "HEAD", *methods), D("proxy_cache_lock", "on")]

    @staticmethod
    def mirror_uri(route: ir.Route, index: int) -> str:
        return internal_uri("mirror", route.name, str(index + 1))

    def mirror_locations(self) -> list[D]:
        out = []
        for route in self.edge.routes:
            for i, mirror in enumerate(route.mirrors):
                up = self.upstreams.by_name.get(mirror.upstream)
                if up is None or not up.servers:
                    continue
                body: list[D] = [D("internal")]
                if mirror.percent < 100:
                    skip = self.vars.define(("mirror", route.name, i), lambda n: D(
                        "split_clients", Expr("${request_id}"), Expr("$" + n), block=[
                            D(f"{mirror.percent:g}%", ""), D("*", "1")]))
                    body.append(D("if", Expr(f"(${skip})"), block=[D("return", 204)]))
                body.append(D("proxy_pass", Expr(f"http://{up.name}$request_uri")))
                out.append(D("location", "=", self.mirror_uri(route, i), block=body))
        return out

    # ---- redirect, respond ---------------------------------------------------------------------------
    def redirect(self, r: ir.Redirect, prefix: str | None) -> list[D]:
        scheme: str | Var = r.scheme or Var("scheme")
        host: str | Var = r.host or Var("host")
        parts: list[str | Var] = [scheme, "://", host, *self.redirect_port(r)]
        rw = r.path
        if rw is None:
            parts.append(Var("request_uri"))
        elif rw.type == "full":
            parts += [rw.replacement, Var("is_args"), Var("args")]
        else:
            match = rw.match or prefix
            if match is None:
                parts.append(Var("request_uri"))
            else:
                parts.append(Var(self.prefix_redirect_var(match, rw.replacement)))
        return [D("return", r.status, expr(*parts))]

    def redirect_port(self, r: ir.Redirect) -> list[str | Var]:
        defaults = routing.DEFAULT_PORTS
        if r.port is not None and r.scheme is not None:
            return [] if r.port == defaults[r.scheme] else [f":{r.port}"]
        if r.scheme is not None:
            return []
        if r.port is not None:
            port = r.port
            return [Var(self.vars.define(("port", port), lambda n: D("map", Expr("$scheme"), Expr("$" + n), block=[
                D("http", "" if port == 80 else f":{port}"), D("https", "" if port == 443 else f":{port}"),
                D("default", f":{port}")])))]
        return [Var(self.vars.define(("port",), lambda n: D(
            "map", Expr("$scheme:$server_port"), Expr("$" + n), block=[
                D("http:80", ""), D("https:443", ""), D("default", Expr(":$server_port"))])))]

    def prefix_redirect_var(self, match: str, replacement: str) -> str:
        """The request target with the prefix replaced: the rest of the normalised $uri when
        it needs no escaping (routing.escape_path would leave it as it is), else the rest of
        the raw $request_uri (never the decoded $uri, which may hold a line break). The query
        follows when it is not empty."""
        p = strip_slash(routing.decoded_path(match))
        r = escape_path(strip_slash(replacement))

        def raw(n: str) -> D:
            head = "~^" + regex.percent_tolerant(p)
            query = f"(?:\\?|(?<{n}_q>\\?.+))?\\z"  # a bare "?" is not repeated on a new path
            return D("map", Expr("$request_uri"), Expr("$" + n), block=[
                D(head + f"(?<{n}_p>(?:/|%2[Ff])[^?]*){query}", Expr(expr(r) + f"${n}_p${n}_q")),
                D(head + query, Expr(expr(r or "/") + f"${n}_q")),
                D("default", r or "/")])

        def normalised(n: str) -> D:
            head = "~^" + regex.literal(p)
            return D("map", Expr("$uri"), Expr("$" + n), block=[
                D(head + f"(?<{n}_p>/{_SENT_AS_IS}*)\\z", Expr(expr(r) + f"${n}_p$is_args$args")),
                D(head + "\\z", Expr(expr(r or "/") + "$is_args$args")),
                D("default", Expr("$" + self.vars.define(("redirect_raw", p, r), raw)))])
        return self.vars.define(("redirect", p, r), normalised)

    def respond(self, r: ir.Respond) -> list[D]:
        if r.body:
            return [D("default_type", r.content_type), D("return", r.status, r.body)]
        # `return 403 ""` sends nginx's HTML error page; an empty text from a variable is sent as it is
        empty = self.vars.define(("empty",), lambda n: D("map", Expr("$uri"), Expr("$" + n), block=[D("default", "")],
                                                          comment="an empty response body"))
        return [D("default_type", r.content_type), D("return", r.status, Expr("$" + empty))]


_GETTERS: dict[type, Callable] = {}


def _fields(node) -> tuple:
    """An IR node's fields, as a key: hashing and comparing the node itself is ~3 times the
    work, once per route (its timeouts, retries, cache)."""
    get = _GETTERS.get(node.__class__)
    if get is None:
        get = _GETTERS[node.__class__] = operator.attrgetter(*(f.name for f in dataclasses.fields(node) if f.compare))
    return get(node)


# how many certificates a server's chain may hold above its own (OpenSSL's default, which the
# other targets keep; nginx's own default is 1)
SERVER_CHAIN_DEPTH = 100


def upstream_tls(up: ir.Upstream) -> list[str]:
    """TLS to the upstream's servers: the name sent and checked (one for every server, see
    problems.py), the CA, the edge's certificate."""
    tls = up.tls
    if tls is None:
        return []
    out = [line("proxy_ssl_server_name", "on"), line("proxy_ssl_name", tls.sni or up.servers[0].host),
           line("proxy_ssl_verify", "on" if tls.verify else "off")]
    if tls.verify:
        out += [line("proxy_ssl_trusted_certificate", tls.ca), line("proxy_ssl_verify_depth", SERVER_CHAIN_DEPTH)]
    if tls.cert:
        out += [line("proxy_ssl_certificate", tls.cert), line("proxy_ssl_certificate_key", tls.key)]
    return out
