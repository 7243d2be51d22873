"""IR → nginx directive tree → text.

One Emitter per build. Methods are small and named after what they emit; shared
variables (maps, split_clients, zones) are created once, on first use, in a
deterministic order, and collected into the http block.
"""
from __future__ import annotations

import ipaddress
import math
from dataclasses import dataclass

from edgec import ir
from edgec import routing
from edgec.ir import DEFAULT_TIMEOUTS
from edgec.routing import escape_path, strip_slash

from . import regex
from .capabilities import RETRYABLE_STATUSES
from .conf import DOLLAR_VAR, D, Expr, Printer, Var, expr, quote
from .plan import Candidate, Location, ServerPlan, plan

CACHE_ZONE = "edgec_cache"
MOZILLA_INTERMEDIATE_CIPHERS = (
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
    "DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384:DHE-RSA-CHACHA20-POLY1305")
NON_IDEMPOTENT = ("POST", "PATCH", "LOCK")
JSON_LOG = ('{"time":"$time_iso8601","remote_addr":"$remote_addr","method":"$request_method",'
            '"uri":"$request_uri","protocol":"$server_protocol","status":$status,'
            '"bytes_sent":$body_bytes_sent,"duration_s":$request_time,"host":"$host",'
            '"upstream":"$upstream_addr","upstream_status":"$upstream_status",'
            '"cache":"$upstream_cache_status","user_agent":"$http_user_agent","request_id":"$edgec_request_id"}')
LAYOUTS = {
    # relative to the prefix given with `nginx -p DIR` (the build's output directory)
    "prefix": dict(pid="logs/nginx.pid", error_log="logs/error.log", cache="cache",
                   temp=dict(client_body="client_body_temp", proxy="proxy_temp", fastcgi="fastcgi_temp",
                             uwsgi="uwsgi_temp", scgi="scgi_temp")),
    # Debian/Ubuntu packaging paths, for a config installed as /etc/nginx/nginx.conf
    "debian": dict(pid="/run/nginx.pid", error_log="/var/log/nginx/error.log", cache="/var/cache/nginx/edgec",
                   temp=dict(client_body="/var/lib/nginx/body", proxy="/var/lib/nginx/proxy",
                             fastcgi="/var/lib/nginx/fastcgi", uwsgi="/var/lib/nginx/uwsgi",
                             scgi="/var/lib/nginx/scgi")),
}


def version_tuple(text: str) -> tuple[int, int, int] | None:
    parts = text.split(".")
    if not 2 <= len(parts) <= 3 or not all(p.isdigit() for p in parts):
        return None
    nums = [int(p) for p in parts] + [0] * (3 - len(parts))
    return nums[0], nums[1], nums[2]


def duration(ms: int) -> str:
    if ms % 1000:
        return f"{ms}ms"
    s = ms // 1000
    if s >= 3600 and s % 3600 == 0:
        return f"{s // 3600}h"
    if s >= 300 and s % 60 == 0:
        return f"{s // 60}m"
    return f"{s}s"


def size(n: int) -> str:
    for unit, factor in (("g", 1 << 30), ("m", 1 << 20), ("k", 1 << 10)):
        if n >= factor and n % factor == 0:
            return f"{n // factor}{unit}"
    return str(n)


def header_var(name: str) -> str:
    """$http_NAME for a request header (nginx lower-cases and maps '-' to '_')."""
    return "http_" + name.lower().replace("-", "_")


def rate(limit: ir.RateLimit) -> str:
    if limit.count % limit.window_s == 0:
        return f"{limit.count // limit.window_s}r/s"
    return f"{max(1, round(limit.count * 60 / limit.window_s))}r/m"


@dataclass(frozen=True)
class Handler:
    """One location body: a route, and the prefix its path rewrite replaces (when that
    depends on which match matched)."""

    route_index: int
    prefix: str | None


