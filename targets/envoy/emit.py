"""The bootstrap: listeners, clusters and the admin listener, printed as YAML.

Every string is printed double-quoted: Envoy's YAML reader turns plain scalars such as
`on`, `yes` or `1e3` into booleans and numbers, so a value from the source is never left
to its guess.
"""
from __future__ import annotations

import io

from ruamel.yaml import YAML
from ruamel.yaml.scalarstring import DoubleQuotedScalarString

from edgec import ir

from . import external_auth, jwt
from .clusters import cluster
from .listeners import listener
from .names import ADMIN_CLUSTER

Plan = dict


def bootstrap(edge: ir.Edge, admin_port: int, ca_file: str, creds: dict[str, Plan]) -> Plan:
    admin = {"socket_address": {"address": "127.0.0.1", "port_value": admin_port}}
    clusters = ([cluster(up) for up in edge.upstreams if up.servers] + jwt.clusters(edge, ca_file)
                + external_auth.clusters(edge))
    if edge.observability.metrics_path:
        clusters.append({"name": ADMIN_CLUSTER, "type": "STATIC", "load_assignment": {
            "cluster_name": ADMIN_CLUSTER, "endpoints": [{"lb_endpoints": [{"endpoint": {"address": admin}}]}]}})
    return {"admin": {"address": admin},
            "static_resources": {"listeners": [listener(edge, lst, creds) for lst in edge.listeners], "clusters": clusters}}


def _quoted(node):
    if isinstance(node, dict):
        return {k: _quoted(v) for k, v in node.items()}  # keys are Envoy's field names
    if isinstance(node, list):
        return [_quoted(x) for x in node]
    if isinstance(node, str):
        return DoubleQuotedScalarString(node)
    return node


def dump(plan: Plan, header: str) -> str:
    yaml = YAML()
    yaml.width = 1 << 20  # never fold a long string over lines
    yaml.allow_unicode = True
    yaml.indent(mapping=2, sequence=4, offset=2)
    out = io.StringIO()
    out.write("".join(f"# {line}\n" if line else "#\n" for line in header.splitlines()))
    yaml.dump(_quoted(plan), out)
    return out.getvalue()
