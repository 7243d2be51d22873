"""The bootstrap: listeners, clusters and the admin listener, printed as YAML."""
from __future__ import annotations

from edgec import ir
from edgec.targets import yaml_text

from . import external_auth, jwt, tracing
from .clusters import cluster
from .listeners import listener
from .names import ADMIN_CLUSTER

Plan = dict


def bootstrap(edge: ir.Edge, admin_port: int, ca_file: str, creds: dict[str, Plan]) -> Plan:
    admin = {"socket_address": {"address": "127.0.0.1", "port_value": admin_port}}
    clusters = ([cluster(up) for up in edge.upstreams if up.servers] + jwt.clusters(edge, ca_file)
                + external_auth.clusters(edge) + tracing.clusters(edge, ca_file))
    if edge.observability.metrics_path:
        clusters.append({"name": ADMIN_CLUSTER, "type": "STATIC", "load_assignment": {
            "cluster_name": ADMIN_CLUSTER, "endpoints": [{"lb_endpoints": [{"endpoint": {"address": admin}}]}]}})
    return {"admin": {"address": admin},
            "static_resources": {"listeners": [listener(edge, lst, creds) for lst in edge.listeners], "clusters": clusters}}


def dump(plan: Plan, header: str) -> str:
    return yaml_text.dump([plan], header)
