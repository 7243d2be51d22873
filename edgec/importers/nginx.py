"""`edgec import nginx`: an nginx.conf (includes followed) as one .edge file that decides as nginx did.

Locations are laid out by `nginx_locations.plan` so that edgec's precedence picks what nginx's
search picks; the rest of a location (proxy_pass, headers with nginx's all-or-nothing
inheritance, return and rewrite, auth_basic, limit_req, proxy_cache) becomes the route's
statements. A directive that is not carried over is a warning (W503) at its file and line; a
construct whose behaviour the language cannot reproduce refuses the file (E502) and nothing is
written. The result is compiled and linted, and nginx's location choice (`pick`) is compared
with edgec's on paths around every location before it is handed back.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from ..diagnostics import Diagnostic, diagnostic
from ..ir import REQUEST_ID_HEADER, SANE_REQUEST_ID_WORDS
from . import nginx_locations as nl
from .edgetext import Block, name as make_name, render, string
from .nginx_config import Config, Directive, load, span
from .result import Imported, Refused

# the headers edgec sends to every upstream itself (docs/runtime.md), with nginx's usual spellings
_FORWARDED = {"x-real-ip": {"$remote_addr"}, "x-forwarded-for": {"$proxy_add_x_forwarded_for", "$remote_addr"},
              "x-forwarded-proto": {"$scheme"}, "x-forwarded-host": {"$host", "$http_host"}}
_OWN_REQUEST_ID = (f"edgec passes on the client's {REQUEST_ID_HEADER} when it is {SANE_REQUEST_ID_WORDS}, else "
                   "one it makes, to the upstream and back to the client (a route cannot change it)")
_UNITS_MS = (("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1000))
_NGX_TIME = re.compile(r"(\d+)(ms|s|m|h|d|w|M|y)?")
_NGX_MS = {"ms": 1, "s": 1000, None: 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000}
_REDIRECT_STATUS = {"301", "302", "303", "307", "308"}


@dataclass
class Server:
    directive: Directive
    ports: tuple[int, ...]
    hosts: tuple[str, ...]  # () for the default server
    locations: list[nl.Location]


def duration(text: str) -> int | None:
    """An nginx time ("30", "500ms", "1m30s") in milliseconds; None when it is not one."""
    total, pos = 0, 0
    for m in _NGX_TIME.finditer(text):
        if m.start() != pos or m.group(2) in ("M", "y"):
            return None
        total += int(m.group(1)) * _NGX_MS[m.group(2)]
        pos = m.end()
    return total if pos == len(text) and text else None


def edge_duration(ms: int) -> str:
    for unit, size in _UNITS_MS:
        if ms % size == 0 and ms >= size:
            return f"{ms // size}{unit}"
    return f"{ms}ms"


def _size(text: str) -> str | None:
    m = re.fullmatch(r"(\d+)([kKmMgG]?)", text)
    if not m:
        return None
    unit = {"": "b", "k": "KiB", "m": "MiB", "g": "GiB"}[m.group(2).lower()]
    return f"{m.group(1)}{unit}"


class _Importer:
    def __init__(self, cfg: Config, edge_name: str):
        self.cfg = cfg
        self.edge_name = edge_name
        self.diags: list[Diagnostic] = []
        self.used: set[int] = set()
        self.names: set[str] = set()
        self.upstreams: dict[str, Block] = {}
        self.upstream_names: dict[str, str] = {}  # nginx upstream or address → edge name
        self.upstream_timeouts: dict[str, dict[str, tuple[int, Directive]]] = {}
        self.auth: dict[tuple[str, str], str] = {}
        self.auth_blocks: list[Block] = []
        self.routes: list[tuple[int, Block]] = []
        self.zones: dict[str, Directive] = {}
        self.servers: list[tuple[Server, dict[str, nl.Pick]]] = []
        self.max_body: tuple[str, Directive] | None = None

    # -- diagnostics --------------------------------------------------------------------------
    def warn(self, d: Directive, message: str, hint: str | None = None) -> None:
        self.used.add(id(d))
        self.diags.append(diagnostic("W503", message, d.file, span(d, self.cfg.sources), hint))

    def refuse(self, d: Directive, message: str, hint: str | None = None):
        self.diags.append(diagnostic("E502", message, d.file, span(d, self.cfg.sources), hint))
        raise Refused(message)

    def use(self, d: Directive | None) -> Directive | None:
        if d is not None:
            self.used.add(id(d))
        return d

    # -- inheritance --------------------------------------------------------------------------
    def inherited(self, levels: list[Directive], directive: str) -> list[Directive]:
        """nginx's inheritance: the directives of that name at the innermost level that has any
        (an array directive such as proxy_set_header is inherited all or nothing)."""
        for level in levels:
            found = level.children(directive)
            if found:
                for d in found:
                    self.use(d)
                return found
        return []

    def setting(self, levels: list[Directive], directive: str) -> Directive | None:
        found = self.inherited(levels, directive)
        return found[-1] if found else None

    # -- the file ----------------------------------------------------------------------------
    def run(self) -> str:
        root = self.cfg.root
        http = root.first("http")
        if http is None:
            self.refuse(root, "no `http` block: nothing is served over HTTP",
                        "import the file nginx is started with (it includes the others)")
        self.use(http)
        for z in http.children("limit_req_zone"):
            self.use(z)
            zone = next((a.split("=", 1)[1].split(":")[0] for a in z.args if a.startswith("zone=")), None)
            if zone:
                self.zones[zone] = z
        for up in http.children("upstream"):
            self.use(up)
            self.upstream(up)
        servers = [self.server(s) for s in http.children("server")]
        if not servers:
            self.refuse(http, "no `server` block in `http`", None)
        listeners, redirect_ports = self.listeners(servers)
        served = [s for s in servers if s not in redirect_ports.values()]
        self.check_hosts(served)
        for srv in served:
            self.server_routes(srv, http, len(served) > 1)
        self.access_log(http, served)
        self.unused()
        edge = Block(f"edge {string(self.edge_name)}")
        edge.items += listeners + [""]
        for blk in self.upstreams.values():
            edge.items += [blk, ""]
        for blk in self.auth_blocks:
            edge.items += [blk, ""]
        for _, blk in sorted(self.routes, key=lambda r: r[0]):
            edge.items += [blk, ""]
        edge.items += self.operations
        while edge.items and edge.items[-1] == "":
            edge.items.pop()
        top = [f"Imported from {Path(self.cfg.root.file).name} by `edgec import nginx`. Comments say where",
               "each statement came from and where a choice was made."]
        return render(top, edge, self.edge_name + ".edge")

    def unused(self) -> None:
        def walk(items: list[Directive]) -> None:
            for d in items:
                if d.block is not None and d.name in ("http", "server", "location", "events"):
                    walk(d.block)  # an empty `events {}` (which nginx requires) says nothing
                elif id(d) not in self.used:
                    self.warn(d, f"`{d.name}` is not carried over", "edgec has no equivalent of this directive; "
                              "check that the edge does not need it")
        walk(self.cfg.root.block or [])

    # -- upstreams ----------------------------------------------------------------------------
    def upstream(self, up: Directive) -> None:
        name = make_name(up.args[0], self.names, "upstream")
        blk = Block(f"upstream {name}", comment=f"nginx: upstream {up.args[0]} ({Path(up.file).name}:{up.line})")
        fails: set[tuple[str, str]] = set()
        for d in up.block or ():
            self.use(d)
            if d.name == "server":
                line, passive = self.upstream_server(d)
                if line:
                    blk.add(line)
                    fails.add(passive)
            elif d.name in ("least_conn", "ip_hash", "random") and not d.args:
                blk.add(f"balance {d.name}")
            elif d.name == "hash" and d.args:
                key = d.args[0]
                by = {"$request_uri": "uri", "$uri": "uri", "$remote_addr": "client_ip",
                      "$binary_remote_addr": "client_ip"}.get(key)
                if by is None and key.startswith("$http_"):
                    by = "header " + string(key[6:].replace("_", "-"))
                elif by is None and key.startswith("$cookie_"):
                    by = "cookie " + string(key[8:])
                if by is None:
                    self.warn(d, f"`hash {key}` is not carried over: edgec hashes a header, a cookie, the "
                              "client address or the URI", "round robin is used instead")
                else:
                    blk.add(f"balance hash {by}",
                            "nginx: hash " + " ".join(d.args) + ("" if "consistent" in d.args else
                                                                 " (edgec's hashing is consistent)"))
            elif d.name == "keepalive" and d.args and d.args[0].isdigit():
                idle = up.first("keepalive_timeout")
                ms = duration(idle.args[0]) if idle is not None else None
                blk.add(f"keepalive {d.args[0]}" + (f" idle {edge_duration(ms)}" if ms else ""))
                self.use(idle)
            elif d.name in ("keepalive_timeout", "zone"):
                continue  # with keepalive; zone only shares the state between nginx workers
            else:
                self.warn(d, f"`{d.name}` in an upstream is not carried over")
        if len(fails) > 1:
            self.warn(up, "servers of this upstream have different max_fails/fail_timeout; edgec has one "
                      "setting per upstream", "the first server's values are used")
        if fails:
            max_fails, fail_timeout = sorted(fails)[0]
            if (max_fails, fail_timeout) != ("1", "10s"):
                ms = duration(fail_timeout)
                blk.add(f"passive max_fails {max_fails} fail_timeout {edge_duration(ms or 10000)}")
        self.upstreams[up.args[0]] = blk
        self.upstream_names[up.args[0]] = name

    def upstream_server(self, d: Directive) -> tuple[str | None, tuple[str, str]]:
        addr = d.args[0]
        if addr.startswith("unix:"):
            self.refuse(d, f"upstream server `{addr}` is a UNIX socket; edgec connects over TCP")
        if not re.search(r":\d+$", addr):
            addr += ":80"
        line = f"server {string(addr)}"
        passive = ["1", "10s"]
        for arg in d.args[1:]:
            key, _, value = arg.partition("=")
            if key == "weight" and value.isdigit():
                line += f" weight {value}" if value != "1" else ""
            elif key == "backup":
                line += " backup"
            elif key == "max_fails" and value.isdigit():
                passive[0] = value
            elif key == "fail_timeout":
                passive[1] = value
            elif key == "down":
                self.warn(d, f"server {d.args[0]} is marked down: left out")
                return None, tuple(passive)
            else:
                self.warn(d, f"`{arg}` of upstream server {d.args[0]} is not carried over")
        return line, (passive[0], passive[1])

    def upstream_for(self, d: Directive, url: str) -> tuple[str, str, str | None]:
        """(edge upstream name, nginx's $proxy_host, URI part or None) of a proxy_pass URL."""
        if "$" in url:
            self.refuse(d, "proxy_pass with variables: the upstream is chosen per request",
                        "write one location per upstream")
        parts = urlsplit(url)
        if parts.scheme != "http":
            self.refuse(d, f"proxy_pass to {parts.scheme}://: edgec forwards over plain HTTP",
                        "put the TLS to the upstream in the upstream's own proxy, or proxy over http")
        netloc = parts.netloc
        uri = url[len(parts.scheme) + 3 + len(netloc):] or None
        if netloc in self.upstream_names:
            return self.upstream_names[netloc], netloc, uri
        if netloc not in self.upstream_names:
            addr = netloc if re.search(r":\d+$", netloc) else netloc + ":80"
            name = make_name(netloc.split(":")[0].replace(".", "_") + "_" + addr.rsplit(":", 1)[1],
                             self.names, "upstream")
            self.upstreams[netloc] = Block(f"upstream {name}", [f"server {string(addr)}"],
                                           comment=f"nginx: proxy_pass {parts.scheme}://{netloc}")
            self.upstream_names[netloc] = name
        return self.upstream_names[netloc], netloc, uri

    # -- servers and listeners ---------------------------------------------------------------
    def server(self, s: Directive) -> Server:
        self.use(s)
        ports = []
        for lst in s.children("listen") or [None]:
            if lst is None:
                ports.append((80, False, False, None, False))
                continue
            self.use(lst)
            addr = lst.args[0]
            if addr.startswith("unix:"):
                self.refuse(lst, "a listener on a UNIX socket")
            bind, _, port = addr.rpartition(":") if not addr.isdigit() else ("", "", addr)
            if not port.isdigit():
                bind, port = addr, "80"
            flags = set(lst.args[1:])
            ports.append((int(port), "ssl" in flags, "http2" in flags, bind.strip("[]") or None,
                          "default_server" in flags or "default" in flags))
        names = []
        for sn in s.children("server_name"):
            self.use(sn)
            for n in sn.args:
                if n in ("", "_"):  # the catch-all names nginx's documentation uses: no host
                    continue
                if n.startswith("~") or n.endswith(".*"):
                    self.refuse(sn, f"server_name `{n}`: edgec matches exact host names and `*.` wildcards only",
                                "list the host names")
                names += [n[1:], "*" + n] if n.startswith(".") else [n]
        srv = Server(s, tuple(p[0] for p in ports), tuple(dict.fromkeys(names)), nl.locations(s))
        srv.listen = ports  # type: ignore[attr-defined]
        return srv

    def listeners(self, servers: list[Server]):
        """The listen statements, and the plain-HTTP ports whose one server only redirects to HTTPS."""
        by_port: dict[int, list[Server]] = {}
        for srv in servers:
            for p in srv.listen:  # type: ignore[attr-defined]
                by_port.setdefault(p[0], []).append(srv)
        redirect_ports: dict[int, Server] = {}
        lines: list = []
        for port in sorted(by_port):
            group = by_port[port]
            entries = [p for srv in group for p in srv.listen if p[0] == port]  # type: ignore[attr-defined]
            tls = {e[1] for e in entries}
            if len(tls) > 1:
                self.refuse(group[0].directive, f"port {port} is served with and without ssl by different servers")
            binds = {e[3] for e in entries} - {None, "*", "0.0.0.0", "::"}
            if len(binds) > 1:
                self.refuse(group[0].directive, f"port {port} is bound to several addresses: {sorted(binds)}")
            target = self.redirect_only(group[0]) if len(group) == 1 and not tls.pop() else None
            if target is not None:
                redirect_ports[port] = group[0]
                lines.append(f"listen http {port} {{ redirect https" + (f" port {target}" if target != 443 else "")
                             + " }")
                continue
            ssl = any(e[1] for e in entries)
            body = []
            if binds:
                body.append(f"bind {string(binds.pop())}")
            if ssl:
                body += self.tls(group)
            if any(e[2] for e in entries) or any(self.use(s.directive.first("http2")) and
                                                  s.directive.first("http2").args == ["on"] for s in group):
                body.append("http2")
            lines.append(f"listen {'https' if ssl else 'http'} {port}" + (" {" if body else ""))
            if body:
                lines[-1] = Block(lines[-1][:-2], body)
        served = [s for s in servers if s not in redirect_ports.values()]
        port_sets = {s.ports for s in served}
        if len(port_sets) > 1:
            self.refuse(served[1].directive, "servers listen on different ports; edgec's routes answer on every "
                        "listener", "give every server the same listen lines")
        return lines, redirect_ports

    def redirect_only(self, srv: Server) -> int | None:
        """The HTTPS port when this server only answers `return 301 https://$host$request_uri`."""
        body = [d for d in srv.directive.block or () if d.name not in ("listen", "server_name")]
        if len(body) != 1 or body[0].name != "return" or len(body[0].args) != 2:
            return None
        m = re.fullmatch(r"https://\$(?:host|server_name)(?::(\d+))?\$request_uri", body[0].args[1])
        if body[0].args[0] != "301" or not m:
            return None
        self.use(body[0])
        return int(m.group(1) or 443)

    def tls(self, group: list[Server]) -> list[str]:
        certs = set()
        out: list[str] = []
        for srv in group:
            cert, key = srv.directive.first("ssl_certificate"), srv.directive.first("ssl_certificate_key")
            if cert is None or key is None:
                self.refuse(srv.directive, "an ssl listener without ssl_certificate and ssl_certificate_key in its "
                            "server", "edgec takes the certificate of a listener from the server block")
            self.use(cert), self.use(key)
            certs.add((cert.args[0], key.args[0]))
            for d in srv.directive.children("ssl_protocols"):
                self.use(d)
                if "TLSv1" in d.args or "TLSv1.1" in d.args:
                    self.warn(d, "TLS 1.0 and 1.1 are not offered: edgec's lowest version is TLS 1.2")
                low = "1.3" if d.args == ["TLSv1.3"] else "1.2"
                out = [f"min_version {low}"] if low == "1.3" else []
        if len(certs) > 1:
            self.refuse(group[1].directive, "servers on one port with different certificates (SNI); edgec has one "
                        "certificate per listener")
        cert, key = certs.pop()
        return [f"tls cert {string(cert)} key {string(key)}" + (" " + out[0] if out else "")]

    def check_hosts(self, served: list[Server]) -> None:
        defaults = [s for s in served if any(p[4] for p in s.listen)]  # type: ignore[attr-defined]
        default = defaults[0] if defaults else served[0]
        wildcards = [h for s in served if s is not default for h in s.hosts if h.startswith("*.")]
        for h in default.hosts:
            if any(h.endswith(w[1:]) for w in wildcards) and not any(h in s.hosts for s in served if s is not default):
                self.refuse(default.directive, f"the default server's name {h} is also matched by a wildcard "
                            "server_name of another server; edgec would give it to that server")
        for s in served:
            s.default = s is default  # type: ignore[attr-defined]

    # -- routes ------------------------------------------------------------------------------
    def server_routes(self, srv: Server, http: Directive, several: bool) -> None:
        default = srv.default  # type: ignore[attr-defined]
        hosts = () if default else srv.hosts
        if not default and not hosts:
            self.refuse(srv.directive, "a server without server_name that is not the default server: nginx never "
                        "chooses it")
        prefix = (make_name(srv.hosts[0].replace("*.", "any."), None, "server") + "_") if several and srv.hosts else (
            "default_" if several else "")
        for d in srv.directive.block or ():
            if d.name in ("rewrite", "return", "if", "set"):
                self.refuse(d, f"`{d.name}` at server level runs before nginx picks a location",
                            "move it into the locations it is meant for")
        p = nl.plan(srv.locations)
        for loc, why in p.problems:
            self.refuse(loc.directive, why, "restructure the locations so that one rule decides each path")
        for loc in p.unreachable:
            self.warn(loc.directive, f"`{loc.label}` is never chosen: a longer prefix location takes all its paths")
        host_part = ("host " + " ".join(string(h) for h in hosts) + " ") if hosts else ""
        routes: dict[int, tuple[Block, nl.Location | None]] = {}
        picks: dict[str, nl.Pick] = {}
        order: dict[int, int] = {}
        covered = any(loc.name == "/" and loc.is_prefix for loc in srv.locations)
        lines = list(p.lines)
        if hosts and not covered:
            lines.append(nl.Line("prefix", "/", nl.Pick(None)))
        self.regex_lines = {id(line.pick.location) for line in lines if line.kind == "regex"}
        for position, line in enumerate(lines):
            if line.pick.redirect:
                key = ("redirect", line.value)
            elif line.pick.location is None:
                key = "404"
            else:
                key = id(line.pick.location)
            if key not in routes:
                blk = self.route_for(srv, http, line, prefix, several)
                routes[key] = (blk, line.pick.location)
                picks[blk.head.split()[1]] = line.pick
            blk = routes[key][0]
            loc = line.pick.location
            if line.kind == "exact" and loc is not None and not line.pick.redirect and loc.modifier != "=":
                # a prefix ending in "/" does not take its own name without the "/": nginx's choice for it
                blk.items.insert(blk.match_at, f"# nginx: {line.value} goes to `{loc.label}`, not to "
                                               f"`location {line.value}/`")  # type: ignore[attr-defined]
                blk.match_at += 1  # type: ignore[attr-defined]
            blk.items.insert(blk.match_at, f"match {host_part}path {line.kind} {string(line.value)}")  # type: ignore
            blk.match_at += 1  # type: ignore[attr-defined]
            # regexes rank by first appearance: a route is written where its regex line falls
            if line.kind == "regex" or key not in order:
                order[key] = position
        base = len(self.routes) * 1000
        for key, (blk, loc) in routes.items():
            self.routes.append((base + order[key], blk))
        self.servers.append((srv, picks))

    def route_for(self, srv: Server, http: Directive, line: nl.Line, prefix: str, several: bool) -> Block:
        loc = line.pick.location
        where = f"server {srv.hosts[0] if srv.hosts else '(default)'}, " if several else ""
        if line.pick.redirect:
            blk = Block(f"route {make_name(prefix + line.value.strip('/') + '_slash', self.names, 'route')}",
                        comment=f"nginx: {where}{line.value} is answered 301 to {line.value}/ "
                                f"(`{loc.label}` proxies, {Path(loc.directive.file).name}:{loc.directive.line})")
            blk.match_at = 0  # type: ignore[attr-defined]
            blk.add(f"redirect 301 path {string(line.value + '/')}")
            # the 301 is answered with the location's configuration: its add_header too
            self.response_headers(blk, [n.directive for n in loc.chain()] + [srv.directive, http])
            return blk
        if loc is None:
            blk = Block(f"route {make_name(prefix + 'not_found', self.names, 'route')}",
                        comment=f"nginx: {where}no location takes these paths: nginx answers 404 (no files here)")
            blk.match_at = 0  # type: ignore[attr-defined]
            blk.add("respond 404")
            return blk
        label = loc.name.strip("/^$~*\\") or "root"
        rname = make_name(prefix + re.sub(r"[^A-Za-z0-9]+", "_", label)[:40], self.names, "route")
        blk = Block(f"route {rname}", comment=f"nginx: {where}{loc.label} "
                                              f"({Path(loc.directive.file).name}:{loc.directive.line})")
        blk.match_at = 0  # type: ignore[attr-defined]
        levels = [n.directive for n in loc.chain()] + [srv.directive, http]
        self.location_body(blk, loc, levels)
        return blk

    def location_body(self, blk: Block, loc: nl.Location, levels: list[Directive]) -> None:
        d = loc.directive
        for inner in d.block or ():
            if inner.name in ("if", "set", "try_files", "alias", "root", "index", "error_page", "internal"):
                if inner.name in ("if", "set"):
                    self.refuse(inner, f"`{inner.name}` inside a location: edgec has no per-request conditions "
                                "beyond its matches", "write the conditions as match lines of separate routes")
        handlers = [x for x in d.block or () if x.name in ("return", "rewrite", "proxy_pass")]
        returns = [x for x in handlers if x.name in ("return", "rewrite")]
        proxy = self.use(d.first("proxy_pass"))
        if returns:
            self.answer(blk, loc, returns[0], levels)
            for x in returns[1:] + ([proxy] if proxy else []):
                if x is not returns[0] and x.name != "rewrite" or x is not returns[0]:
                    if x.name == "proxy_pass" and returns[0].name == "rewrite" and returns[0].args[-1] == "break":
                        continue
                    self.warn(x, f"`{x.name}` after `{returns[0].name}` is never reached")
            if not (returns[0].name == "rewrite" and returns[0].args[-1] == "break"):
                self.response_headers(blk, levels)
                return
        if proxy is None and returns:  # a rewrite ... break, then the files under the new path
            self.refuse(returns[0], f"`rewrite ... break` in `{loc.label}` without proxy_pass serves files from disk; "
                        "edgec serves no files", "proxy the location to where the files are served")
        if proxy is None and not returns:
            files = [x for x in d.block or () if x.name in ("root", "alias", "try_files", "index")]
            for x in files:
                self.use(x)
            self.warn(files[0] if files else d, f"`{loc.label}` serves files from disk; edgec serves no files",
                      "the route answers 404: serve the files from an upstream and forward to it")
            blk.add("respond 404", "nginx served files from disk here")
            self.response_headers(blk, levels)
            return
        self.policies(blk, loc, levels)
        version = self.setting(levels, "proxy_http_version")
        if version is not None and version.args != ["1.1"]:
            self.warn(version, "edgec speaks HTTP/1.1 to upstreams")
        up, proxy_host, uri = self.upstream_for(proxy, proxy.args[0])
        if uri is not None and not (returns and returns[0].name == "rewrite"):
            self.uri_rewrite(blk, loc, proxy, uri)
        self.request_headers(blk, levels, proxy_host, proxy)
        self.response_headers(blk, levels)
        self.timeouts(up, levels)
        blk.add(f"forward {up}")

    def uri_rewrite(self, blk: Block, loc: nl.Location, proxy: Directive, uri: str) -> None:
        if loc.modifier == "=":
            blk.add(f"rewrite path {string(uri)}", f"nginx: proxy_pass {proxy.args[0]} replaces the path")
            return
        if loc.name.endswith("/") != uri.endswith("/") or id(loc) in self.regex_lines:
            self.refuse(proxy, f"proxy_pass with a URI part in `{loc.label}` whose name and URI do not both end in "
                        "\"/\", or whose paths edgec matches with a regex: nginx splices the rest of the path "
                        "character by character", "end both the location and the URI with \"/\"")
        if uri == "/":
            blk.add(f"strip_prefix {string(loc.name)}", f"nginx: proxy_pass {proxy.args[0]} replaces {loc.name}")
        else:
            blk.add(f"rewrite prefix {string(loc.name)} {string(uri)}",
                    f"nginx: proxy_pass {proxy.args[0]} replaces {loc.name}")

    def answer(self, blk: Block, loc: nl.Location, d: Directive, levels: list[Directive]) -> None:
        self.use(d)
        if d.name == "rewrite":
            self.rewrite(blk, loc, d, levels)
            return
        code = d.args[0]
        if not code.isdigit():  # return URL: 302
            code, url = "302", code
        else:
            url = d.args[1] if len(d.args) > 1 else None
        if code in _REDIRECT_STATUS and url is not None:
            blk.add("redirect " + self.redirect_target(d, code, url))
            return
        if code == "444":
            self.refuse(d, "return 444 closes the connection without an answer; edgec always answers")
        if url is not None and "$" in url:
            self.refuse(d, "a returned text with variables", "return a fixed text")
        default_type = self.setting(levels, "default_type")
        ctype = default_type.args[0] if default_type is not None else "text/plain"
        line = f"respond {code}" + (f" {string(url)}" if url else "")
        if url and ctype != "text/plain; charset=utf-8":
            line += f" type {string(ctype)}"
        blk.add(line, "nginx: " + " ".join(["return"] + d.args))

    def redirect_target(self, d: Directive, code: str, url: str) -> str:
        """The options of an edgec redirect that produces the Location nginx builds from `url`."""
        m = re.fullmatch(r"(?:(https?|\$scheme)://([^/$:]+|\$host|\$http_host|\$server_name)(?::(\d+))?)?"
                         r"(\$request_uri|(/[^$?]*)(\$is_args\$args|\?\$args|\$request_uri)?)?", url)
        if not m or (m.group(1) is None and m.group(4) is None) or m.group(2) in ("$http_host", "$server_name"):
            self.refuse(d, f"a redirect to `{url}`: edgec builds a Location from the request's scheme, host, port "
                        "and path, or fixed ones", "redirect to $scheme://HOST$request_uri or a fixed path")
        scheme, host, port, whole, path, args = m.groups()
        parts = [code]
        if scheme and scheme != "$scheme":
            parts.append(f"scheme {scheme}")
        if host and host != "$host":
            parts.append(f"host {string(host)}")
        if port:
            parts.append(f"port {port}")
        elif scheme == "$scheme" and host:
            self.warn(d, "the redirect leaves out the port; edgec keeps the port of the listener (the same on "
                      "ports 80 and 443)")
        if path is not None:
            parts.append(f"path {string(path)}")
            if args is None:
                self.warn(d, f"nginx drops the query string in `{url}`; edgec keeps it",
                          "add $is_args$args to the nginx URL to keep the behaviour the same")
        elif whole is None:
            parts.append('path "/"')
            self.warn(d, f"nginx drops the path and query in `{url}`; edgec keeps the query string")
        return " ".join(parts)

    def rewrite(self, blk: Block, loc: nl.Location, d: Directive, levels: list[Directive]) -> None:
        args = d.args
        flag = args[2] if len(args) > 2 else None
        regex, repl = args[0], args[1]
        if flag in ("permanent", "redirect") and regex in ("^", "^(.*)$", "^.*$", "^/.*$") and "$" not in repl:
            code = "301" if flag == "permanent" else "302"
            blk.add("redirect " + self.redirect_target(d, code, repl + "$is_args$args"),
                    "nginx: rewrite " + " ".join(args))
            return
        m = re.fullmatch(r"\^(/[^\\.^$|?*+()\[\]{}]*)\(\.\*\)\$?", regex)
        if m and loc.is_prefix and m.group(1) == loc.name and repl.endswith("$1") and "$" not in repl[:-2] \
                and flag in ("permanent", "redirect", "break") \
                and loc.name.endswith("/") == repl[:-2].endswith("/") and repl.startswith("/"):
            new = repl[:-2]
            if flag == "break":
                blk.add(f"rewrite prefix {string(loc.name)} {string(new)}", "nginx: rewrite " + " ".join(args))
            else:
                blk.add(f"redirect {'301' if flag == 'permanent' else '302'} prefix {string(new)}",
                        "nginx: rewrite " + " ".join(args))
            return
        self.refuse(d, "this rewrite is not one edgec can express: a fixed redirect (`rewrite ^ URL permanent`) or "
                    "a new prefix for the location's own prefix (`rewrite ^/old/(.*)$ /new/$1 break|permanent`)",
                    "rewrite it as one of those, or as a route of its own")

    def policies(self, blk: Block, loc: nl.Location, levels: list[Directive]) -> None:
        realm = self.setting(levels, "auth_basic")
        if realm is not None and realm.args != ["off"]:
            users = self.setting(levels, "auth_basic_user_file")
            if users is None:
                self.refuse(realm, "auth_basic without auth_basic_user_file")
            key = (realm.args[0], users.args[0])
            if key not in self.auth:
                self.auth[key] = make_name("basic_" + realm.args[0].lower(), self.names, "basic")
                self.auth_blocks.append(Block(f"auth basic {self.auth[key]}",
                                              [f"htpasswd {string(users.args[0])}", f"realm {string(realm.args[0])}"],
                                              comment=f"nginx: auth_basic ({Path(realm.file).name}:{realm.line})"))
            blk.add(f"auth {self.auth[key]}")
        limits = self.inherited(levels, "limit_req")
        if limits:
            self.rate_limit(blk, limits, levels)
        cache = self.setting(levels, "proxy_cache")
        if cache is not None and cache.args != ["off"]:
            valid = self.inherited(levels, "proxy_cache_valid")
            ttl = None
            for v in valid:
                codes = v.args[:-1] or ["200", "301", "302"]
                if "200" in codes or "any" in codes:
                    ttl = duration(v.args[-1])
            if ttl:
                blk.add(f"cache {edge_duration(ttl)}", f"nginx: proxy_cache {cache.args[0]}")
                for path in levels[-1].children("proxy_cache_path"):
                    self.use(path)  # where nginx keeps the cache: edgec keeps its own
            else:
                self.warn(cache, "proxy_cache without a proxy_cache_valid time for 200: nginx caches by the "
                          "backend's Cache-Control alone, which edgec does not", "add `proxy_cache_valid 200 10m`")
        size = self.setting(levels, "client_max_body_size")
        if size is not None:
            value = _size(size.args[0])
            if value is None or value == "0b":
                self.warn(size, f"client_max_body_size {size.args[0]} is not carried over")
            elif self.max_body is None:
                self.max_body = (value, size)
            elif self.max_body[0] != value:
                self.warn(size, f"client_max_body_size differs between locations; edgec has one for the edge "
                          f"({self.max_body[0]} is used)")

    def rate_limit(self, blk: Block, limits: list[Directive], levels: list[Directive]) -> None:
        d = limits[0]
        for extra in limits[1:]:
            self.warn(extra, "a second limit_req on one location: edgec has one rate limit per route")
        opts = dict(a.partition("=")[::2] for a in d.args)
        zone = self.zones.get(opts.get("zone", ""))
        if zone is None:
            self.refuse(d, f"limit_req zone {opts.get('zone')} is not defined by a limit_req_zone")
        zopts = dict(a.partition("=")[::2] for a in zone.args[1:])
        m = re.fullmatch(r"(\d+)r/([sm])", zopts.get("rate", ""))
        key = {"$binary_remote_addr": "", "$remote_addr": ""}.get(zone.args[0])
        if key is None and zone.args[0].startswith("$http_"):
            key = " by header " + string(zone.args[0][6:].replace("_", "-"))
        if not m or key is None:
            self.refuse(zone, f"limit_req_zone keyed by `{zone.args[0]}` with rate {zopts.get('rate')}: edgec limits "
                        "by client address or a header, N per second or minute")
        burst = opts.get("burst", "0")
        line = f"rate_limit {m.group(1)}/{'s' if m.group(2) == 's' else 'min'}{key}" + (
            f" burst {burst}" if burst != "0" else "")
        status = self.setting(levels, "limit_req_status")
        note = "nginx: limit_req zone=" + opts.get("zone", "")
        if "nodelay" not in opts and burst != "0":
            note += "; nginx delayed the requests within the burst, edgec lets them through at once"
        blk.add(line, note)
        if status is None or status.args != ["429"]:
            self.warn(d, "nginx answers 503 above the rate (limit_req_status); edgec answers 429",
                      "set `limit_req_status 429;` in nginx to compare like with like")

    def request_headers(self, blk: Block, levels: list[Directive], proxy_host: str, proxy: Directive) -> None:
        host_set = False
        for d in self.inherited(levels, "proxy_set_header"):
            header, value = d.args[0], d.args[1] if len(d.args) > 1 else ""
            low = header.lower()
            if low == "host":
                host_set = True
                if value == "$host":
                    blk.add("# nginx sends $host upstream: the client's host name; edgec sends its Host header as "
                            "it came")
                elif value == "$http_host":
                    continue
                elif "$" not in value:
                    blk.add(f"rewrite host {string(value)}")
                elif value == "$proxy_host":
                    host_set = False
                else:
                    self.warn(d, f"`proxy_set_header Host {value}` is not carried over")
            elif value in _FORWARDED.get(low, ()):
                continue  # edgec sends it to every upstream
            elif low == REQUEST_ID_HEADER.lower():
                self.warn(d, f"`proxy_set_header {header} {value}` is not carried over: {_OWN_REQUEST_ID}")
            elif low == "connection" and value == "":
                continue  # with proxy_http_version 1.1: keep-alive to the upstream, which edgec does itself
            elif value == "":
                blk.add(f"request_header remove {string(header)}")
            elif "$" in value:
                self.warn(d, f"`proxy_set_header {header} {value}` is not carried over: edgec sets fixed values")
            else:
                blk.add(f"request_header set {string(header)} {string(value)}")
        if host_set:
            return
        if re.fullmatch(r"[A-Za-z][A-Za-z0-9-]*(\.[A-Za-z0-9-]+)*", proxy_host) and \
                not re.fullmatch(r"[\d.]+", proxy_host):
            blk.add(f"rewrite host {string(proxy_host)}",
                    "nginx sends the proxy_pass host as Host unless proxy_set_header says otherwise")
        else:
            self.warn(proxy, f"nginx sends `Host: {proxy_host}` (the proxy_pass address); edgec sends the client's "
                      "Host, as this is not a host name it can send (an address, a port, an underscore)",
                      "add `proxy_set_header Host $http_host;` in nginx to compare like with like")

    def response_headers(self, blk: Block, levels: list[Directive]) -> None:
        for d in self.inherited(levels, "add_header"):
            if d.args and d.args[0].lower() == REQUEST_ID_HEADER.lower():
                self.warn(d, f"`add_header {' '.join(d.args)}` is not carried over: {_OWN_REQUEST_ID}")
                continue
            if len(d.args) < 2 or "$" in d.args[1]:
                self.warn(d, f"`add_header {' '.join(d.args)}` is not carried over: edgec adds fixed values")
                continue
            note = None if "always" in d.args[2:] else (
                "nginx adds it only to 200, 201, 204, 206, 301, 302, 303, 304, 307 and 308 answers; edgec to every one")
            blk.add(f"response_header add {string(d.args[0])} {string(d.args[1])}", note)

    def timeouts(self, upstream: str, levels: list[Directive]) -> None:
        seen = self.upstream_timeouts.setdefault(upstream, {})
        for nginx_name, edge_name in (("proxy_connect_timeout", "connect_timeout"),
                                      ("proxy_read_timeout", "read_timeout"), ("proxy_send_timeout", "send_timeout")):
            d = self.setting(levels, nginx_name)
            if d is None:
                continue
            ms = duration(d.args[0])
            if ms is None:
                self.warn(d, f"`{nginx_name} {d.args[0]}` is not a time edgec reads")
            elif edge_name in seen and seen[edge_name][0] != ms:
                self.warn(d, f"{nginx_name} differs between locations forwarding to one upstream; edgec has one per "
                          "upstream", f"the first one ({edge_duration(seen[edge_name][0])}) is used")
            elif edge_name not in seen:
                seen[edge_name] = (ms, d)
                blk_up = next(b for b in self.upstreams.values() if b.head == f"upstream {upstream}")
                blk_up.add(f"{edge_name} {edge_duration(ms)}")

    def access_log(self, http: Directive, served: list[Server]) -> None:
        self.operations: list = []
        logs = [d for level in [http] + [s.directive for s in served] for d in level.children("access_log")]
        for d in logs:
            self.use(d)
        for d in http.children("log_format"):
            self.use(d)
        if logs:
            d = logs[0]
            if len(logs) > 1:
                self.warn(logs[1], "several access_log settings: edgec has one access log for the edge",
                          f"the first one ({d.args[0]}) is used")
            if d.args == ["off"]:
                self.operations.append("access_log off")
            else:
                if len(d.args) > 1 and d.args[1] != "combined":
                    self.warn(d, f"log_format {d.args[1]} is not carried over: edgec writes the combined or the "
                              "JSON format", "the combined format is used")
                self.operations.append(f"access_log combined {string(d.args[0])}")
        if self.max_body:
            self.operations.append(Block("limits", [f"max_body {self.max_body[0]}"]))


def import_nginx(path: str, edge_name: str | None = None) -> Imported:
    cfg, problems = load(path)
    if cfg is None:
        return Imported(None, problems, {})
    imp = _Importer(cfg, edge_name or Path(path).stem.replace(".", "-") or "imported")
    try:
        text = imp.run()
    except Refused:
        return Imported(None, imp.diags, cfg.sources)
    return Imported(text, imp.diags, cfg.sources, imp.servers)
