"""`edgec import nginx FILE --verify`: the original configuration and the nginx build of the imported
file, both run by the real nginx on loopback with their upstreams pointed at the same echo
backends, answer the same requests (paths around every location, with and without a query);
every request whose backend, path, status, Location or compared headers differ is printed.
The headers compared are those the configuration sets (proxy_set_header, add_header) and Host;
the forwarding headers edgec adds to every request are compared only where nginx sent them too.

Only what belongs to the machine is changed in the original: listen ports and addresses,
upstream servers (each upstream becomes one echo backend named after the imported upstream),
certificate files, log and file paths, and the process settings the harness gives itself.
"""
from __future__ import annotations

import re
import sys
import tempfile
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

from .. import ir
from .nginx_config import Directive, load
from .samples import paths

# process settings the harness sets itself (`daemon off; user root;`) or that would write outside the prefix
_PROCESS = {"user", "daemon", "pid", "error_log", "worker_processes", "master_process"}


# edgec sends these to every upstream (docs/semantics.md); nginx only where proxy_set_header says so:
# compared only where nginx sent them
FORWARDING = {"x-real-ip", "x-forwarded-for", "x-forwarded-proto", "x-forwarded-host"}


@dataclass
class Difference:
    request: str
    what: list[str]


def verify_nginx(conf_path: str, edge: ir.Edge, servers, out=None) -> int:
    out = out or sys.stdout
    differences, sent = compare(conf_path, edge, servers)
    for d in differences:
        out.write(f"DIFF {d.request}\n" + "".join(f"  {w}\n" for w in d.what))
    out.write(f"verify: {sent} requests, {len(differences)} answered differently\n")
    return 1 if differences else 0


def compare(conf_path: str, edge: ir.Edge, servers) -> tuple[list[Difference], int]:
    from ..harness.echo import EchoServer
    from ..harness.gateways import Nginx, build
    from ..harness.live import with_listener_ports, with_servers
    from ..harness.processes import free_port
    from ..runtime import devcert
    cfg, problems = load(conf_path)
    if cfg is None:
        raise RuntimeError(problems[0].message)
    with ExitStack() as stack, tempfile.TemporaryDirectory(prefix="edgec-verify-") as tmp:
        root = Path(tmp)
        cert, key = str(root / "tls" / "cert.pem"), str(root / "tls" / "key.pem")
        devcert.ensure(ir.Tls(cert, key), ["localhost"] + [h.replace("*.", "any.") for s, _ in servers
                                                           for h in s.hosts])
        echoes = {u.name: stack.enter_context(EchoServer(u.name)) for u in edge.upstreams}
        declared = sorted({lst.port for lst in edge.listeners})
        original_ports = {p: free_port() for p in declared}
        imported_ports = {p: free_port() for p in declared}
        # the original, moved onto this machine
        prefix = root / "original"
        (prefix / "logs").mkdir(parents=True)
        (prefix / "files").mkdir()
        upstream_echo = _upstream_echoes(cfg.root, edge, echoes)
        text = _rewritten(cfg.root, original_ports, upstream_echo, prefix, cert, key)
        (prefix / "nginx.conf").write_text(text)
        stack.enter_context(Nginx(prefix, list(original_ports.values())))
        # the imported file, built by the nginx target
        live = with_servers(edge, {name: e.address for name, e in echoes.items()})
        live = with_listener_ports(live, imported_ports, tls=(cert, key))
        files, diags = build("nginx", live)
        if files is None:
            raise RuntimeError("the nginx target refused the imported file: " + "; ".join(d.message for d in diags))
        prefix2 = root / "imported"
        for rel, content in files.items():
            (prefix2 / rel).parent.mkdir(parents=True, exist_ok=True)
            (prefix2 / rel).write_text(content)
        (prefix2 / "logs").mkdir(exist_ok=True)
        stack.enter_context(Nginx(prefix2, list(imported_ports.values())))
        return _exchange(edge, servers, cfg, original_ports, imported_ports)


def _upstream_echoes(root: Directive, edge: ir.Edge, echoes) -> dict[str, str]:
    """nginx upstream name or proxy_pass address → the echo address standing in for it: the edge
    names its upstreams after them (the import's comments say which)."""
    out = {}
    http = root.first("http")
    names = [u.name for u in edge.upstreams]
    for up in http.children("upstream") if http else []:
        name = _edge_name(up.args[0], names)
        if name:
            out[up.args[0]] = echoes[name].address
    for d in _walk(root):
        if d.name == "proxy_pass" and d.args and d.args[0].startswith("http://"):
            netloc = d.args[0][7:].split("/", 1)[0]
            if netloc not in out:
                base = netloc.split(":")[0].replace(".", "_") + "_" + (netloc.split(":")[1] if ":" in netloc else "80")
                name = _edge_name(base, names)
                if name:
                    out[netloc] = echoes[name].address
    return out


def _edge_name(nginx_name: str, names: list[str]) -> str | None:
    from .edgetext import name as make_name
    wanted = make_name(nginx_name, None, "upstream")
    return wanted if wanted in names else None


def _walk(d: Directive):
    for c in d.block or ():
        yield c
        yield from _walk(c)


