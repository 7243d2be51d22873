"""`auth external` with auth_request: each route that uses one asks an internal location,
which proxies the check to the service's upstream block.

auth_request passes 2xx, 401 and 403 on and turns every other outcome (another status, a
timeout, no connection) into 500, which the route's error_page answers as the IR's error
status. The check carries only the headers the IR names, and the headers the service
vouches for replace the client's own on the way to the upstream (an empty value sends none).
"""
from __future__ import annotations

from edgec import ir

from .conf import D, Expr, Var, duration, expr, header_var, internal_uri

FAILED = "@edgec_auth_failed"


class ExternalAuths:
    def __init__(self, edge: ir.Edge):
        self.auths = {a.name: a for a in edge.auth if isinstance(a, ir.ExternalAuth)}
        self.used = any(r.auth in self.auths for r in edge.routes)

    def of(self, route: ir.Route) -> ir.ExternalAuth | None:
        return self.auths.get(route.auth) if route.auth else None

    @staticmethod
    def uri(auth: ir.ExternalAuth) -> str:
        return internal_uri("auth", auth.name)

    @staticmethod
    def copied_var(auth: ir.ExternalAuth, header: str) -> str:
        return f"edgec_auth_{auth.name.replace('-', '_')}_{header_var(header)}"

    def gate(self, route: ir.Route) -> list[D]:
        """The route's check, before its other access-phase policies."""
        auth = self.of(route)
        if auth is None:
            return []
        return [D("auth_request", self.uri(auth)),
                *[D("auth_request_set", Expr("$" + self.copied_var(auth, h)), Expr("$upstream_" + header_var(h)))
                  for h in auth.copy_headers],
                D("error_page", 500, "=", FAILED)]

    def copied(self, route: ir.Route) -> list[tuple[str, Expr]]:
        """(header, value) the upstream request gets from the service's answer."""
        auth = self.of(route)
        return [(h, Expr("$" + self.copied_var(auth, h))) for h in auth.copy_headers] if auth else []

    def services(self) -> list[ir.Upstream]:
        """The upstream blocks the checks go to."""
        return [a.service for a in self.auths.values()] if self.used else []

    def locations(self, host_var: str, request_id_var: str) -> list[D]:
        """The internal locations the checks go to, and the answer of a failed check."""
        if not self.used:
            return []
        out = []
        for a in self.auths.values():
            timeout = duration(a.timeout_ms)
            # the request id the check carries is the edge's, the one the backend gets
            headers = [("Host", Expr("$" + host_var)), ("Connection", ""), ("Content-Length", ""),
                       *[(h, Expr("$" + (request_id_var if h.lower() == ir.REQUEST_ID_HEADER.lower()
                                         else header_var(h)))) for h in a.check_headers]]
            out.append(D("location", "=", self.uri(a), block=[
                D("internal"),
                D("proxy_pass", expr(f"http://{a.service.name}{a.path}", Var("request_uri"))),
                D("proxy_method", Expr("$request_method"), comment="a subrequest is a GET: the client's method"),
                D("proxy_pass_request_body", "off"),
                D("proxy_pass_request_headers", "off", comment="only the headers the auth names"),
                *[D("proxy_set_header", n, v) for n, v in headers],
                D("proxy_connect_timeout", timeout), D("proxy_read_timeout", timeout),
                D("proxy_send_timeout", timeout)]))
        out.append(D("location", FAILED, block=[D("return", ir.EXTERNAL_AUTH_ERROR_STATUS)],
                     comment="the authorization service failed: nothing gets through"))
        return out
