"""What `edgec graph` draws: listeners → hosts → routes → upstreams, as data, then as DOT or Mermaid.

`build(edge)` lays the edge out as nodes and links. Routes hang under each host pattern
they name (or "any host") in decide's precedence order, numbered by their place in
`first_match_order`, each link labelled with the match it stands for; a route leads to
its upstreams (weights), mirrors, the upstreams its aggregate calls, or to a terminal node
for a redirect or a fixed response. Routes that can never win (lint W304) or may never win (W318) are marked,
and a match that loses requests to another route by a tie-break rule (W321) names it on its link.

Every string a user wrote reaches the output only through `dot_string` or
`mermaid_string`, which quote it for that language: no label can close its quotes.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field

from . import ir
from .explain import describe_match
from .routing import Alternative, first_match_order


@dataclass(frozen=True)
class Node:
    id: str  # made here, never from user text
    kind: str  # listener, host, route, upstream, terminal
    lines: tuple[str, ...]  # the label, one line each (user text, quoted when rendered)
    shadowed: str | None = None  # "never wins" (lint W304) or "may never win" (W318)


@dataclass(frozen=True)
class Link:
    source: str
    target: str
    label: str = ""
    style: str = "solid"  # solid, dashed (mirror, backup path)


@dataclass
class Graph:
    title: str
    nodes: list[Node] = field(default_factory=list)
    links: list[Link] = field(default_factory=list)


def _duration(ms: int) -> str:
    if ms % 60_000 == 0 and ms >= 60_000:
        return f"{ms // 60_000}m"
    if ms % 1000 == 0:
        return f"{ms // 1000}s"
    return f"{ms}ms"


def _listener_lines(lst: ir.Listener) -> tuple[str, ...]:
    lines = [f"listen {lst.protocol} {lst.address}:{lst.port}" + (" http2" if lst.http2 else "")]
    if lst.tls is not None:
        lines.append(f"TLS >= {lst.tls.min_version}")
    if lst.hsts is not None:
        lines.append("HSTS")
    return tuple(lines)


def _upstream_lines(up: ir.Upstream) -> tuple[str, ...]:
    lines = [f"upstream {up.name}", f"balance {up.balance}"
             + (f" by {up.hash_key.source}" + (f" {up.hash_key.name}" if up.hash_key.name else "")
                if up.hash_key else "")]
    for s in up.servers:
        lines.append(s.address + (f" weight {s.weight}" if s.weight != 1 else "") + (" backup" if s.backup else ""))
    if up.health is not None:
        h = up.health
        lines.append(f"health {h.method} {h.path} every {_duration(h.interval_ms)}")
    if up.sticky is not None:
        lines.append(f"sticky cookie {up.sticky.cookie}")
    return tuple(lines)


def badges(route: ir.Route) -> list[str]:
    """The route's policies, one short word each."""
    out = []
    if route.auth:
        out.append(f"auth {route.auth}")
    if route.rate_limit is not None:
        rl = route.rate_limit
        out.append(f"rate {rl.count}/{rl.window_s}s by {rl.key.source}" + (f" {rl.key.name}" if rl.key.name else ""))
    if route.cache is not None:
        out.append(f"cache {_duration(route.cache.ttl_ms)}")
    if route.retry.attempts:
        out.append(f"retries {route.retry.attempts}")
    if route.cors is not None:
        out.append("cors")
    if route.timeouts.request_ms:
        out.append(f"timeout {_duration(route.timeouts.request_ms)}")
    return out


def _terminal_lines(action: ir.Action) -> tuple[str, ...] | None:
    if isinstance(action, ir.Redirect):
        target = "".join([f"{action.scheme}://" if action.scheme else "", action.host or "",
                          f":{action.port}" if action.port else "",
                          action.path.replacement if action.path else ""])
        return (f"redirect {action.status}", target or "(same URL)")
    if isinstance(action, ir.Respond):
        body = action.body if len(action.body) <= 40 else action.body[:37] + "..."
        return (f"respond {action.status}", body)
    return None


