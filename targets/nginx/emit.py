"""IR → nginx directive tree → text: the file, its http settings, listeners and servers.

One Emitter per build. The parts it wires each have one job: upstreams.py (upstream
blocks and retry pools), policies.py (CORS, API keys, rate limits, basic auth),
headers.py (forwarding headers and header operations), actions.py (what a location
does), matching.py (the per-request choice between routes), locations.py (one server's
locations, from plan.py). Shared variables (maps, geo, split_clients) are made once, on
first use, in a deterministic order (variables.py), and collected into the http block.
"""
from __future__ import annotations

import math

from edgec import ir
from edgec.ir import DEFAULT_TIMEOUTS

from .actions import CACHE_ZONE, Actions
from .conf import DOLLAR_VAR, D, Expr, Printer, duration, entry, line, size
from .headers import Headers
from .javascript import Javascript
from .locations import Parts, ServerLocations
from .matching import Matching
from .plan import plan
from .policies import Policies
from .upstreams import Upstreams
from .variables import Variables

MOZILLA_INTERMEDIATE_CIPHERS = (
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
    "DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384:DHE-RSA-CHACHA20-POLY1305")
JSON_LOG = ('{"time":"$time_iso8601","remote_addr":"$remote_addr","method":"$request_method",'
            '"uri":"$request_uri","protocol":"$server_protocol","status":$status,'
            '"bytes_sent":$body_bytes_sent,"duration_s":$request_time,"host":"$host",'
            '"upstream":"$upstream_addr","upstream_status":"$upstream_status",'
            '"cache":"$upstream_cache_status","user_agent":"$http_user_agent","request_id":"$edgec_request_id",'
            '"trace_id":"$edgec_trace_id"}')
