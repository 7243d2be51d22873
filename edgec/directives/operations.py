"""What the edge does besides routing: access log, metrics, limits, trusted proxies."""
from __future__ import annotations

from .. import ir
from ..ir import DEFAULT_LIMITS
from . import directive


@directive("edge", "access_log", args=("format", "path"), once="access_log",
           features={"observability.access_log": "access log (json or combined)"},
           uses=lambda edge: ["observability.access_log"] if edge.observability.access_log.format != "off" else [],
           default=lambda edge: edge.observability.access_log == ir.DEFAULT_ACCESS_LOG)
def access_log(v, stmt, out):
    path = stmt.args["path"]
    out["access_log"] = ir.AccessLog(stmt.args["format"].value,
                                     v.string(path, "access log path", default="-") if path else "-")


@directive("edge", "metrics", args=("path",), once="metrics",
           features={"observability.metrics": "metrics endpoint"},
           uses=lambda edge: ["observability.metrics"] if edge.observability.metrics_path else [])
def metrics(v, stmt, out):
    out["metrics_path"] = v.path(stmt.args["path"], "metrics path")


LIMIT_FIELDS = {"max_body": "max_body_bytes", "max_header_size": "max_header_bytes", "max_headers": "max_headers",
                "header_timeout": "header_timeout_ms", "idle_timeout": "idle_timeout_ms"}


@directive("edge", "limits", once="limits", features={"limits": "request size and time limits"})
def limits(v, stmt, out):
    values = dict(DEFAULT_LIMITS.__dict__)
    for key, item in v.items(stmt).items():
        value = item.args["values"][0]
        values[LIMIT_FIELDS[key]] = v.integer(value, key, low=1) if key == "max_headers" else value.value
    out["limits"] = ir.Limits(**values)


@directive("edge", "trust_proxies", args=("*values",),
           features={"trusted_proxies": "trust X-Forwarded-For only from listed proxies"},
           uses=lambda edge: ["trusted_proxies"] if edge.trusted_proxies else [])
def trust_proxies(v, stmt, out):
    out.setdefault("trusted_proxies", []).extend(v.cidr(s) for s in v.strings_of(stmt.args["values"],
                                                                                 "trust_proxies"))