def competitors(edge: ir.Edge, name: str) -> set[str]:
    """The routes that accept some request the route `name` accepts (the route included)."""
    from .lint.routing_rules import may_overlap
    order = first_match_order(edge)
    mine = [a for a in order if a.route.name == name]
    return {a.route.name for a in order if any(may_overlap(a, m) for m in mine)}


def build(edge: ir.Edge, focus: str | None = None) -> Graph:
    """The graph of one edge; with focus, only that route and the routes it competes with."""
    from .lint.routing_rules import may_never_win, never_wins, tie_breaks
    graph = Graph(f"edge {edge.name}" + (f" (env {edge.env})" if edge.env else ""))
    order = first_match_order(edge)
    keep = competitors(edge, focus) if focus is not None else {r.name for r in edge.routes}
    shadowed = {**{name: "may never win" for name in may_never_win(edge)},
                **{name: "never wins" for name in never_wins(edge)}}
    ties = {(t.loser.route_index, t.loser.match_index, t.loser.host): t.winner.route.name for t in tie_breaks(edge)}
    route_ids = {r.name: f"r{i}" for i, r in enumerate(edge.routes)}
    up_ids = {u.name: f"u{i}" for i, u in enumerate(edge.upstreams)}

    hosts: list[str | None] = []
    for alt in order:
        if alt.route.name in keep and alt.host not in hosts:
            hosts.append(alt.host)
    host_ids = {h: f"h{i}" for i, h in enumerate(hosts)}

    for i, lst in enumerate(edge.listeners):
        lid = f"l{i}"
        graph.nodes.append(Node(lid, "listener", _listener_lines(lst)))
        if lst.redirect is not None:
            tid = f"l{i}_redirect"
            graph.nodes.append(Node(tid, "terminal", (f"redirect {lst.redirect.status}",
                                                      f"to https port {lst.redirect.port}")))
            graph.links.append(Link(lid, tid))
            continue
        for h in hosts:
            graph.links.append(Link(lid, host_ids[h]))
    for h in hosts:
        graph.nodes.append(Node(host_ids[h], "host", ("any host" if h is None else f"host {h}",)))

    for rank, alt in enumerate(order, 1):
        if alt.route.name in keep:
            tie = ties.get((alt.route_index, alt.match_index, alt.host))
            label = _match_label(rank, alt) + (f" (ties with {tie}, which wins by a tie-break)" if tie else "")
            graph.links.append(Link(host_ids[alt.host], route_ids[alt.route.name], label))

    used_upstreams: list[str] = []
    for route in edge.routes:
        if route.name not in keep:
            continue
        rid = route_ids[route.name]
        graph.nodes.append(Node(rid, "route", (f"route {route.name}", *badges(route)),
                                shadowed=shadowed.get(route.name)))
        action = route.action
        if isinstance(action, ir.Forward):
            total = sum(b.weight for b in action.backends) or 1
            for b in action.backends:
                label = "" if len(action.backends) == 1 else f"{b.weight * 100 // total}%"
                graph.links.append(Link(rid, up_ids[b.upstream], label))
                used_upstreams.append(b.upstream)
        elif isinstance(action, ir.Aggregate):
            for part in action.parts:
                graph.links.append(Link(rid, up_ids[part.upstream], f"{part.name}: {part.method} {part.path}"))
                used_upstreams.append(part.upstream)
        else:
            tid = f"{rid}_end"
            graph.nodes.append(Node(tid, "terminal", _terminal_lines(action) or ()))
            graph.links.append(Link(rid, tid))
        for m in route.mirrors:
            graph.links.append(Link(rid, up_ids[m.upstream], f"mirror {m.percent:g}%", "dashed"))
            used_upstreams.append(m.upstream)
    for up in edge.upstreams:
        if up.name in used_upstreams or focus is None:
            graph.nodes.append(Node(up_ids[up.name], "upstream", _upstream_lines(up)))
    return graph


def _match_label(rank: int, alt: Alternative) -> str:
    words = [w for w in describe_match(alt.match) if not w.startswith("host ")]
    return f"#{rank} " + " ".join(words)


# ---- DOT --------------------------------------------------------------------------------------

_DOT_SHAPES = {"listener": "cds", "host": "folder", "route": "box", "upstream": "box3d", "terminal": "octagon"}