LAYOUTS = {
    # relative to the prefix given with `nginx -p DIR` (the build's output directory)
    "prefix": dict(run="nginx -p <this directory> -c nginx.conf -g 'daemon off;' (in the foreground: the "
                       "access log goes to standard output)",
                   stdout_log="/dev/stdout", pid="logs/nginx.pid", error_log="logs/error.log", cache="cache",
                   temp=dict(client_body="client_body_temp", proxy="proxy_temp", fastcgi="fastcgi_temp",
                             uwsgi="uwsgi_temp", scgi="scgi_temp")),
    # Debian/Ubuntu packaging paths, for a config installed as /etc/nginx/nginx.conf
    # nginx runs as a daemon there (systemd): it has no standard output to log to
    "debian": dict(run="install as /etc/nginx/nginx.conf, then nginx -t && systemctl reload nginx",
                   stdout_log="/var/log/nginx/access.log",
                   pid="/run/nginx.pid", error_log="/var/log/nginx/error.log", cache="/var/cache/nginx/edgec",
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


# how many certificates a client's chain may hold above its own (OpenSSL's default, which the
# other targets keep; nginx's own default is 1)
CLIENT_CHAIN_DEPTH = 100
UNTRUSTED_CLIENT = "@edgec_untrusted_client"


class Emitter:
    """One build: the parts below share the config's variables, then emit() lays the file out."""

    def __init__(self, edge: ir.Edge, version: tuple[int, int, int], layout: str = "prefix",
                 resolver: str | None = None, api_keys: dict[str, list[str]] | None = None,
                 htpasswd_files: dict[str, str] | None = None, jwt_secrets: dict[str, str] | None = None,
                 njs: bool = False):
        self.edge = edge
        self.version = version
        self.layout = LAYOUTS[layout]
        self.resolver = resolver
        self.files: dict[str, str] = {}
        self.vars = Variables()
        self.upstreams = Upstreams(edge, version, resolver, self.vars)
        self.policies = Policies(edge, self.vars, api_keys or {}, htpasswd_files or {}, self.files)
        self.headers = Headers(edge, version, self.vars, self.upstreams, self.policies)
        self.actions = Actions(edge, self.vars, self.upstreams, self.headers)
        self.js = Javascript(edge, self.layout["cache"], self.files, njs)
        self.jwt_secrets = jwt_secrets or {}
        self.parts = Parts(edge, self.policies, self.headers, self.actions, Matching(self.vars), self.js)
        self._dispatches = False  # some location chooses per request (try_files)

    # ---- the file ------------------------------------------------------------------------
    def emit(self) -> dict[str, str]:
        try:
            return self._emit()
        finally:
            # the printed lines are this build's: a long-lived process keeps none
            line.cache_clear()
            entry.cache_clear()

    def _emit(self) -> dict[str, str]:
        servers = self.servers()
        servers = self.redirect_servers() + servers
        upstreams = self.upstreams.blocks() + [self.upstreams.block(u) for u in self.policies.external.services()]
        settings = self.http_settings()
        if self._dispatches:
            settings.append(D("open_file_cache", "max=1000", "inactive=60s",
                              comment="try_files, which hands a request to the route chosen for it, looks a "
                                      "file name up first"))
        variables = len(self.vars) * 2 + 256  # maps, their named captures, nginx's own
        if variables > 1024:
            settings.append(D("variables_hash_max_size", 1 << math.ceil(math.log2(variables)),
                              comment="room for every variable the maps below define"))
        if len(self.vars) > 32:
            # nginx's element: a pointer and the name + 2 bytes aligned to 8, and a bucket ends in
            # a pointer: the default 64 bytes hold one edgec_refusal1234, and beside nginx's own
            # names 48 such (measured with 1.22; 40 fit) find no hash up to the max size that puts
            # them one per bucket ("could not build optimal variables_hash"). Room for 8 of the
            # longest: a named capture adds up to "_span" to its map's name, and nginx's own
            # reach 25 bytes (proxy_add_x_forwarded_for).
            longest = max(self.vars.longest() + len("_span"), 25)
            bucket = 1 << math.ceil(math.log2(8 + 8 * (8 + (longest + 2 + 7) // 8 * 8)))
            settings.append(D("variables_hash_bucket_size", bucket))
        scripts = self.js.http(self.jwt_secrets) if self.js.enabled else []
        http = settings + scripts + self.policies.zones + self.vars.blocks + upstreams + servers
        http[len(settings):len(settings)] = hash_sizes(http)
        printer = Printer()
        body = printer.lines(http, depth=1)
        dollar = Printer().lines([D("geo", Expr("$" + DOLLAR_VAR), block=[D("default", "$")],
                                    comment="A literal '$' for values from the source: nginx has no escape "
                                            "for it.")], depth=1) if printer.used_dollar else []
        # one join: each concatenation of the whole text copied it again
        self.files["nginx.conf"] = "\n".join([
            f"# Generated by edgec from edge \"{_comment_safe(self.edge.name)}\""
            + (f", env {_comment_safe(self.edge.env)}" if self.edge.env else "") + ". Do not edit.",
            f"# Run: {self.layout['run']}",
            *Printer().lines(self.main_settings()), "http {", *dollar, *body, "}", ""])
        return self.files

    def main_settings(self) -> list[D]:
        workers = 1024 + sum(u.keepalive.connections for u in self.edge.upstreams)
        workers = 1 << max(10, math.ceil(math.log2(workers)))
        return ([self.js.load()] if self.js.enabled else []) + [
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
            D("large_client_header_buffers", ir.HEAD_BUFFERS, size(lim.max_header_bytes)),
            D("client_header_timeout", duration(lim.header_timeout_ms)),
            D("keepalive_timeout", duration(lim.idle_timeout_ms)),
            D("limit_req_status", 429),
            D("proxy_http_version", "1.1"),
        ]
        out += self.logging()
        out += self.cache_path()
        out += self.real_ip()
        out += self.tls_settings()
        out += self.proxy_settings()
        if self.resolver and self.version >= (1, 27, 3):
            out.append(D("resolver", self.resolver))
        return out

    def logging(self) -> list[D]:
        log = self.edge.observability.access_log
        if log.format == "off":
            return [D("access_log", "off")]
        path = self.layout["stdout_log"] if log.path == "-" else log.path
        if log.format == "json":
            fmt = JSON_LOG.replace("$edgec_trace_id", "$" + self.headers.trace_id_var()
                                   if self.edge.observability.tracing else "")
            return [D("log_format", "edgec_json", "escape=json", Expr(fmt)),
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

    def listener_groups(self) -> list[list[ir.Listener]]:
        """Listeners that can share server blocks: one group per TLS certificate (and client
        certificate checks); plain HTTP listeners join the first group."""
        serving = [lst for lst in self.edge.listeners if lst.redirect is None]
        groups: dict[tuple, list[ir.Listener]] = {}
        for lst in serving:
            if lst.tls:
                groups.setdefault((lst.tls.cert, lst.tls.key, lst.tls.min_version, lst.client_cert), []).append(lst)
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
        client = next((lst.client_cert for lst in group if lst.client_cert), None)
        if client is not None:
            out += [D("ssl_client_certificate", client.ca), D("ssl_verify_client", "on" if client.required else "optional"),
                    D("ssl_verify_depth", CLIENT_CHAIN_DEPTH),
                    # 495 (an untrusted certificate) and 496 (none where one is required): the
                    # connection is closed unanswered, as the other targets refuse it in TLS
                    D("error_page", 495, 496, "=", UNTRUSTED_CLIENT),
                    D("location", UNTRUSTED_CLIENT, block=[D("return", 444)])]
        if tls.min_version == "1.3":
            out.append(D("ssl_protocols", "TLSv1.3"))
        if self.version >= (1, 25, 1) and any(lst.http2 for lst in group):
            out.append(D("http2", "on"))
        return out

    def malformed_target(self) -> D:
        """400 for a raw byte over 0x7f in the request target, as routing.decide answers."""
        bad = self.vars.define(("malformed",), lambda n: D("map", Expr("$request_uri"), Expr("$" + n), block=[
            D("~[\\x80-\\xff]", "1"), D("default", "")]))
        return D("if", Expr(f"(${bad})"), block=[D("return", 400)])

    def redirect_servers(self) -> list[D]:
        out = []
        for lst in self.edge.listeners:
            if lst.redirect is None:
                continue
            port = "" if lst.redirect.port == 443 else f":{lst.redirect.port}"
            out.append(D("server", comment=f"listen {lst.protocol} {lst.port}: every request is redirected to HTTPS",
                         block=[self.listen(lst, True), D("server_name", "_"),
                                *self.policies.access(self.edge.access),
                                D("return", lst.redirect.status, Expr(f"https://$host{port}$request_uri"))]))
        return out

    def servers(self) -> list[D]:
        """Server blocks; host names whose locations come out the same share one server."""
        bodies: dict[str, tuple[list[str | None], list[D]]] = {}
        plans = plan(self.edge)
        for sp in plans:
            locations = ServerLocations(self.parts)
            body = (locations.build(sp) + self.actions.mirror_locations()
                    + self.policies.external.locations(self.headers.host_var(), self.headers.request_id_var()))
            if self.js.enabled:
                base = [D("proxy_set_header", n, v) for n, v in self.headers.base_headers().values()]
                body += self.js.jwks_locations() + self.js.part_locations(base, self.edge.limits.max_body_bytes)
            self._dispatches |= locations.dispatches
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
                head.append(self.malformed_target())
                head += self.policies.access(self.edge.access)
                what = "requests no host-specific server takes" if default else "host " + ", ".join(hosts)
                out.append(D("server", block=head + body, comment=f"Routes for {what}"))
        return out

    def proxy_settings(self) -> list[D]:
        """Proxy settings shared by every location (each one overridden where a route differs)."""
        out = [D("proxy_set_header", n, v) for n, v in self.headers.base_headers().values()]
        out[0].comment = "Every location proxies with these unless it says otherwise"
        out += [*self.headers.always_headers(),
                D("proxy_hide_header", "X-Powered-By"),
                D("proxy_connect_timeout", duration(DEFAULT_TIMEOUTS.connect_ms)),
                D("proxy_read_timeout", duration(DEFAULT_TIMEOUTS.read_ms)),
                D("proxy_send_timeout", duration(DEFAULT_TIMEOUTS.send_ms)),
                D("proxy_next_upstream", "off")]
        return out


def _comment_safe(text: str) -> str:
    return text.replace("\n", " ").replace("\r", " ")


_MAP_WORDS = frozenset({"default", "hostnames", "volatile", "include"})


def hash_sizes(http: list[D]) -> list[D]:
    """server_names_hash_* and map_hash_* sized for the longest and the number of keys there are:
    at the defaults (buckets of 64 bytes) a host name or map key of 47 characters fails `nginx -t`."""
    names: list[str] = []
    keys: list[str] = []

    # nginx takes server_name only in a server block and map only at http level: the
    # locations (most of the config) need not be looked through; map entries printed as text
    # (conf.entry) are regex keys and default, which the hash does not hold
    for block in http:
        if block.name == "server" and block.block:
            for d in block.block:
                if isinstance(d, D) and d.name == "server_name":
                    names.extend(a for a in d.args if a != "_")
        elif block.name == "map" and block.block:
            keys.extend(d.name for d in block.block
                        if isinstance(d, D) and d.name not in _MAP_WORDS and not d.name.startswith("~"))
    out = []
    for prefix, found, default_max in (("server_names", names, 512), ("map", keys, 2048)):
        if not found:
            continue
        longest = max(len(k.encode("utf-8")) for k in found)
        # nginx's element: a pointer, the key and 2 bytes aligned to 8; a bucket also ends in a pointer
        bucket = 1 << max(6, math.ceil(math.log2(8 + (longest + 2 + 7) // 8 * 8 + 8)))
        if bucket > 64:
            out.append(D(f"{prefix}_hash_bucket_size", bucket,
                         comment=f"room for the longest {'host name' if prefix == 'server_names' else 'map key'}"))
        if len(found) * 4 > default_max:
            out.append(D(f"{prefix}_hash_max_size", 1 << math.ceil(math.log2(len(found) * 4))))
    return out
