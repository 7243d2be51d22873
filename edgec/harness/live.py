"""An IR made ready for a live gateway on this machine, and what a target may be held to.

`with_servers` and `with_listener_ports` change only where things listen, never behaviour;
`skip_reason` reads the capability table: a case a target cannot build, or builds only
approximately, is one it is not held to.
"""
from __future__ import annotations

import dataclasses
import functools
from pathlib import Path

from edgec import ir
from edgec.cases import Case, CaseFile
from edgec.features import FEATURES, route_features, used_features


@functools.lru_cache(maxsize=None)
def _compiled(edge_file: str, env: str | None) -> ir.Edge:
    from edgec.pipeline import analyse
    source = Path(edge_file).read_text(encoding="utf-8")
    result = analyse(source, edge_file, env=env)
    if result.edge is None:
        problems = "; ".join(f"{d.line}:{d.column} {d.code} {d.message}" for d in result.diagnostics
                             if d.severity == "error")
        raise ValueError(f"{edge_file} does not compile: {problems}")
    return result.edge


def edge_of(case_or_file: Case | CaseFile) -> ir.Edge:
    """The IR the case's file names (compiled once per file and env)."""
    f = case_or_file.file if isinstance(case_or_file, Case) else case_or_file
    return _compiled(f.edge_file, f.env)


def with_servers(edge: ir.Edge, addresses: dict[str, str | list[str]]) -> ir.Edge:
    """The edge with each named upstream's servers replaced by servers at "host:port" (one
    address, or a list of them in order: the echo backend standing in for it, or an address
    nothing listens on). Upstreams not named keep their servers."""
    ups = []
    for up in edge.upstreams:
        if up.name in addresses:
            named = addresses[up.name]
            servers = tuple(ir.Server(host, int(port)) for host, _, port in
                            (a.rpartition(":") for a in ([named] if isinstance(named, str) else named)))
            up = dataclasses.replace(up, servers=servers)
        ups.append(up)
    return dataclasses.replace(edge, upstreams=tuple(ups))


def server_addresses(casefile: CaseFile, echoes: dict) -> dict[str, list[str]]:
    """Upstream name -> the addresses of its servers in a live gateway, as the case file's
    `servers:` says: the upstream's echo backend, or down_address() where it says `down`
    (one echo server for an upstream it does not name)."""
    from .processes import down_address
    return {name: [echo.address if kind == "echo" else down_address()
                   for kind in casefile.servers.get(name, ("echo",))]
            for name, echo in echoes.items()}


def with_listener_ports(edge: ir.Edge, ports: dict[int, int], address: str = "127.0.0.1",
                        tls: tuple[str, str] | None = None) -> ir.Edge:
    """The edge with its listeners moved to free local ports ({declared port: actual port}).
    TLS listeners get `tls` (certificate file, key file) when given."""
    out = []
    for lst in edge.listeners:
        changes = {"port": ports.get(lst.port, lst.port), "address": address}
        if lst.tls is not None and tls is not None:
            changes["tls"] = dataclasses.replace(lst.tls, cert=tls[0], key=tls[1])
        out.append(dataclasses.replace(lst, **changes))
    return dataclasses.replace(edge, listeners=tuple(out))


def case_features(edge: ir.Edge, case: Case) -> set[str]:
    """Features whose exact behaviour the case's outcome depends on: every feature of the
    expected route, the `match.*` features of every match whose host and path accept the request (its method, header and query
    conditions must be evaluated right for the right route to win), and `requires`."""
    routes = {r.name: r for r in edge.routes}
    expected = case.expect.get("route")
    chosen = [routes[expected]] if expected in routes else []
    out = {u.feature for r in chosen for u in route_features(r)}
    req = case.request(edge)
    for route, match in _competing(edge, req):
        one = dataclasses.replace(route, matches=(match,))
        out |= {u.feature for u in route_features(one) if u.feature.startswith("match.")}
    out |= request_features(req)
    out |= set(case.requires)
    return out


def _competing(edge: ir.Edge, req) -> list[tuple[ir.Route, ir.Match]]:
    """Every (route, match) whose host and path accept the request: their other conditions
    are evaluated (all of them when the path cannot be normalised)."""
    from edgec.routing import BadPath, compile as compile_router, normalize_path
    try:
        found = compile_router(edge).matching(req, normalize_path(req.path), conditions=False)
    except BadPath:
        return [(r, m) for r in edge.routes for m in r.matches]
    return [(entry.route, entry.match) for _, entry, _ in found]


