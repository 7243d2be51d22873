"""Names of Envoy objects (routes, clusters, listeners) derived from the IR's names."""
from __future__ import annotations

from edgec import ir

ADMIN_CLUSTER = "edgec.admin"  # the admin listener, for the metrics route; a dot: no upstream is named so


def route_name(route: ir.Route, match_index: int) -> str:
    return f"{route.name}/{match_index + 1}"


def listener(lst: ir.Listener) -> str:
    return f"{lst.protocol}_{lst.port}"
