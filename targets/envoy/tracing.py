"""Tracing with Envoy's OpenTelemetry tracer: a span per request from the connection manager,
a child span per upstream attempt, sent over OTLP/HTTP to the collector through a cluster of
its own. Envoy takes the client's traceparent as the parent and passes its own on."""
from __future__ import annotations

from edgec import ir

from .clusters import service_cluster

Plan = dict

CLUSTER = "edgec.tracing"  # a dot: no upstream of the source is named so
OTEL = "type.googleapis.com/envoy.config.trace.v3.OpenTelemetryConfig"
SAMPLERS = "type.googleapis.com/envoy.extensions.tracers.opentelemetry.samplers.v3."
EXPORT_TIMEOUT_MS = 5_000


def clusters(edge: ir.Edge, ca_file: str) -> list[Plan]:
    t = edge.observability.tracing
    if t is None:
        return []
    return [service_cluster(CLUSTER, t.scheme, t.host, t.port, ca_file, EXPORT_TIMEOUT_MS)]


def connection_manager(edge: ir.Edge) -> Plan | None:
    """The connection manager's `tracing`: the share of new traces kept, and the exporter."""
    t = edge.observability.tracing
    if t is None:
        return None
    # the sampler decides, as the other targets' SDKs do: the client's sampled flag, else the
    # share of new traces (Envoy's own random_sampling would ignore the client's flag)
    ratio = {"name": "envoy.tracers.opentelemetry.samplers.trace_id_ratio_based", "typed_config": {
        "@type": SAMPLERS + "TraceIdRatioBasedSamplerConfig",
        "sampling_percentage": {"numerator": round(t.sample_percent * 10_000), "denominator": "MILLION"}}}
    return {"random_sampling": {"value": 100},
            "spawn_upstream_span": True,
            "provider": {"name": "envoy.tracers.opentelemetry", "typed_config": {
                "@type": OTEL, "service_name": edge.name,
                "sampler": {"name": "envoy.tracers.opentelemetry.samplers.parent_based", "typed_config": {
                    "@type": SAMPLERS + "ParentBasedSamplerConfig", "wrapped_sampler": ratio}},
                "http_service": {"http_uri": {"uri": t.url, "cluster": CLUSTER,
                                              "timeout": f"{EXPORT_TIMEOUT_MS / 1000:g}s"}}}}}