def dot_string(text: str) -> str:
    """A DOT double-quoted string whose content is exactly `text` as a label shows it: a
    backslash would start a DOT escape (\\N, \\l), a quote would end the string."""
    escaped = (text.replace("\\", "\\\\").replace('"', '\\"').replace("\r", "").replace("\n", "\\n"))
    return f'"{escaped}"'


def to_dot(graph: Graph) -> str:
    out = ["digraph edgec {", "  rankdir=LR;", f"  label={dot_string(graph.title)};", "  labelloc=t;", '  fontname="Helvetica";',
           '  node [fontname="Helvetica", fontsize=10];', '  edge [fontname="Helvetica", fontsize=9];']
    for n in graph.nodes:
        label = "\\n".join(dot_string(line)[1:-1] for line in n.lines)
        attrs = [f'label="{label}"', f"shape={_DOT_SHAPES[n.kind]}"]
        if n.shadowed:
            attrs += ['style="dashed,filled"', 'fillcolor="#f8d7da"', f"xlabel={dot_string(n.shadowed)}"]
        out.append(f"  {n.id} [{', '.join(attrs)}];")
    for link in graph.links:
        attrs = []
        if link.label:
            attrs.append(f"label={dot_string(link.label)}")
        if link.style != "solid":
            attrs.append(f"style={link.style}")
        out.append(f"  {link.source} -> {link.target}" + (f" [{', '.join(attrs)}]" if attrs else "") + ";")
    out.append("}")
    return "\n".join(out) + "\n"


# ---- Mermaid ------------------------------------------------------------------------------------

_MERMAID_SHAPES = {"listener": ("[/", "/]"), "host": ("[(", ")]"), "route": ("[", "]"),
                   "upstream": ("[[", "]]"), "terminal": ("{{", "}}")}


def mermaid_string(text: str) -> str:
    """A Mermaid quoted label whose content shows as `text`: quotes, markup and entity
    starts are written as entities, so nothing the user wrote is read as syntax."""
    out = []
    for ch in text:
        if ch in '"#<>&`[]{}()|;\\' or ord(ch) < 32:
            out.append(f"#{ord(ch)};")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def to_mermaid(graph: Graph) -> str:
    # the front matter is YAML, whose double-quoted strings JSON's quoting is valid for
    out = ["---", f"title: {json.dumps(graph.title)}", "---", "flowchart LR"]
    for n in graph.nodes:
        left, right = _MERMAID_SHAPES[n.kind]
        lines = (*n.lines, f"({n.shadowed})") if n.shadowed else n.lines
        label = "<br/>".join(mermaid_string(line)[1:-1] for line in lines)
        out.append(f'  {n.id}{left}"{label}"{right}')
    for link in graph.links:
        arrow = "-.->" if link.style == "dashed" else "-->"
        out.append(f"  {link.source} {arrow}" + (f"|{mermaid_string(link.label)}|" if link.label else "")
                   + f" {link.target}")
    shadowed = [n.id for n in graph.nodes if n.shadowed]
    if shadowed:
        out.append("  classDef shadowed stroke-dasharray: 5 5,fill:#f8d7da")
        out.append(f"  class {','.join(shadowed)} shadowed")
    return "\n".join(out) + "\n"


# ---- pictures (Graphviz) ----------------------------------------------------------------------

class GraphvizMissing(RuntimeError):
    pass


def render(dot: str, fmt: str) -> bytes:
    """The DOT text drawn as `fmt` (svg, png) by Graphviz's `dot` program."""
    import shutil
    import subprocess
    program = shutil.which("dot")
    if program is None:
        raise GraphvizMissing("Graphviz's `dot` program is not installed (Debian/Ubuntu: apt-get install "
                              "graphviz; macOS: brew install graphviz); --format dot or mermaid need nothing")
    done = subprocess.run([program, f"-T{fmt}"], input=dot.encode("utf-8"), capture_output=True, timeout=120)
    if done.returncode != 0 or not done.stdout:
        raise GraphvizMissing(f"`dot -T{fmt}` failed: {done.stderr.decode('utf-8', 'replace').strip()}")
    return done.stdout
