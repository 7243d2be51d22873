"""`allow` and `deny`: the client addresses an edge, or one route, lets in (the same statement
in both blocks; a route's lists come on top of the edge's)."""
from __future__ import annotations

from dataclasses import replace

from .. import ir
from . import directive


def _lower(v, stmt, out):
    verb = stmt.args["verb"].value
    access = out.get("access", ir.Access())
    networks = [v.cidr(item) for item in v.strings_of(stmt.args["values"], verb)]
    out["access"] = replace(access, **{verb: tuple(dict.fromkeys((*getattr(access, verb), *networks)))})


def _uses(node):
    return ["access"] if not node.access.empty else []


directive("edge", "access", args=("verb", "*values"), uses=_uses, features={
    "access": "client address allow and deny lists (CIDR), edge-wide and per route: 403",
})(_lower)
directive("route", "access", args=("verb", "*values"), uses=_uses)(_lower)
