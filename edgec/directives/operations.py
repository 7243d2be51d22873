"""What the edge does besides routing: access log, metrics, tracing, limits, trusted proxies."""
from __future__ import annotations

import re

from .. import ir
from ..ir import DEFAULT_LIMITS, DEFAULT_TRACING_SAMPLE_PERCENT, OTLP_TRACES_PATH
from . import directive
from .upstream import server_address


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


# http(s)://HOST[:PORT][/PATH]: a collector's base URL (the traces endpoint is PATH/v1/traces, as the
# OpenTelemetry exporters read OTEL_EXPORTER_OTLP_ENDPOINT) or its traces endpoint itself
OTLP_URL = re.compile(r"(https?)://(\[[0-9A-Fa-f:.]+\]|[^/:?#\[\]@\s]+)(?::([0-9]{1,5}))?(/[A-Za-z0-9._~!$&'()*+,;=:@%/-]*)?")
DEFAULT_PORTS = {"http": 80, "https": 443}


@directive("edge", "tracing", args=("url", "sample"), once="tracing",
           features={"observability.tracing": "OpenTelemetry spans (OTLP/HTTP) for each request and upstream "
                                              "attempt, W3C traceparent taken and passed on, trace_id logged"},
           uses=lambda edge: ["observability.tracing"] if edge.observability.tracing else [])
def tracing(v, stmt, out):
    url_value = stmt.args["url"]
    url = v.string(url_value, "tracing url")
    if url is None:
        return
    m = OTLP_URL.fullmatch(url)
    if not m:
        v.sink.error("E221", f"'{url}' is not an http:// or https:// collector url", url_value.span,
                     hint='write the OTLP/HTTP collector\'s url, like "http://otel-collector:4318" (no query, '
                          "no user name)")
        return
    scheme, host, port, path = m.groups()
    server = server_address(v, f"{host}:{port or DEFAULT_PORTS[scheme]}", url_value.span)
    sample = _sample(v, stmt.args["sample"])
    if server is None or sample is None:
        return
    path = (path or "").rstrip("/")
    if not path.endswith(OTLP_TRACES_PATH):
        path += OTLP_TRACES_PATH
    shown = f"[{server.host}]" if ":" in server.host else server.host
    out["tracing"] = ir.Tracing(f"{scheme}://{shown}:{server.port}{path}", scheme, server.host, server.port, path,
                                sample, stmt.span)


def _sample(v, written) -> float | None:
    if written is None:
        return DEFAULT_TRACING_SAMPLE_PERCENT
    value = v.resolve(written)
    if value is None:
        return None
    if value.kind != "percent":
        v.sink.error("E108", "tracing sample must be a percentage such as 10%", value.span)
        return None
    if not 0 <= value.value <= 100:
        v.sink.error("E212", f"tracing sample {value.raw} must be within 0..100%", value.span,
                     hint="the share of new traces kept: 0% keeps only those the client's traceparent asks for")
        return None
    return value.value


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