def _rewritten(root: Directive, ports: dict[int, int], upstream_echo: dict[str, str], prefix: Path,
               cert: str, key: str) -> str:
    import crossplane

    def convert(d: Directive) -> dict | None:
        args = list(d.args)
        if d.name in _PROCESS:
            return None
        if d.name == "listen":
            port = int(args[0].rsplit(":", 1)[-1]) if args[0].rsplit(":", 1)[-1].isdigit() else 80
            args[0] = f"127.0.0.1:{ports.get(port, port)}"
            args = [a for a in args if a not in ("ipv6only=on", "ipv6only=off", "reuseport")]
        elif d.name == "server" and d.parent is not None and d.parent.name == "upstream":
            return None  # replaced below by the echo backend
        elif d.name == "proxy_pass" and args and args[0].startswith("http://"):
            netloc = args[0][7:].split("/", 1)[0]
            if netloc in upstream_echo and not _is_upstream(root, netloc):
                args[0] = "http://" + upstream_echo[netloc] + args[0][7 + len(netloc):]
        elif d.name == "ssl_certificate":
            args = [cert]
        elif d.name == "ssl_certificate_key":
            args = [key]
        elif d.name in ("root", "alias"):
            args = [str(prefix / "files") + ("/" if d.name == "alias" else "")]
        elif d.name == "access_log":
            args = ["off"]
        elif d.name == "proxy_cache_path":
            args = [str(prefix / "cache")] + args[1:]
        out = {"directive": d.name, "args": args}
        if d.block is not None:
            out["block"] = [c for c in map(convert, d.block) if c is not None]
            if d.name == "upstream":
                echo = upstream_echo.get(d.args[0])
                if echo:
                    out["block"].insert(0, {"directive": "server", "args": [echo]})
        return out
    parsed = [c for c in map(convert, root.block or []) if c is not None]
    if not any(p["directive"] == "events" for p in parsed):
        parsed.insert(0, {"directive": "events", "args": [], "block": []})
    return crossplane.build(parsed) + "\n"


def _is_upstream(root: Directive, netloc: str) -> bool:
    http = root.first("http")
    return any(u.args[0] == netloc for u in (http.children("upstream") if http else []))


def _compared_headers(root: Directive) -> tuple[set[str], set[str]]:
    """Request headers the configuration sets upstream, response headers it adds (lower case)."""
    request, response = {"host"}, set()
    for d in _walk(root):
        if d.name == "proxy_set_header" and d.args:
            request.add(d.args[0].lower())
        elif d.name == "add_header" and d.args:
            response.add(d.args[0].lower())
    return request, response


def _exchange(edge: ir.Edge, servers, cfg, original_ports, imported_ports) -> tuple[list[Difference], int]:
    from ..harness.driver import send
    request_names, response_names = _compared_headers(cfg.root)
    serving = [lst for lst in edge.listeners if lst.redirect is None]
    redirecting = [lst for lst in edge.listeners if lst.redirect is not None]
    differences, sent = [], 0
    for srv, _ in servers:
        host = srv.hosts[0].replace("*.", "any.") if srv.hosts and not srv.default else "default.test"
        targets = [p + q for p in paths(srv.locations) for q in ("", "?q=1&b=%20")]
        for lst in serving + redirecting:
            chosen = targets if lst in serving else targets[:5]
            for target in chosen:
                a = send(lst.protocol, "127.0.0.1", original_ports[lst.port], "GET", target, [("Host", host)])
                b = send(lst.protocol, "127.0.0.1", imported_ports[lst.port], "GET", target, [("Host", host)])
                sent += 1
                what = _differs(a, b, lst, original_ports, imported_ports, request_names, response_names)
                if what:
                    differences.append(Difference(f"GET {lst.protocol}://{host}:{lst.port}{target}", what))
    return differences, sent


def _location(value: str | None, real_ports: dict[int, int]) -> str | None:
    if value is None:
        return None
    for declared, real in real_ports.items():
        value = re.sub(rf"^(https?://[^/:]+):{real}(?=/|$)", rf"\g<1>:{declared}", value)
    return re.sub(r"^(http://[^/:]+):80(?=/|$)|^(https://[^/:]+):443(?=/|$)",
                  lambda m: m.group(1) or m.group(2), value)


def _differs(a, b, lst, original_ports, imported_ports, request_names, response_names) -> list[str]:
    what = []
    ea, eb = a.echo(), b.echo()
    if a.status != b.status:
        what.append(f"status: nginx {a.status}, imported {b.status}")
    la, lb = _location(a.header("Location"), original_ports), _location(b.header("Location"), imported_ports)
    if la != lb:
        what.append(f"Location: nginx {la}, imported {lb}")
    if ea is None and eb is None and a.status < 300 and a.body != b.body:
        what.append(f"body: nginx {a.body[:60]!r}, imported {b.body[:60]!r}")  # answered by the gateway itself
    backend_a, backend_b = (ea or {}).get("backend"), (eb or {}).get("backend")
    if backend_a != backend_b:
        what.append(f"backend: nginx {backend_a or '-'}, imported {backend_b or '-'}")
    elif ea and eb:
        if ea["path"] != eb["path"]:
            what.append(f"path at the backend: nginx {ea['path']}, imported {eb['path']}")
        for name in sorted(request_names):
            va, vb = ea["headers"].get(name), eb["headers"].get(name)
            if name == "host":
                va, vb = _host(va, original_ports), _host(vb, imported_ports)
            if va != vb and not (va is None and name in FORWARDING):
                what.append(f"request header {name}: nginx {va}, imported {vb}")
    for name in sorted(response_names):
        if a.header(name) != b.header(name):
            what.append(f"response header {name}: nginx {a.header(name)}, imported {b.header(name)}")
    return what


def _host(value: str | None, real_ports: dict[int, int]) -> str | None:
    for declared, real in real_ports.items():
        if value and value.endswith(f":{real}"):
            return value[: -len(str(real))] + str(declared)
    return value