def exercised(condition: str, edge: ir.Edge, case: Case) -> bool:
    """Is the case one on which a row approximate only `when` this condition (a name of
    edgec.features.EXERCISED) can differ from decide?"""
    from edgec.routing import decide
    req = case.request(edge)
    d = decide(edge, req)
    route = edge.route(d.route) if d.route else None
    lines: dict[str, list[str]] = {}
    for name, value in req.headers:
        lines.setdefault(name.lower(), []).append(value)
    repeated = {name for name, values in lines.items() if len(values) > 1}
    tested = [c for _, m in _competing(edge, req) for c in m.headers]
    added = {n.lower() for n, _ in route.request_headers.add} if d.action == "forward" else set()
    if condition == "location_takes_host":
        return d.action == "listener_redirect" or (d.action == "redirect" and route.action.host is None)
    if condition == "path_goes_on":
        return d.action in ("forward", "redirect", "listener_redirect")
    if condition == "path_rebuilt":
        return ((d.action == "forward" and route.rewrite.path is not None)
                or (d.action == "redirect" and route.action.path is not None))
    if condition == "forwarded":
        return d.action == "forward"
    if condition == "repeated_header_tested":
        return bool(repeated & {c.name.lower() for c in tested})
    if condition == "repeated_header_added":
        return bool(repeated & added)
    if condition == "empty_header_tested":
        return any("" in lines.get(c.name.lower(), ()) for c in tested if c.type == "present")
    if condition == "query_escaped":
        return "%" in req.query
    if condition == "empty_header_joined":
        return d.action == "forward" and any("" in values and (len(values) > 1 or name in added)
                                             for name, values in lines.items())
    if condition == "empty_header_added":
        return any("" in lines.get(name, ()) for name in added)
    if condition == "edge_lists_and_route_headers":
        return not edge.access.empty and route is not None and not route.response_headers.empty
    raise ValueError(f"no such condition: {condition}")


_UNSAFE = frozenset('|{}[]<>^\\"`')


def request_features(req) -> set[str]:
    """The REQUEST_FEATURES (edgec.features) this request has."""
    from edgec.routing import BadPath, host_of, normalize_path
    out = set()
    try:
        unnormalised = normalize_path(req.path) != req.path
    except BadPath:
        unnormalised = True
    if unnormalised:
        out.add("request.path.unnormalised")
    if any(c in _UNSAFE for c in req.path):
        out.add("request.path.unsafe_characters")
    if req.path != "/" and req.path.endswith("/"):
        out.add("request.path.trailing_slash")
    if req.bare_query:
        out.add("request.query.bare")
    spelled = req.host.rsplit(":", 1)[0] if ":" in req.host and not req.host.endswith("]") else req.host
    if host_of(req.host) != spelled:
        out.add("request.host.spelling")
    if any(ord(c) > 0x7f for c in req.path + req.query):
        out.add("request.target.non_ascii")
    names = [name.lower() for name, _ in req.headers]
    if any("_" in name for name in names):
        out.add("request.header.underscore")
    if len(set(names)) != len(names):
        out.add("request.header.repeated")
    if any(value == "" for _, value in req.headers):
        out.add("request.header.empty")
    if any(name.lower() == ir.REQUEST_ID_HEADER.lower() and not ir.SANE_REQUEST_ID.fullmatch(value)
           for name, value in req.headers):
        out.add("request.header.request_id")
    return out


def skip_reason(target, edge: ir.Edge, case: Case) -> str | None:
    """Why `target` (a name or a Target) cannot be held to this case, from its capability
    table: a feature the edge uses that the target cannot build at all, or one the case
    depends on that it builds only approximately. None: the case must pass."""
    from edgec.targets import APPROXIMATE, NATIVE, UNSUPPORTED, Capability, get
    t = get(target) if isinstance(target, str) else target
    missing = Capability(UNSUPPORTED, "not in the capability table")
    for use in sorted(used_features(edge), key=lambda u: u.feature):
        cap = t.capabilities.get(use.feature, missing)
        if cap.level == UNSUPPORTED:
            return f"{t.name} cannot build this edge: {use.feature} is unsupported ({cap.note})"
    for feature in sorted(case_features(edge, case)):
        cap = t.capabilities.get(feature, missing)
        if cap.level != NATIVE and (cap.when is None or exercised(cap.when, edge, case)):
            kind = "approximate" if cap.level == APPROXIMATE else "unsupported"
            return f"{t.name}: {feature} is {kind}: {cap.note or FEATURES.get(feature, '')}"
    return None
