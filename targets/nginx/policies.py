"""A route's policies in nginx: CORS, API keys, external auth, rate limits, basic auth.

`directives(route)` is what a location runs before its action (the preflight answer, the
key check, limit_req, auth_basic); the CORS and API-key response headers are made here
too, for headers.py to add to every answer of the route.
"""
from __future__ import annotations

import ipaddress

from edgec import ir, routing

from . import regex
from .conf import D, Expr, header_var, line, map_key, quote
from .external_auth import ExternalAuths
from .javascript import LIMIT_KEY
from .variables import Variables


def rate(limit: ir.RateLimit) -> str:
    if limit.count % limit.window_s == 0:
        return f"{limit.count // limit.window_s}r/s"
    return f"{max(1, round(limit.count * 60 / limit.window_s))}r/m"


class Policies:
    def __init__(self, edge: ir.Edge, variables: Variables, api_keys: dict[str, list[str]],
                 htpasswd_files: dict[str, str], files: dict[str, str]):
        self.vars = variables
        self.auth = {a.name: a for a in edge.auth}
        self.api_keys = api_keys
        self.htpasswd_files = htpasswd_files
        self.files = files  # the build's output files: key lists are written here
        self.external = ExternalAuths(edge)
        self.zones: list[D] = []  # limit_req_zone, at http level
        self._zone_names: set[str] = set()

    def directives(self, route: ir.Route) -> list[D | str]:
        out = self.preflight(route)
        auth = self.auth.get(route.auth) if route.auth else None
        if isinstance(auth, ir.ApiKeyAuth):
            out.append(D("if", Expr(f"(${self.api_key_var(auth)})"), block=[D("return", 401)]))
        out += self.external.gate(route)
        if route.rate_limit:
            zone = self.rate_zone(route)
            args = [f"zone={zone}"] + ([f"burst={route.rate_limit.burst}"] if route.rate_limit.burst else []) + \
                ["nodelay"]
            out.append(line("limit_req", *args))
        if isinstance(auth, ir.BasicAuth):
            path = self.htpasswd_files[auth.name]
            note = ("written with mode 0600: the nginx worker user must own it (workers read it per request)"
                    if path.startswith("secrets/") else None)
            out += [D("auth_basic", auth.realm), D("auth_basic_user_file", path, comment=note)]
        return out

    def preflight(self, route: ir.Route) -> list[D]:
        """A CORS preflight is answered first: 204 for an allowed origin, 403 for any other."""
        if not route.cors:
            return []
        allowed = self.cors_origin_var(route.cors)
        pre = self.preflight_var()
        ok = self.vars.define(("corsok", allowed), lambda n: D(
            "map", Expr(f"${pre}${allowed}"), Expr("$" + n), block=[D("~^1.", "1"), D("default", "0")]))
        return [D("if", Expr(f"(${ok})"), block=[D("return", 204)]),
                D("if", Expr(f"(${pre})"), block=[D("return", 403)])]

    def answers_late(self, route: ir.Route) -> bool:
        """limit_req, auth_basic and auth_request run after the rewrite phase, where `return`
        answers: a route with any of them answers from a named location reached after them."""
        return bool(route.rate_limit or (route.auth and self.auth[route.auth].kind in ("basic", "external")))

    # ---- client addresses -------------------------------------------------------------------------
    def access(self, access: ir.Access) -> list[D]:
        """403 for a client the lists refuse, in the rewrite phase (before any other answer):
        a geo variable on $remote_addr, which the realip module has set past the trusted proxies."""
        if access.empty:
            return []
        refused = self.vars.define(("refused", access), lambda n: D(
            "geo", Expr("$" + n), block=_refused(access), comment="1: allow/deny refuse the client address"))
        return [D("if", Expr(f"(${refused})"), block=[D("return", 403)])]

    # ---- rate limits ------------------------------------------------------------------------------
    def rate_zone(self, route: ir.Route) -> str:
        rl = route.rate_limit
        key = {"client_ip": "$binary_remote_addr", "claim": "$" + LIMIT_KEY}.get(rl.key.source) or \
            "$" + header_var(rl.key.name or "")
        name = f"rl_{route.name}"
        if name not in self._zone_names:
            self._zone_names.add(name)
            self.zones.append(D("limit_req_zone", Expr(key), f"zone={name}:10m", f"rate={rate(rl)}"))
        return name

    def refusal_var(self, limit: ir.RateLimit, header: str, value: str) -> str:
        """A header of the limit's refusals only, not of a backend's own 429 (nginx leaves out a
        header whose value is empty)."""
        return self.vars.define(("refusal", limit.status, header, value), lambda n: D(
            "map", Expr("$status:$upstream_status"), Expr("$" + n),
            block=[D(f"{limit.status}:", value), D("default", "")]))

    # ---- API keys ------------------------------------------------------------------------------------
    def api_key_of(self, route: ir.Route) -> ir.ApiKeyAuth | None:
        auth = self.auth.get(route.auth) if route.auth else None
        return auth if isinstance(auth, ir.ApiKeyAuth) else None

    def api_key_challenge(self, auth: ir.ApiKeyAuth) -> str:
        """The WWW-Authenticate value for a refused key, else empty."""
        bad = self.api_key_var(auth)
        return self.vars.define(("challenge", auth.name), lambda n: D("map", Expr("$" + bad), Expr("$" + n), block=[
            D("1", routing.api_key_challenge(auth)), D("default", "")]))

    def api_key_var(self, auth: ir.ApiKeyAuth) -> str:
        path = f"secrets/{auth.name}.keys"
        lines = [f"{quote('~' + regex.exact(k))} 0;" for k in sorted(set(self.api_keys.get(auth.name, [])))]
        self.files[path] = "# API keys of auth " + auth.name + " (generated by edgec; keep private)\n" + \
            "".join(line + "\n" for line in lines)
        return self.vars.define(("apikey", auth.name), lambda n: D(
            "map", Expr("$" + header_var(auth.header)), Expr("$" + n),
            comment=f"1 when the {auth.header} header holds no valid key of auth {auth.name}",
            block=[D("default", "1"), D("include", path)]))

    # ---- CORS ------------------------------------------------------------------------------------------
    def preflight_var(self) -> str:
        return self.vars.define(("preflight",), lambda n: D(
            "map", Expr("$request_method:$http_origin:$http_access_control_request_method"), Expr("$" + n),
            block=[D("~^OPTIONS:.+:.", "1"), D("default", "0")]))

    def cors_origin_var(self, cors: ir.Cors) -> str:
        """The Access-Control-Allow-Origin value for the request's Origin; empty when not allowed."""
        anyone = "*" in cors.origins
        echo = Expr("$http_origin")
        if anyone and not cors.credentials:
            entries = [D("", ""), D("default", "*")]
        elif anyone:
            entries = [D("default", echo)]
        else:
            # exact keys (nginx compares them ignoring case, as origins compare)
            entries = [D(map_key(o), echo) for o in cors.origins] + [D("default", "")]
        return self.vars.define(("cors", cors.origins, cors.credentials), lambda n: D(
            "map", Expr("$http_origin"), Expr("$" + n), block=entries))

    def cors_headers(self, cors: ir.Cors) -> list[str]:
        anyone = "*" in cors.origins
        origin = self.cors_origin_var(cors)
        pre = self.preflight_var()

        def on(when: str, value: str) -> str:
            """`value` when the origin is allowed and the request is (1) / is not (0) a preflight."""
            return self.vars.define(("corsv", origin, when, value), lambda n: D(
                "map", Expr(f"${pre}${origin}"), Expr("$" + n), block=[
                    D(f"~^{when}.", value), D("default", "")]))

        out = [line("add_header", "Access-Control-Allow-Origin", Expr("$" + origin), "always")]
        if not anyone or cors.credentials:
            out.append(line("add_header", "Vary", Expr("$" + on("[01]", "Origin")), "always"))
        if cors.credentials:
            out.append(line("add_header", "Access-Control-Allow-Credentials",
                         Expr("$" + on("[01]", "true")), "always"))
        if cors.expose:
            out.append(line("add_header", "Access-Control-Expose-Headers",
                         Expr("$" + on("0", ", ".join(cors.expose))), "always"))
        out.append(line("add_header", "Access-Control-Allow-Methods",
                     Expr("$" + on("1", ", ".join(cors.methods))), "always"))
        if cors.headers:
            allow_headers = on("1", ", ".join(cors.headers))
        elif anyone and not cors.credentials:
            allow_headers = on("1", Expr("$http_access_control_request_headers"))
        else:
            allow_headers = None
        if allow_headers:
            out.append(line("add_header", "Access-Control-Allow-Headers", Expr("$" + allow_headers), "always"))
        out.append(line("add_header", "Access-Control-Max-Age", Expr("$" + on("1", str(cors.max_age_s))),
                     "always"))
        return out


def _refused(access: ir.Access) -> list[D]:
    """geo entries (the longest network holding the address decides) with deny winning: an
    allowed network inside a denied one is left out, a denied one inside an allowed one is
    longer and so decides."""
    deny = [ipaddress.ip_network(d) for d in access.deny]

    def denied(net: str) -> bool:
        n = ipaddress.ip_network(net)
        return any(n.version == d.version and n.subnet_of(d) for d in deny)
    default = 1 if access.allow else 0
    entries = dict([(a, 0) for a in access.allow if not denied(a)] + [(d, 1) for d in access.deny])
    everything = ("0.0.0.0/0", "::/0")
    if not any(net in entries for net in everything):
        return [D("default", default), *[D(net, value) for net, value in entries.items()]]
    # `default` sets both of these: a list naming one of them too would be a duplicate network
    return [*[D(net, entries.pop(net, default)) for net in everything], *[D(n, v) for n, v in entries.items()]]
