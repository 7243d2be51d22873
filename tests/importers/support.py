"""Importing an nginx configuration written in a test, and asking edgec's routing about the result."""
from __future__ import annotations

from pathlib import Path

from edgec.importers.check import checked
from edgec.importers.nginx import import_nginx
from edgec.routing import Request, decide


def wrap(server_body: str, http: str = "") -> str:
    return f"events {{}}\nhttp {{\n{http}\n  server {{\n    listen 8080;\n{server_body}\n  }}\n}}\n"


def imported(tmp_path: Path, conf: str, name: str = "nginx.conf"):
    """(IR or None, diagnostics, text) of importing `conf`."""
    path = tmp_path / name
    path.write_text(conf)
    result = import_nginx(str(path), "imported")
    edge, diags = checked(result, "imported.edge", str(path))
    return edge, diags, result.text


def answer(edge, path: str, host: str = "edge.test"):
    return decide(edge, Request.to_edge(edge, "GET", path, host=host))
