"""The edge files `edgec fuzz` generates, as data: a Spec renders to .edge source, and
`smaller()` lists the specs one step simpler, which is how a divergence is shrunk.

Every value written into the source comes from the generator's own small alphabets, and
is still quoted through `quote()` so that the source always parses as intended.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Iterator


def quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


@dataclass(frozen=True)
class Condition:
    kind: str  # header | query
    name: str
    op: str  # "=" | "~" | "present"
    value: str = ""

    def render(self) -> str:
        text = f"{self.kind} {quote(self.name)}"
        return text + (" present" if self.op == "present" else f" {self.op} {quote(self.value)}")


@dataclass(frozen=True)
class Match:
    path_kind: str | None = None  # exact | prefix | regex; None: no path condition
    path: str = "/"
    hosts: tuple[str, ...] = ()
    methods: tuple[str, ...] = ()
    conditions: tuple[Condition, ...] = ()

    def render(self) -> str:
        parts = []
        if self.hosts:
            parts.append("host " + " ".join(quote(h) for h in self.hosts))
        if self.path_kind:
            parts.append(f"path {self.path_kind} {quote(self.path)}")
        if self.methods:
            parts.append("method " + " ".join(self.methods))
        parts += [c.render() for c in self.conditions]
        return "match " + " ".join(parts) if parts else ""


@dataclass(frozen=True)
class HeaderOp:
    side: str  # request_header | response_header
    op: str  # set | add | remove
    name: str
    value: str = ""

    def render(self) -> str:
        return f"{self.side} {self.op} {quote(self.name)}" + ("" if self.op == "remove" else f" {quote(self.value)}")


@dataclass(frozen=True)
class Route:
    name: str
    matches: tuple[Match, ...]
    action: tuple  # ("forward", ((upstream, weight), ...)) | ("redirect", text) | ("respond", status, body)
    header_ops: tuple[HeaderOp, ...] = ()
    rewrite: str = ""  # a rewrite statement (strip_prefix, rewrite prefix/path/host), forward only

    def render(self) -> list[str]:
        lines = [f"  route {self.name} {{"]
        lines += [f"    {m.render()}" for m in self.matches if m.render()]
        lines += [f"    {op.render()}" for op in self.header_ops]
        if self.rewrite:
            lines.append(f"    {self.rewrite}")
        kind = self.action[0]
        if kind == "forward":
            backends = self.action[1]
            if len(backends) == 1:
                lines.append(f"    forward {backends[0][0]}")
            else:
                lines.append("    forward " + ", ".join(f"{u} {w}" for u, w in backends))
        elif kind == "redirect":
            lines.append(f"    redirect {self.action[1]}".rstrip())
        else:
            status, body = self.action[1], self.action[2]
            lines.append(f"    respond {status}" + (f" {quote(body)}" if body is not None else ""))
        lines.append("  }")
        return lines

    def upstreams(self) -> set[str]:
        return {u for u, _ in self.action[1]} if self.action[0] == "forward" else set()


@dataclass(frozen=True)
class Spec:
    routes: tuple[Route, ...]
    upstreams: tuple[str, ...] = field(default=("u1", "u2", "u3"))

    def render(self) -> str:
        used = sorted(set().union(*(r.upstreams() for r in self.routes)) or {self.upstreams[0]})
        lines = ['edge "fuzz" {', "  listen http 80"]
        lines += [f'  upstream {u} {{ server "127.0.0.1:{9001 + i}" }}' for i, u in enumerate(used)]
        for r in self.routes:
            lines += r.render()
        lines.append("}")
        return "\n".join(lines) + "\n"

    def smaller(self, keep: str | None) -> Iterator["Spec"]:
        """Specs one step simpler: a route fewer (never `keep`, the route decide chose), then
        a match, a condition, a method list, a header operation or a rewrite fewer."""
        routes = self.routes
        for i, r in enumerate(routes):
            if r.name != keep and len(routes) > 1:
                yield dataclasses.replace(self, routes=routes[:i] + routes[i + 1:])
        for i, r in enumerate(routes):
            for smaller in _smaller_route(r):
                yield dataclasses.replace(self, routes=routes[:i] + (smaller,) + routes[i + 1:])


def _smaller_route(r: Route) -> Iterator[Route]:
    if len(r.matches) > 1:
        for j in range(len(r.matches)):
            yield dataclasses.replace(r, matches=r.matches[:j] + r.matches[j + 1:])
    for j, m in enumerate(r.matches):
        for smaller in _smaller_match(m):
            yield dataclasses.replace(r, matches=r.matches[:j] + (smaller,) + r.matches[j + 1:])
    for j in range(len(r.header_ops)):
        yield dataclasses.replace(r, header_ops=r.header_ops[:j] + r.header_ops[j + 1:])
    if r.rewrite:
        yield dataclasses.replace(r, rewrite="")
    if r.action[0] == "forward" and len(r.action[1]) > 1:
        yield dataclasses.replace(r, action=("forward", r.action[1][:1]))


def _smaller_match(m: Match) -> Iterator[Match]:
    for k in range(len(m.conditions)):
        yield dataclasses.replace(m, conditions=m.conditions[:k] + m.conditions[k + 1:])
    if m.methods:
        yield dataclasses.replace(m, methods=())
    if len(m.hosts) > 1:
        yield dataclasses.replace(m, hosts=m.hosts[:1])
