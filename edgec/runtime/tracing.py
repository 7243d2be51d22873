"""OpenTelemetry tracing: a server span for each request and a client span for each upstream
attempt (a retry is one more), exported over OTLP/HTTP by the OpenTelemetry SDK.

The client's `traceparent` (and `tracestate`) is the parent of the request's span, and its
sampled flag is followed (parent-based sampling); a trace the client did not start is kept
with the edge's sample ratio. Each attempt passes its own span on in `traceparent`, sampled or
not, so the backend always continues the client's trace. The SDK is imported only by an edge
that traces: `edgec run` of any other file never loads it.
"""
from __future__ import annotations

import threading

from .. import ir

# spans wait at most this long in the batch before they are sent
EXPORT_DELAY_MS = 500


class Tracer:
    """One configuration generation's tracer provider, its exporter and its propagator."""

    def __init__(self, cfg: ir.Tracing, service: str):
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
        from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased
        from opentelemetry.trace import SpanKind, Status, StatusCode, set_span_in_context
        from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

        self.provider = TracerProvider(
            resource=Resource.create({"service.name": service}),
            sampler=ParentBased(TraceIdRatioBased(cfg.sample_percent / 100)),
            shutdown_on_exit=False)  # close() flushes; an exit hook would flush every generation again
        self.provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=cfg.url),
                                                            schedule_delay_millis=EXPORT_DELAY_MS))
        self.tracer = self.provider.get_tracer("edgec")
        self.propagator = TraceContextTextMapPropagator()
        self.server_kind, self.client_kind = SpanKind.SERVER, SpanKind.CLIENT
        self.error_status = Status(StatusCode.ERROR)
        self.in_context = set_span_in_context

    def request(self, method: str, scheme: str, target: str, traceparent: bytes | None,
                tracestate: bytes | None, client: str) -> "RequestTrace":
        carrier = {}
        if traceparent is not None:
            carrier["traceparent"] = traceparent.decode("latin-1")
            if tracestate is not None:
                carrier["tracestate"] = tracestate.decode("latin-1")
        parent = self.propagator.extract(carrier) if carrier else None
        span = self.tracer.start_span(method, context=parent, kind=self.server_kind, attributes={
            "http.request.method": method, "url.scheme": scheme, "url.path": target.partition("?")[0],
            "client.address": client})
        return RequestTrace(self, span)

    def close(self) -> None:
        """Send the spans still waiting, off the event loop (a collector may be slow or gone)."""
        threading.Thread(target=self.provider.shutdown, name="edgec-tracing-shutdown").start()


class RequestTrace:
    """The spans of one request: its server span and the upstream attempt in progress."""

    __slots__ = ("attempt_span", "span", "trace_id", "tracer")

    def __init__(self, tracer: Tracer, span):
        self.tracer = tracer
        self.span = span
        self.trace_id = format(span.get_span_context().trace_id, "032x")
        self.attempt_span = None

    def attempt(self, method: str, upstream: str, host: str, port: int) -> None:
        """Start an attempt's span (header_lines(attempt_span) pass it on to the server)."""
        self.attempt_end()
        t = self.tracer
        self.attempt_span = t.tracer.start_span(method, context=t.in_context(self.span), kind=t.client_kind,
                                                attributes={"http.request.method": method,
                                                            "server.address": host, "server.port": port,
                                                            "edgec.upstream": upstream})

    def header_lines(self, span=None) -> bytes:
        """`traceparent` (and `tracestate`) lines naming `span` (the request's span by default) as
        the parent: what a sub-request of the request (an aggregation part) passes on."""
        carrier: dict[str, str] = {}
        self.tracer.propagator.inject(carrier, context=self.tracer.in_context(span or self.span))
        return "".join(f"{name}: {value}\r\n" for name, value in sorted(carrier.items())).encode("latin-1")

    def attempt_status(self, status: int) -> None:
        if self.attempt_span is not None and self.attempt_span.is_recording():
            self.attempt_span.set_attribute("http.response.status_code", status)
            if status >= 500:
                self.attempt_span.set_status(self.tracer.error_status)

    def attempt_end(self, error: str | None = None) -> None:
        span, self.attempt_span = self.attempt_span, None
        if span is None or not span.is_recording():
            return
        if error is not None:
            span.set_attribute("error.type", error)
            span.set_status(self.tracer.error_status)
        span.end()

    def end(self, status: int, route: str) -> None:
        self.attempt_end("abandoned")
        span = self.span
        if not span.is_recording():  # not sampled: nothing to add to
            return
        if route:
            span.update_name(f"{span.name} {route}")
            span.set_attribute("http.route", route)
        span.set_attribute("http.response.status_code", status)
        if status >= 500:
            span.set_status(self.tracer.error_status)
        span.end()
