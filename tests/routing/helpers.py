"""Compiling small .edge texts for routing tests."""
from __future__ import annotations

from edgec.pipeline import analyse
from edgec.routing import Request, decide

UPSTREAMS = "\n".join(f'upstream v{i} {{ server "127.0.0.1:900{i}" }}' for i in (1, 2, 3))


def edge(routes: str, listeners: str = "listen http 80", upstreams: str = UPSTREAMS):
    text = f'edge "t" {{\n{listeners}\n{upstreams}\n{routes}\n}}\n'
    result = analyse(text, "t.edge")
    errors = [f"{d.line}:{d.column} {d.code} {d.message}" for d in result.diagnostics if d.severity == "error"]
    assert result.edge is not None, errors
    return result.edge


def route_of(e, url: str, method: str = "GET", headers=(), host=None, port=None):
    return decide(e, Request.from_url(method, url, headers, host=host, port=port)).route