class Emitter:
    def __init__(self, edge: ir.Edge, version: tuple[int, int, int], layout: str = "prefix",
                 resolver: str | None = None, api_keys: dict[str, list[str]] | None = None,
                 htpasswd_files: dict[str, str] | None = None):
        self.edge = edge
        self.version = version
        self.layout = LAYOUTS[layout]
        self.resolver = resolver
        self.api_keys = api_keys or {}
        self.htpasswd_files = htpasswd_files or {}
        self.router = routing.compile(edge)
        self.upstreams = {u.name: u for u in edge.upstreams}
        self.auth = {a.name: a for a in edge.auth}
        self.maps: list[D] = []  # http-level maps, geo, split_clients, in creation order
        self._vars: dict[tuple, str] = {}
        self._counters: dict[str, int] = {}
        self.zones: list[D] = []
        self.retry_upstreams: dict[tuple[str, int], str] = {}
        self.files: dict[str, str] = {}
        self._dispatches = False  # some location chooses per request (try_files)

    # ---- names -------------------------------------------------------------------------
    def _var(self, key: tuple, make) -> str:
        """A shared variable created once per distinct key: make(name) returns its block."""
        name = self._vars.get(key)
        if name is None:
            kind = key[0]
            if len(key) == 1:
                name = f"edgec_{kind}"
            else:
                self._counters[kind] = self._counters.get(kind, 0) + 1
                name = f"edgec_{kind}{self._counters[kind]}"
            self._vars[key] = name
            self.maps.append(make(name))
        return name

    # ---- the file ------------------------------------------------------------------------
    def emit(self) -> dict[str, str]:
        servers = self.servers()
        servers = self.redirect_servers() + servers
        upstreams = [self.upstream(u) for u in self.edge.upstreams if u.servers]
        upstreams += [self.retry_upstream(name, tries) for (name, tries) in sorted(self.retry_upstreams)]
        settings = self.http_settings()
        if self._dispatches:
            settings.append(D("open_file_cache", "max=1000", "inactive=60s",
                              comment="try_files, which hands a request to the route chosen for it, looks a "
                                      "file name up first"))
        variables = len(self._vars) * 2 + 256  # maps, their named captures, nginx's own
        if variables > 1024:
            settings.append(D("variables_hash_max_size", 1 << math.ceil(math.log2(variables)),
                              comment="room for every variable the maps below define"))
        http = settings + self.zones + self.maps + upstreams + servers
        printer = Printer()
        body = printer.render(http)
        if printer.used_dollar:
            body = Printer().render([D("geo", Expr("$" + DOLLAR_VAR), block=[D("default", "$")],
                                       comment="A literal '$' for values from the source: nginx has no escape "
                                               "for it.")]) + body
        main = Printer().render(self.main_settings())
        text = (f"# Generated by edgec from edge \"{_comment_safe(self.edge.name)}\""
                + (f", env {_comment_safe(self.edge.env)}" if self.edge.env else "") + ". Do not edit.\n"
                + "# Run: nginx -p <this directory> -c nginx.conf\n"
                + main + "http {\n" + _indent(body) + "}\n")
        self.files["nginx.conf"] = text
        return self.files

    def main_settings(self) -> list[D]:
        workers = 1024 + sum(u.keepalive.connections for u in self.edge.upstreams)
        workers = 1 << max(10, math.ceil(math.log2(workers)))
        return [
            D("worker_processes", "auto"),
            D("worker_rlimit_nofile", workers * 2),
            D("pid", self.layout["pid"]),
            D("error_log", self.layout["error_log"], "warn"),
            D("events", block=[D("worker_connections", workers)]),
        ]

    def http_settings(self) -> list[D]:
        temp = self.layout["temp"]
        lim = self.edge.limits
        out = [
            D("server_tokens", "off"),
            D("default_type", "application/octet-stream"),
            *[D(f"{kind}_temp_path", path) for kind, path in temp.items()],
            D("client_max_body_size", size(lim.max_body_bytes),
              comment="limits { }"),
            D("large_client_header_buffers", 4, size(lim.max_header_bytes)),
            D("client_header_timeout", duration(lim.header_timeout_ms)),
            D("keepalive_timeout", duration(lim.idle_timeout_ms)),
            D("limit_req_status", 429),
            D("proxy_http_version", "1.1"),
        ]
        if self._underscore_headers():
            out.append(D("underscores_in_headers", "on",
                         comment="A header name the source tests or sets has '_'; nginx drops such headers by default."))
        out += self.logging()
        out += self.cache_path()
        out += self.real_ip()
        out += self.tls_settings()
        out += self.proxy_settings()
        if self.resolver and self.version >= (1, 27, 3):
            out.append(D("resolver", self.resolver))
        return out

    def _underscore_headers(self) -> bool:
        for route in self.edge.routes:
            names = [h.name for m in route.matches for h in m.headers]
            names += [n for n, _ in route.request_headers.set + route.request_headers.add]
            names += list(route.request_headers.remove)
            if any("_" in n for n in names):
                return True
        return any(a.kind == "api_key" and "_" in a.header for a in self.edge.auth)

    def logging(self) -> list[D]:
        log = self.edge.observability.access_log
        if log.format == "off":
            return [D("access_log", "off")]
        path = "/dev/stdout" if log.path == "-" else log.path
        if log.format == "json":
            return [D("log_format", "edgec_json", "escape=json", Expr(JSON_LOG)),
                    D("access_log", path, "edgec_json")]
        return [D("access_log", path, "combined")]

    def cache_path(self) -> list[D]:
        ttls = [r.cache.ttl_ms for r in self.edge.routes if r.cache]
        if not ttls:
            return []
        # entries unused for `inactive` are evicted whatever their TTL: keep the longest TTL
        inactive = max(max(ttls), 600_000)
        return [D("proxy_cache_path", self.layout["cache"], "levels=1:2", f"keys_zone={CACHE_ZONE}:10m",
                  f"inactive={duration(inactive)}", "use_temp_path=off")]

    def real_ip(self) -> list[D]:
        if not self.edge.trusted_proxies:
            return []
        out = [D("set_real_ip_from", cidr) for cidr in self.edge.trusted_proxies]
        out[0].comment = "trust_proxies: the client address is read from X-Forwarded-For sent by these"
        out += [D("real_ip_header", "X-Forwarded-For"), D("real_ip_recursive", "on")]
        return out

    # ---- shared variables -------------------------------------------------------------------
    def host_var(self) -> str:
        """The Host header as the client sent it (with its port), else the server name."""
        return self._var(("host",), lambda n: D("map", Expr("$http_host"), Expr("$" + n), block=[
            D("", Expr("$host")), D("default", Expr("$http_host"))]))

    def trusted_var(self) -> str:
        return self._var(("trusted",), lambda n: D("geo", Expr("$realip_remote_addr"), Expr("$" + n), block=[
            D("default", "0"), *[D(c, "1") for c in self.edge.trusted_proxies]]))

    def forwarded(self) -> list[tuple[str, Expr]]:
        host = self.host_var()
        if not self.edge.trusted_proxies:
            return [("X-Real-IP", Expr("$remote_addr")), ("X-Forwarded-For", Expr("$remote_addr")),
                    ("X-Forwarded-Proto", Expr("$scheme")), ("X-Forwarded-Host", Expr("$" + host))]
        t = self.trusted_var()
        xff = self._var(("xff",), lambda n: D("map", Expr(f"${t}$http_x_forwarded_for"), Expr("$" + n), block=[
            D("~^1.", Expr("$http_x_forwarded_for, $realip_remote_addr")),
            D("default", Expr("$realip_remote_addr"))]))
        xfp = self._var(("xfp",), lambda n: D("map", Expr(f"${t}$http_x_forwarded_proto"), Expr("$" + n), block=[
            D(f"~^1(?<{n}_v>.+)\\z", Expr(f"${n}_v")), D("default", Expr("$scheme"))]))
        xfh = self._var(("xfh",), lambda n: D("map", Expr(f"${t}$http_x_forwarded_host"), Expr("$" + n), block=[
            D(f"~^1(?<{n}_v>.+)\\z", Expr(f"${n}_v")), D("default", Expr("$" + host))]))
        return [("X-Real-IP", Expr("$remote_addr")), ("X-Forwarded-For", Expr("$" + xff)),
                ("X-Forwarded-Proto", Expr("$" + xfp)), ("X-Forwarded-Host", Expr("$" + xfh))]

    # ---- upstreams ----------------------------------------------------------------------------
    def upstream(self, up: ir.Upstream, repeat: int = 1, name: str | None = None) -> D:
        # in a retry pool every server is listed several times: passive ejection would take
        # the copies out one by one after the retries it is there for, so it is off
        passive = up.passive if repeat == 1 else ir.PassiveCheck(0, up.passive.fail_timeout_ms)
        body: list[D] = [D("zone", name or up.name, "64k")]
        if up.sticky and self.version >= (1, 29, 6):
            pass  # the OSS sticky directive comes after the servers
        elif up.sticky:
            key = self.sticky_key(up)
            body.append(D("hash", Expr("$" + key), "consistent",
                          comment=f"sticky cookie {up.sticky.cookie}: NGINX Plus before 1.29.6; the cookie value is "
                                  "hashed instead (set on first visit)"))
        elif up.balance == "least_conn":
            body.append(D("least_conn"))
        elif up.balance == "ip_hash":
            body.append(D("ip_hash"))
        elif up.balance == "random":
            body.append(D("random"))
        elif up.balance == "hash":
            hk = up.hash_key or ir.HashKey("uri")
            key = {"header": lambda: "$" + header_var(hk.name or ""), "cookie": lambda: "$cookie_" + (hk.name or ""),
                   "client_ip": lambda: "$remote_addr", "uri": lambda: "$request_uri"}[hk.source]()
            body.append(D("hash", Expr(key), "consistent"))
        resolve = self.resolver and self.version >= (1, 27, 3)
        for server in up.servers:
            for _ in range(repeat):
                args = [server.address]
                if server.weight != 1:
                    args.append(f"weight={server.weight}")
                args.append(f"max_fails={passive.max_fails}")
                if passive.max_fails:
                    args.append(f"fail_timeout={duration(passive.fail_timeout_ms)}")
                if server.backup:
                    args.append("backup")
                if resolve and not _is_ip(server.host):
                    args.append("resolve")
                body.append(D("server", *args))
        if up.sticky and self.version >= (1, 29, 6):
            s = up.sticky
            args = ["cookie", s.cookie] + ([f"expires={duration(s.ttl_ms)}"] if s.ttl_ms else []) + [f"path={s.path}"]
            body.append(D("sticky", *args))
        if up.keepalive.connections:
            body.append(D("keepalive", up.keepalive.connections))
            body.append(D("keepalive_timeout", duration(up.keepalive.idle_timeout_ms)))
        return D("upstream", name or up.name, block=body)

    def retry_upstream(self, name: str, tries: int) -> D:
        up = self.upstreams[name]
        primary = [s for s in up.servers if not s.backup] or list(up.servers)
        repeat = math.ceil(tries / len(primary))
        d = self.upstream(up, repeat, self.retry_upstreams[(name, tries)])
        d.comment = (f"{name} with each server listed {repeat} times: nginx retries only on another entry, "
                     f"and a route retries up to {tries - 1} time{'s' if tries > 2 else ''} here")
        return d

    def sticky_key(self, up: ir.Upstream) -> str:
        cookie = up.sticky.cookie  # type: ignore[union-attr]
        return self._var(("sticky", up.name), lambda n: D("map", Expr("$cookie_" + cookie), Expr("$" + n), block=[
            D("", Expr("$request_id")), D("default", Expr("$cookie_" + cookie))]))

    def sticky_cookie(self, up: ir.Upstream) -> str:
        s = up.sticky
        attrs = f"; Path={s.path}" + (f"; Max-Age={s.ttl_ms // 1000}" if s.ttl_ms else "") + "; HttpOnly"
        key = self.sticky_key(up)
        return self._var(("setcookie", up.name), lambda n: D("map", Expr("$cookie_" + s.cookie), Expr("$" + n), block=[
            D("", expr(s.cookie + "=", Var(key), attrs)), D("default", "")]))

    def upstream_for(self, name: str, route: ir.Route) -> str:
        tries = route.retry.attempts + 1 if route.retry.attempts else 1
        up = self.upstreams[name]
        primary = [s for s in up.servers if not s.backup] or list(up.servers)
        if tries <= len(primary):
            return name
        key = (name, tries)
        if key not in self.retry_upstreams:
            self.retry_upstreams[key] = f"{name}__retry{tries}"
        return self.retry_upstreams[key]

    # ---- servers -------------------------------------------------------------------------------
    def listener_groups(self) -> list[list[ir.Listener]]:
        """Listeners that can share server blocks: one group per TLS certificate; plain HTTP
        listeners join the first group."""
        serving = [lst for lst in self.edge.listeners if lst.redirect is None]
        groups: dict[tuple, list[ir.Listener]] = {}
        for lst in serving:
            if lst.tls:
                groups.setdefault((lst.tls.cert, lst.tls.key, lst.tls.min_version), []).append(lst)
        plain = [lst for lst in serving if not lst.tls]
        if not groups:
            return [plain] if plain else []
        out = list(groups.values())
        out[0] = plain + out[0]
        return out

    def listen(self, lst: ir.Listener, default: bool) -> D:
        addr = str(lst.port) if lst.address == "0.0.0.0" else (
            f"[{lst.address}]:{lst.port}" if ":" in lst.address else f"{lst.address}:{lst.port}")
        args = [addr]
        if default:
            args.append("default_server")
        if lst.tls:
            args.append("ssl")
            if lst.http2 and self.version < (1, 25, 1):
                args.append("http2")
        return D("listen", *args)

    def tls_settings(self) -> list[D]:
        """TLS settings every HTTPS server shares (Mozilla's intermediate profile); nginx 1.22
        would otherwise still offer TLSv1 and TLSv1.1."""
        if not any(lst.tls for lst in self.edge.listeners if lst.redirect is None):
            return []
        return [D("ssl_protocols", "TLSv1.2", "TLSv1.3", comment="TLS (certificates are set per server)"),
                D("ssl_ciphers", MOZILLA_INTERMEDIATE_CIPHERS), D("ssl_prefer_server_ciphers", "off"),
                D("ssl_session_cache", "shared:edgec_tls:10m"), D("ssl_session_timeout", "1d"),
                D("ssl_session_tickets", "off")]

    def tls(self, group: list[ir.Listener]) -> list[D]:
        tls = next((lst.tls for lst in group if lst.tls), None)
        if tls is None:
            return []
        out = [D("ssl_certificate", tls.cert), D("ssl_certificate_key", tls.key)]
        if tls.min_version == "1.3":
            out.append(D("ssl_protocols", "TLSv1.3"))
        if self.version >= (1, 25, 1) and any(lst.http2 for lst in group):
            out.append(D("http2", "on"))
        return out

    def redirect_servers(self) -> list[D]:
        out = []
        for lst in self.edge.listeners:
            if lst.redirect is None:
                continue
            port = "" if lst.redirect.port == 443 else f":{lst.redirect.port}"
            out.append(D("server", comment=f"listen {lst.protocol} {lst.port}: every request is redirected to HTTPS",
                         block=[self.listen(lst, True), D("server_name", "_"),
                                D("return", lst.redirect.status, Expr(f"https://$host{port}$request_uri"))]))
        return out

    def servers(self) -> list[D]:
        """Server blocks; host names whose locations come out the same share one server."""
        bodies: dict[str, tuple[list[str | None], list[D]]] = {}
        plans = plan(self.edge, self.router)
        for sp in plans:
            body = self.locations(sp) + self.mirror_locations()
            key = Printer().render(body) if len(plans) > 1 else ""
            bodies.setdefault(key, ([], body))[0].append(sp.name)
        out = []
        for names, body in bodies.values():
            default = None in names
            hosts = [n for n in names if n is not None]
            for group in self.listener_groups():
                head = [self.listen(lst, default) for lst in group]
                head.append(D("server_name", *(["_"] if default else []), *hosts))
                head += self.tls(group)
                what = "requests no host-specific server takes" if default else "host " + ", ".join(hosts)
                out.append(D("server", block=head + body, comment=f"Routes for {what}"))
        return out

    def locations(self, sp: ServerPlan) -> list[D]:
        self._named: dict[Handler, str] = {}
        self._named_count: dict[int, int] = {}
        self._named_blocks: list[D] = []
        self._answers: set[str] = set()
        out = []
        metrics = self.edge.observability.metrics_path
        if metrics:
            out.append(self.metrics_location(metrics))
        for loc in sp.locations:
            if loc.kind == "exact" and loc.path == metrics:
                continue
            out.append(self.location(loc))
        return out + self._named_blocks

    def metrics_location(self, path: str) -> D:
        allow = ["127.0.0.1", "::1", *self.edge.trusted_proxies]
        return D("location", "=", path, comment="metrics: nginx stub_status counters, for local scrapers",
                 block=[D("stub_status"), D("access_log", "off"),
                        *[D("allow", a) for a in allow], D("deny", "all")])

    def location(self, loc: Location) -> D:
        if loc.kind == "exact":
            head = ("=", loc.path)
        elif loc.kind == "prefix":
            head = (loc.path + "/",)
        else:
            head = ("/",)
        cands = loc.candidates
        if not cands:
            return D("location", *head, block=[D("return", 404)])
        if not cands[0].conditional:
            c = cands[0]
            return D("location", *head, block=self.handler(self.handler_of(c)), comment=self.describe(c))
        self._dispatches = True
        return D("location", *head, block=[D("try_files", "", Expr("$" + self.selector(cands)))],
                 comment="chosen per request: " + ", ".join(self.describe(c) for c in cands[:6])
                 + (f" and {len(cands) - 6} more" if len(cands) > 6 else ""))

    def describe(self, c: Candidate) -> str:
        e = c.entry
        return (f"route {e.route.name}" + (f" (match {e.match_index + 1})" if len(e.route.matches) > 1 else "")
                + (f" on {c.host_pattern}" if c.host_test else ""))

    def handler_of(self, c: Candidate) -> Handler:
        e = c.entry
        route = e.route
        needs_prefix = ((isinstance(route.action, ir.Redirect) and route.action.path is not None
                         and route.action.path.type == "prefix" and route.action.path.match is None))
        prefix = e.match.path.value if needs_prefix and e.match.path.type != "regex" else None
        return Handler(e.route_index, prefix)

    def named(self, h: Handler) -> str:
        name = self._named.get(h)
        if name is None:
            route = self.edge.routes[h.route_index]
            same = self._named_count.get(h.route_index, 0)
            self._named_count[h.route_index] = same + 1
            name = f"@{route.name}" + (f"_{same + 1}" if same else "")
            self._named[h] = name
            self._named_blocks.append(D("location", name, block=self.handler(h)))
        return name

    def not_found(self) -> str:
        h = Handler(-1, None)
        if h not in self._named:
            self._named[h] = "@edgec_no_route"
            self._named_blocks.append(D("location", "@edgec_no_route", block=[D("return", 404)]))
        return self._named[h]

    # ---- per-request choice between candidates ------------------------------------------------
    def selector(self, cands: list[Candidate]) -> str:
        atoms: list[str] = []
        rows = []
        for c in cands:
            bits = [self.atom(a) for a in self.conditions(c)]
            for b in bits:
                if b not in atoms:
                    atoms.append(b)
            rows.append((bits, self.named(self.handler_of(c)), c))
        last = rows[-1]
        default = last[1] if not last[2].conditional else self.not_found()
        if not last[2].conditional:
            rows = rows[:-1]
        key = ("sel", tuple(atoms), tuple((tuple(b), n) for b, n, _ in rows), default)
        source = Expr("".join("$" + a for a in atoms))

        def make(name: str) -> D:
            entries = [D("~^" + "".join("1" if a in bits else "." for a in atoms), named)
                       for bits, named, _ in rows]
            return D("map", source, Expr("$" + name), block=entries + [D("default", default)])
        return self._var(key, make)

    def conditions(self, c: Candidate) -> list[tuple]:
        e = c.entry
        m = e.match
        out: list[tuple] = []
        if c.host_test:
            out.append(("host", c.host_pattern))
        if c.runtime_regex:
            out.append(("regex", m.path.value))
        if m.methods:
            out.append(("method", tuple(sorted(m.methods))))
        out += [("header", h.name.lower(), h.type, h.value) for h in m.headers]
        out += [("query", q.name, q.type, q.value) for q in m.query]
        return out

    def atom(self, cond: tuple) -> str:
        kind = cond[0]
        if kind == "host":
            pattern = cond[1]
            key = ("~^.+" + regex.literal(pattern[1:]) + "\\z") if pattern.startswith("*.") else map_key(pattern)
            return self._var(("a", cond), lambda n: D("map", Expr("$host"), Expr("$" + n), block=[
                D(key, "1"), D("default", "0")]))
        if kind == "regex":
            return self._var(("a", cond), lambda n: D("map", Expr("$uri"), Expr("$" + n), block=[
                D("~" + regex.full(cond[1]), "1"), D("default", "0")]))
        if kind == "method":
            alt = "|".join(cond[1])
            return self._var(("a", cond), lambda n: D("map", Expr("$request_method"), Expr("$" + n), block=[
                D(f"~^(?:{alt})\\z", "1"), D("default", "0")]))
        if kind == "header":
            _, name, typ, value = cond
            source = Expr("$" + header_var(name))
            if typ == "present":
                entries = [D("", "0"), D("default", "1")]
            else:
                entries = [D("~" + (regex.exact(value) if typ == "exact" else regex.full(value)), "1"),
                           D("default", "0")]
            return self._var(("a", cond), lambda n: D("map", source, Expr("$" + n), block=entries))
        _, name, typ, value = cond
        found = self.query_var(name)
        if typ == "present":
            entries = [D("~^!", "1"), D("default", "0")]
        elif typ == "exact":
            entries = [D("~^!" + regex.percent_tolerant(value) + "\\z", "1"), D("default", "0")]
        else:
            entries = [D(f"~^!(?:{value})\\z", "1"), D("default", "0")]
        return self._var(("a", cond), lambda n: D("map", Expr("$" + found), Expr("$" + n), block=entries))

    def query_var(self, name: str) -> str:
        """'!' + the raw value of the first `name` parameter, or '' when there is none."""
        def make(n: str) -> D:
            pattern = f"(?:^|&){regex.percent_tolerant(name)}(?:=(?<{n}_v>[^&]*))?(?:&|\\z)"
            return D("map", Expr("$args"), Expr("$" + n), block=[D("~" + pattern, Expr(f"!${n}_v")),
                                                                  D("default", "")])
        return self._var(("q", name), make)

    # ---- one route's location body ------------------------------------------------------------
    def handler(self, h: Handler) -> list[D]:
        route = self.edge.routes[h.route_index]
        action = route.action
        body = self.policies(route)
        if isinstance(action, ir.Forward):
            return body + self.forward(route)
        answer = self.redirect(route, action, h.prefix) if isinstance(action, ir.Redirect) else \
            self.respond(action)
        answer = self.response_headers(route, proxied=False) + answer
        if route.rate_limit or (route.auth and self.auth[route.auth].kind == "basic"):
            # `return` runs in the rewrite phase, before limit_req and auth_basic would:
            # answer from a named location reached after them
            name = f"@{route.name}_answer"
            if name not in self._answers:
                self._answers.add(name)
                self._named_blocks.append(D("location", name, block=answer))
            # the preflight answer of `policies` is given here, so it needs the CORS headers too
            front = self.response_headers(route, proxied=False) if route.cors or self.api_key_of(route) else []
            self._dispatches = True
            return body + front + [D("try_files", "", name)]
        return body + answer

    def policies(self, route: ir.Route) -> list[D]:
        out: list[D] = []
        if route.cors:
            # a preflight is answered here: 204 for an allowed origin, 403 for any other
            allowed = self.cors_origin_var(route.cors)
            pre = self.preflight_var()
            ok = self._var(("corsok", allowed), lambda n: D("map", Expr(f"${pre}${allowed}"), Expr("$" + n), block=[
                D("~^1.", "1"), D("default", "0")]))
            out += [D("if", Expr(f"(${ok})"), block=[D("return", 204)]),
                    D("if", Expr(f"(${pre})"), block=[D("return", 403)])]
        auth = self.auth.get(route.auth) if route.auth else None
        if isinstance(auth, ir.ApiKeyAuth):
            out.append(D("if", Expr(f"(${self.api_key_var(auth)})"), block=[D("return", 401)]))
        if route.rate_limit:
            zone = self.rate_zone(route)
            args = [f"zone={zone}"] + ([f"burst={route.rate_limit.burst}"] if route.rate_limit.burst else []) + \
                ["nodelay"]
            out.append(D("limit_req", *args))
        if isinstance(auth, ir.BasicAuth):
            path = self.htpasswd_files[auth.name]
            note = ("written with mode 0600: the nginx worker user must own it (workers read it per request)"
                    if path.startswith("secrets/") else None)
            out += [D("auth_basic", auth.realm), D("auth_basic_user_file", path, comment=note)]
        return out

    def rate_zone(self, route: ir.Route) -> str:
        rl = route.rate_limit
        key = "$binary_remote_addr" if rl.key.source == "client_ip" else "$" + header_var(rl.key.name or "")
        name = f"rl_{route.name}"
        if not any(z.args[1].startswith(f"zone={name}:") for z in self.zones):
            self.zones.append(D("limit_req_zone", Expr(key), f"zone={name}:10m", f"rate={rate(rl)}"))
        return name

    def preflight_var(self) -> str:
        return self._var(("preflight",), lambda n: D(
            "map", Expr("$request_method:$http_origin:$http_access_control_request_method"), Expr("$" + n),
            block=[D("~^OPTIONS:.+:.", "1"), D("default", "0")]))

    def api_key_of(self, route: ir.Route) -> ir.ApiKeyAuth | None:
        auth = self.auth.get(route.auth) if route.auth else None
        return auth if isinstance(auth, ir.ApiKeyAuth) else None

    def api_key_challenge(self, auth: ir.ApiKeyAuth) -> str:
        """The WWW-Authenticate value for a refused key (as the runtime sends it), else empty."""
        bad = self.api_key_var(auth)
        return self._var(("challenge", auth.name), lambda n: D("map", Expr("$" + bad), Expr("$" + n), block=[
            D("1", f'ApiKey header="{auth.header}"'), D("default", "")]))

    def api_key_var(self, auth: ir.ApiKeyAuth) -> str:
        path = f"secrets/{auth.name}.keys"
        lines = [f"{quote('~' + regex.exact(k))} 0;" for k in sorted(set(self.api_keys.get(auth.name, [])))]
        self.files[path] = "# API keys of auth " + auth.name + " (generated by edgec; keep private)\n" + \
            "".join(line + "\n" for line in lines)
        return self._var(("apikey", auth.name), lambda n: D(
            "map", Expr("$" + header_var(auth.header)), Expr("$" + n),
            comment=f"1 when the {auth.header} header holds no valid key of auth {auth.name}",
            block=[D("default", "1"), D("include", path)]))

    # ---- actions --------------------------------------------------------------------------------
    def forward(self, route: ir.Route) -> list[D]:
        action = route.action
        assert isinstance(action, ir.Forward)
        backends = [b for b in action.backends if b.weight > 0 and self.upstreams[b.upstream].servers]
        if not backends:
            return [D("return", 500)]
        ups = [self.upstreams[b.upstream] for b in backends]
        out = self.path_rewrite(route)
        if len(backends) == 1:
            out.append(D("proxy_pass", "http://" + self.upstream_for(backends[0].upstream, route)))
        else:
            out.append(D("proxy_pass", Expr("http://$" + self.split_var(route, backends))))
        out += self.proxy_headers(route, ups)
        out += self.response_headers(route, proxied=True)
        out += self.timeouts(route, ups)
        out += self.retries(route)
        out += self.cache(route)
        for i, mirror in enumerate(route.mirrors):
            out.append(D("mirror", f"/_edgec/mirror/{route.name}/{i + 1}"))
        return out

    def split_var(self, route: ir.Route, backends: list[ir.Backend]) -> str:
        total = sum(b.weight for b in backends)
        entries = []
        for b in backends[:-1]:
            pct = math.floor(b.weight * 10000 / total) / 100
            entries.append(D(f"{pct:.2f}".rstrip("0").rstrip(".") + "%", self.upstream_for(b.upstream, route)))
        entries.append(D("*", self.upstream_for(backends[-1].upstream, route)))
        return self._var(("split", route.name), lambda n: D(
            "split_clients", Expr("${request_id}"), Expr("$" + n), block=entries,
            comment=f"route {route.name}: weighted split, drawn per request"))

    def path_rewrite(self, route: ir.Route) -> list[D]:
        rw = route.rewrite.path
        if rw is None:
            return []
        if rw.type == "full":
            return [D("rewrite", "^", rw.replacement, "break")]
        p = strip_slash(routing.decoded_path(rw.match or "/"))
        r = strip_slash(rw.replacement)
        head = "(?s)^" + regex.literal(p)
        if r:
            return [D("rewrite", head + "(/.*)?\\z", Expr(expr(r) + "$1"), "break")]
        return [D("rewrite", head + "(/.*)\\z", Expr("$1"), "break"), D("rewrite", head + "\\z", "/", "break")]

    def base_headers(self) -> dict[str, tuple[str, str]]:
        """The request headers every proxied request gets; set at http level and inherited by
        every location that sets none of its own (proxy_set_header inherits all or nothing)."""
        headers: dict[str, tuple[str, str]] = {"host": ("Host", Expr("$" + self.host_var()))}
        for name, value in self.forwarded():
            headers[name.lower()] = (name, value)
        headers["x-request-id"] = ("X-Request-Id", Expr("$" + self.request_id_var()))
        # upstream keep-alive: no "Connection: close" towards the servers
        headers["connection"] = ("Connection", "")
        return headers

    def proxy_settings(self) -> list[D]:
        """Proxy settings shared by every location (each one overridden where a route differs)."""
        out = [D("proxy_set_header", n, v) for n, v in self.base_headers().values()]
        out[0].comment = "Every location proxies with these unless it says otherwise"
        out += [*self.always_headers(),
                D("proxy_hide_header", "X-Powered-By"),
                D("proxy_connect_timeout", duration(DEFAULT_TIMEOUTS.connect_ms)),
                D("proxy_read_timeout", duration(DEFAULT_TIMEOUTS.read_ms)),
                D("proxy_send_timeout", duration(DEFAULT_TIMEOUTS.send_ms)),
                D("proxy_next_upstream", "off")]
        return out

    def request_id_var(self) -> str:
        """The client's X-Request-Id when it is a sane one, else nginx's own request id."""
        return self._var(("request_id",), lambda n: D("map", Expr("$http_x_request_id"), Expr("$" + n), block=[
            D("~^[A-Za-z0-9._:-]{1,128}\\z", Expr("$http_x_request_id")), D("default", Expr("$request_id"))]))

    def always_headers(self) -> list[D]:
        """Response headers on every answer: at http level, and again in every block with an
        add_header of its own (add_header inherits all or nothing)."""
        return [D("add_header", "X-Request-Id", Expr("$" + self.request_id_var()), "always")]

    def proxy_headers(self, route: ir.Route, ups: list[ir.Upstream]) -> list[D]:
        ops = route.request_headers
        host = route.rewrite.host
        if ops.empty and not host:
            return []
        headers = self.base_headers()
        if host:
            headers["host"] = ("Host", host)
        for name in ops.remove:
            headers[name.lower()] = (name, "")
        for name, value in ops.set:
            headers[name.lower()] = (name, value)
        for name, value in ops.add:
            headers[name.lower()] = (name, expr(Var(self.append_var(name)), value))
        return [D("proxy_set_header", n, v) for n, v in headers.values()]

    def append_var(self, name: str) -> str:
        var = header_var(name)
        return self._var(("add", var), lambda n: D("map", Expr("$" + var), Expr("$" + n), block=[
            D("", ""), D("default", Expr(f"${var},"))]))

    def response_headers(self, route: ir.Route, proxied: bool) -> list[D]:
        out: list[D] = []
        ops = route.response_headers
        if proxied and (ops.remove or ops.set):
            hidden = ["X-Powered-By"] + list(ops.remove) + [n for n, _ in ops.set]
            seen = set()
            for name in hidden:
                if name.lower() not in seen:
                    seen.add(name.lower())
                    out.append(D("proxy_hide_header", name))
        out += [D("add_header", n, v, "always") for n, v in ops.set + ops.add]
        if route.cors:
            out += self.cors_headers(route.cors)
        if proxied and isinstance(route.action, ir.Forward):
            for b in route.action.backends:
                up = self.upstreams[b.upstream]
                if up.sticky and self.version < (1, 29, 6):
                    out.append(D("add_header", "Set-Cookie", Expr("$" + self.sticky_cookie(up)), "always"))
        if route.cache and proxied:
            out.append(D("add_header", "X-Cache-Status", Expr("$upstream_cache_status"), "always"))
        key_auth = self.api_key_of(route)
        if key_auth:
            out.append(D("add_header", "WWW-Authenticate", Expr("$" + self.api_key_challenge(key_auth)), "always"))
        if any(d.name == "add_header" for d in out):
            out += self.always_headers()
        return out

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
        return self._var(("cors", cors.origins, cors.credentials), lambda n: D(
            "map", Expr("$http_origin"), Expr("$" + n), block=entries))

    def cors_headers(self, cors: ir.Cors) -> list[D]:
        anyone = "*" in cors.origins
        origin = self.cors_origin_var(cors)
        pre = self.preflight_var()

        def on(when: str, value: str) -> str:
            """`value` when the origin is allowed and the request is (1) / is not (0) a preflight."""
            return self._var(("corsv", origin, when, value), lambda n: D(
                "map", Expr(f"${pre}${origin}"), Expr("$" + n), block=[
                    D(f"~^{when}.", value), D("default", "")]))

        out = [D("add_header", "Access-Control-Allow-Origin", Expr("$" + origin), "always")]
        if not anyone or cors.credentials:
            out.append(D("add_header", "Vary", Expr("$" + on("[01]", "Origin")), "always"))
        if cors.credentials:
            out.append(D("add_header", "Access-Control-Allow-Credentials",
                         Expr("$" + on("[01]", "true")), "always"))
        if cors.expose:
            out.append(D("add_header", "Access-Control-Expose-Headers",
                         Expr("$" + on("0", ", ".join(cors.expose))), "always"))
        out.append(D("add_header", "Access-Control-Allow-Methods",
                     Expr("$" + on("1", ", ".join(cors.methods))), "always"))
        if cors.headers:
            allow_headers = on("1", ", ".join(cors.headers))
        elif anyone and not cors.credentials:
            allow_headers = on("1", Expr("$http_access_control_request_headers"))
        else:
            allow_headers = None
        if allow_headers:
            out.append(D("add_header", "Access-Control-Allow-Headers", Expr("$" + allow_headers), "always"))
        out.append(D("add_header", "Access-Control-Max-Age", Expr("$" + on("1", str(cors.max_age_s))),
                     "always"))
        return out

    def timeouts(self, route: ir.Route, ups: list[ir.Upstream]) -> list[D]:
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
        c = route.cache
        if c is None:
            return []
        parts = {"method": "$request_method", "scheme": "$scheme", "host": "$host", "path": "$uri", "query": "$args"}
        key = "|".join(parts[p] for p in c.key)
        key = key.replace("$uri|$args", "$request_uri")
        key += "".join("|$" + header_var(v) for v in c.vary)
        methods = [m for m in c.methods if m not in ("GET", "HEAD")]
        return [D("proxy_cache", CACHE_ZONE), D("proxy_cache_key", Expr(key)),
                D("proxy_cache_valid", 200, duration(c.ttl_ms)),
                D("proxy_cache_methods", "GET", "HEAD", *methods), D("proxy_cache_lock", "on")]

    def mirror_locations(self) -> list[D]:
        out = []
        for route in self.edge.routes:
            for i, mirror in enumerate(route.mirrors):
                up = self.upstreams.get(mirror.upstream)
                if up is None or not up.servers:
                    continue
                body: list[D] = [D("internal")]
                if mirror.percent < 100:
                    skip = self._var(("mirror", route.name, i), lambda n: D(
                        "split_clients", Expr("${request_id}"), Expr("$" + n), block=[
                            D(f"{mirror.percent:g}%", ""), D("*", "1")]))
                    body.append(D("if", Expr(f"(${skip})"), block=[D("return", 204)]))
                body.append(D("proxy_pass", Expr(f"http://{up.name}$request_uri")))
                out.append(D("location", "=", f"/_edgec/mirror/{route.name}/{i + 1}", block=body))
        return out

    def redirect(self, route: ir.Route, r: ir.Redirect, prefix: str | None) -> list[D]:
        scheme: str | Var = r.scheme or Var("scheme")
        host: str | Var = r.host or Var("host")
        port = self.redirect_port(r)
        parts: list[str | Var] = [scheme, "://", host, *port]
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
            return [Var(self._var(("port", port), lambda n: D("map", Expr("$scheme"), Expr("$" + n), block=[
                D("http", "" if port == 80 else f":{port}"), D("https", "" if port == 443 else f":{port}"),
                D("default", f":{port}")])))]
        return [Var(self._var(("port",), lambda n: D("map", Expr("$scheme:$server_port"), Expr("$" + n), block=[
            D("http:80", ""), D("https:443", ""), D("default", Expr(":$server_port"))])))]

    def prefix_redirect_var(self, match: str, replacement: str) -> str:
        """The request target with the prefix replaced, read from the raw $request_uri (never
        the decoded $uri, which may hold a line break)."""
        p = strip_slash(routing.decoded_path(match))
        r = escape_path(strip_slash(replacement))

        def make(n: str) -> D:
            head = "~^" + regex.percent_tolerant(p)
            return D("map", Expr("$request_uri"), Expr("$" + n), block=[
                D(head + f"(?<{n}_p>(?:/|%2[Ff])[^?]*)(?<{n}_q>\\?.*)?\\z", Expr(expr(r) + f"${n}_p${n}_q")),
                D(head + f"(?<{n}_q>\\?.*)?\\z", Expr(expr(r or "/") + f"${n}_q")),
                D("default", r or "/")])
        return self._var(("redirect", p, r), make)

    def respond(self, r: ir.Respond) -> list[D]:
        return [D("default_type", r.content_type), D("return", r.status, r.body)]


def map_key(text: str) -> str:
    """An exact map key: a leading '~' or '\\', or a word map reads as a parameter, is escaped."""
    if text[:1] in ("~", "\\") or text in ("default", "hostnames", "include", "volatile"):
        return "\\" + text
    return text


def _indent(text: str) -> str:
    return "".join(("    " + line if line.strip() else line) + "\n" for line in text.splitlines())


def _comment_safe(text: str) -> str:
    return text.replace("\n", " ").replace("\r", " ")


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        return False
