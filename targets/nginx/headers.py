"""Request and response headers: what every proxied request carries (Host, X-Forwarded-*,
X-Request-Id), a route's header operations, and the headers every answer gets.

proxy_set_header and add_header are inherited all or nothing: a block that sets one of
its own must repeat the shared ones, hence base_headers() and always_headers().
"""
from __future__ import annotations

from edgec import ir

from .capabilities import STICKY_OSS
from .conf import Chunks, D, Expr, Var, expr, header_var, line, map_key
from .policies import Policies
from .upstreams import Upstreams
from .variables import Variables


class Headers:
    def __init__(self, edge: ir.Edge, version: tuple[int, int, int], variables: Variables, upstreams: Upstreams,
                 policies: Policies):
        self.edge = edge
        self.version = version
        self.vars = variables
        self.upstreams = upstreams
        self.policies = policies
        self.chunks = Chunks()  # the headers every proxied request and every answer gets, once
        self._base: dict[str, tuple[str, str]] | None = None
        self._sticky = any(u.sticky for u in edge.upstreams)

    # ---- shared variables -------------------------------------------------------------------
    def host_var(self) -> str:
        """The Host header as the client sent it (with its port), else the server name."""
        return self.vars.define(("host",), lambda n: D("map", Expr("$http_host"), Expr("$" + n), block=[
            D("", Expr("$host")), D("default", Expr("$http_host"))]))

    def trusted_var(self) -> str:
        return self.vars.define(("trusted",), lambda n: D("geo", Expr("$realip_remote_addr"), Expr("$" + n), block=[
            D("default", "0"), *[D(c, "1") for c in self.edge.trusted_proxies]]))

    def request_id_var(self) -> str:
        """The client's X-Request-Id when it is a sane one, else nginx's own request id."""
        return self.vars.define(("request_id",), lambda n: D(
            "map", Expr("$http_x_request_id"), Expr("$" + n), block=[
                D(f"~^{ir.SANE_REQUEST_ID.pattern}\\z", Expr("$http_x_request_id")),
                D("default", Expr("$request_id"))]))

    def traceparent_var(self) -> str:
        """The traceparent the backend gets: the client's when it is a well-formed version-00 one
        (nginx has no span of its own to put between them), else a new trace whose id is nginx's
        random $request_id, sampled as the edge's share says."""
        sample = self.edge.observability.tracing.sample_percent
        if 0 < sample < 100:
            flags = Var(self.vars.define(("trace_sampled",), lambda n: D(
                # a hash input of its own: the weighted splits draw from ${request_id}
                "split_clients", Expr("${request_id}trace"), Expr("$" + n), block=[
                    D(f"{sample:.2f}".rstrip("0").rstrip(".") + "%", "01"), D("*", "00")])))
        else:
            flags = "01" if sample else "00"
        # the new trace's parent span id: half of $request_id (32 random hex digits) again
        new = self.vars.define(("trace_new",), lambda n: D("map", Expr("$request_id"), Expr("$" + n), block=[
            D(f"~^(?<{n}_span>[0-9a-f]{{16}})", expr("00-", Var("request_id"), "-", Var(n + "_span"), "-", flags))]))
        return self.vars.define(("traceparent",), lambda n: D("map", Expr("$http_traceparent"), Expr("$" + n), block=[
            D("~^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}\\z", Expr("$http_traceparent")),
            D("default", Expr("$" + new))]))

    def trace_id_var(self) -> str:
        """The trace id of the traceparent passed on, for the access log."""
        tp = self.traceparent_var()
        return self.vars.define(("trace_id",), lambda n: D("map", Expr("$" + tp), Expr("$" + n), block=[
            D(f"~^00-(?<{n}_v>[0-9a-f]{{32}})-", Expr(f"${n}_v")), D("default", "")]))

    def forwarded(self) -> list[tuple[str, Expr]]:
        host = self.host_var()
        if not self.edge.trusted_proxies:
            return [("X-Real-IP", Expr("$remote_addr")), ("X-Forwarded-For", Expr("$remote_addr")),
                    ("X-Forwarded-Proto", Expr("$scheme")), ("X-Forwarded-Host", Expr("$" + host))]
        t = self.trusted_var()
        xff = self.vars.define(("xff",), lambda n: D(
            "map", Expr(f"${t}$http_x_forwarded_for"), Expr("$" + n), block=[
                D("~^1.", Expr("$http_x_forwarded_for, $realip_remote_addr")),
                D("default", Expr("$realip_remote_addr"))]))
        xfp = self.vars.define(("xfp",), lambda n: D(
            "map", Expr(f"${t}$http_x_forwarded_proto"), Expr("$" + n), block=[
                D(f"~^1(?<{n}_v>.+)\\z", Expr(f"${n}_v")), D("default", Expr("$scheme"))]))
        xfh = self.vars.define(("xfh",), lambda n: D(
            "map", Expr(f"${t}$http_x_forwarded_host"), Expr("$" + n), block=[
                D(f"~^1(?<{n}_v>.+)\\z", Expr(f"${n}_v")), D("default", Expr("$" + host))]))
        return [("X-Real-IP", Expr("$remote_addr")), ("X-Forwarded-For", Expr("$" + xff)),
                ("X-Forwarded-Proto", Expr("$" + xfp)), ("X-Forwarded-Host", Expr("$" + xfh))]

    # ---- towards the backend ----------------------------------------------------------------------
    def base_headers(self) -> dict[str, tuple[str, str]]:
        """The request headers every proxied request gets; set at http level and inherited by
        every location that sets none of its own (proxy_set_header inherits all or nothing)."""
        return dict(self._shared())

    def _shared(self) -> dict[str, tuple[str, str]]:
        """base_headers() itself, not to be changed."""
        if self._base is None:
            self._base = self._base_headers()
        return self._base

    def _base_headers(self) -> dict[str, tuple[str, str]]:
        headers: dict[str, tuple[str, str]] = {"host": ("Host", Expr("$" + self.host_var()))}
        for name, value in self.forwarded():
            headers[name.lower()] = (name, value)
        headers["x-request-id"] = ("X-Request-Id", Expr("$" + self.request_id_var()))
        if self.edge.observability.tracing is not None:
            headers["traceparent"] = ("traceparent", Expr("$" + self.traceparent_var()))
        # the verified client certificate's subject; empty (no header) without one, or on a
        # listener that asks for none, so that a client never sends its own
        for lst in self.edge.listeners:
            if lst.client_cert and lst.client_cert.header:
                headers[lst.client_cert.header.lower()] = (lst.client_cert.header, Expr("$ssl_client_s_dn"))
        # a WebSocket (any Upgrade) is passed on; every other request keeps the connection to
        # the server alive: no "Connection: close" towards it
        headers["upgrade"] = ("Upgrade", Expr("$http_upgrade"))
        headers["connection"] = ("Connection", Expr("$" + self.connection_var()))
        return headers

    def connection_var(self) -> str:
        return self.vars.define(("connection",), lambda n: D("map", Expr("$http_upgrade"), Expr("$" + n), block=[
            D("", ""), D("default", "upgrade")]))

    def proxy_headers(self, route: ir.Route) -> list[D | str]:
        ops = route.request_headers
        host = route.rewrite.host
        vouched = self.policies.external.copied(route)
        if ops.empty and not host and not vouched:
            return []
        shared = self._shared()  # its variables are made before any of the route's own
        own: dict[str, tuple[str, str]] = {}
        if host:
            own["host"] = ("Host", host)
        for name, value in vouched:  # as if the client had sent them: the route's ops apply after
            own[name.lower()] = (name, value)
        for name in ops.remove:
            own[name.lower()] = (name, "")
        for name, value in ops.set:
            own[name.lower()] = (name, value)
        for name, value in ops.add:
            own[name.lower()] = (name, expr(Var(self.append_var(name)), value))
        if own.keys().isdisjoint(shared):  # the shared ones as they are, then the route's own
            base = self.chunks.get(("base",), self._base_directives)
            return base + [line("proxy_set_header", n, v) for n, v in own.values()]
        headers = dict(shared)
        headers.update(own)  # one the route sets stays where the shared ones list it
        return [line("proxy_set_header", n, v) for n, v in headers.values()]

    def _base_directives(self) -> list[D]:
        return [D("proxy_set_header", n, v) for n, v in self._shared().values()]

    def append_var(self, name: str) -> str:
        var = header_var(name)
        return self.vars.define(("add", var), lambda n: D("map", Expr("$" + var), Expr("$" + n), block=[
            D("", ""), D("default", Expr(f"${var},"))]))

    # ---- towards the client --------------------------------------------------------------------------
    def always_headers(self) -> list[D]:
        """Response headers on every answer: at http level, and again in every block with an
        add_header of its own (add_header inherits all or nothing)."""
        out = [D("add_header", "X-Request-Id", Expr("$" + self.request_id_var()), "always")]
        if any(lst.hsts for lst in self.edge.listeners):
            out.append(D("add_header", "Strict-Transport-Security", Expr("$" + self.hsts_var()), "always"))
        return out

    def hsts_var(self) -> str:
        """Strict-Transport-Security for the listener a request came in on, by TLS, port and local
        address (an exact address before a wildcard one, as nginx picks the listener): empty on
        every other listener, and nginx leaves out a header whose value is empty. Plain HTTP
        listeners share server blocks with TLS ones, so the server cannot tell."""
        entries = []
        for lst in self.edge.listeners:
            if lst.hsts and lst.tls:
                key = f"~^on {lst.port} " if lst.address in ("0.0.0.0", "::") else \
                    map_key(f"on {lst.port} {lst.address}")
                entries.append(D(key, lst.hsts.header_value))
        return self.vars.define(("hsts",), lambda n: D(
            "map", Expr("$https $server_port $server_addr"), Expr("$" + n), block=[*entries, D("default", "")]))

    def response_headers(self, route: ir.Route, proxied: bool) -> list[D | str]:
        """The route's add_headers (and the proxy_hide_headers they need)."""
        ops = route.response_headers
        added = [line("add_header", n, v, "always") for n, v in ops.set + ops.add]
        if route.cors:
            added += self.policies.cors_headers(route.cors)
        if proxied and isinstance(route.action, ir.Forward):
            added += self.sticky_cookies(route.action)
        if route.cache and proxied:
            added.append(line("add_header", "X-Cache-Status", Expr("$upstream_cache_status"), "always"))
        if route.rate_limit:
            added += [line("add_header", name, Expr("$" + self.policies.refusal_var(route.rate_limit, name, value)),
                           "always")
                      for name, value in route.rate_limit.refusal_headers(route.name)]
        key_auth = self.policies.api_key_of(route)
        if key_auth:
            added.append(line("add_header", "WWW-Authenticate", Expr("$" + self.policies.api_key_challenge(key_auth)),
                              "always"))
        if added:
            added += self.chunks.get(("always",), self.always_headers)
        return (self.hidden(route) if proxied else []) + added

    @staticmethod
    def hidden(route: ir.Route) -> list[str]:
        """The backend's headers the route removes or replaces (X-Powered-By always)."""
        ops = route.response_headers
        if not (ops.remove or ops.set):
            return []
        out, seen = [], set()
        for name in ["X-Powered-By"] + list(ops.remove) + [n for n, _ in ops.set]:
            if name.lower() not in seen:
                seen.add(name.lower())
                out.append(line("proxy_hide_header", name))
        return out

    def sticky_cookies(self, action: ir.Forward) -> list[str]:
        """Before 1.29.6 stickiness hashes a cookie edgec sets itself on a first visit."""
        if self.version >= STICKY_OSS or not self._sticky:
            return []
        ups = [self.upstreams.by_name[b.upstream] for b in action.backends]
        return [line("add_header", "Set-Cookie", Expr("$" + self.upstreams.sticky_cookie(up)), "always")
                for up in ups if up.sticky]
