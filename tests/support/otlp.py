"""An OTLP/HTTP trace receiver for the tracing tests: what a collector would get from the
runtime, Envoy or the Spring app, decoded with the OpenTelemetry protocol's own messages.

`OtlpReceiver().start()` listens on a free loopback port and accepts POST /v1/traces with an
ExportTraceServiceRequest (protobuf, plain or gzip); `.spans` holds every span received, as
Span records; `.wait(predicate)` waits for the spans a test expects. Stopped with `.stop()`. `log_lines`
reads the JSON access log whose trace_id the tests compare with the spans.
"""
from __future__ import annotations

import gzip
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (ExportTraceServiceRequest,
                                                                      ExportTraceServiceResponse)
from opentelemetry.proto.trace.v1.trace_pb2 import Span as ProtoSpan

KINDS = {ProtoSpan.SPAN_KIND_SERVER: "server", ProtoSpan.SPAN_KIND_CLIENT: "client",
         ProtoSpan.SPAN_KIND_INTERNAL: "internal", ProtoSpan.SPAN_KIND_PRODUCER: "producer",
         ProtoSpan.SPAN_KIND_CONSUMER: "consumer", ProtoSpan.SPAN_KIND_UNSPECIFIED: "unspecified"}


@dataclass(frozen=True)
class Span:
    service: str
    name: str
    kind: str
    trace_id: str  # 32 hex digits
    span_id: str  # 16 hex digits
    parent_span_id: str  # "" for a root span
    attributes: dict = field(default_factory=dict)


def _value(v):
    which = v.WhichOneof("value")
    return getattr(v, which) if which else None


def decode(body: bytes) -> list[Span]:
    request = ExportTraceServiceRequest()
    request.ParseFromString(body)
    out = []
    for resource_spans in request.resource_spans:
        resource = {a.key: _value(a.value) for a in resource_spans.resource.attributes}
        for scope_spans in resource_spans.scope_spans:
            for s in scope_spans.spans:
                out.append(Span(resource.get("service.name", ""), s.name, KINDS.get(s.kind, str(s.kind)),
                                s.trace_id.hex(), s.span_id.hex(), s.parent_span_id.hex(),
                                {a.key: _value(a.value) for a in s.attributes}))
    return out


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):  # quiet
        pass

    def _read_chunked(self) -> bytes:
        out = []
        while True:
            size = int(self.rfile.readline().split(b";")[0].strip(), 16)
            if size == 0:
                while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return b"".join(out)
            out.append(self.rfile.read(size))
            self.rfile.readline()

    def do_POST(self):  # noqa: N802 (http.server's name)
        receiver: OtlpReceiver = self.server.receiver  # type: ignore[attr-defined]
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":  # as Envoy sends it
            body = self._read_chunked()
        else:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.headers.get("Content-Encoding", "").lower() == "gzip":
            body = gzip.decompress(body)
        try:
            spans = decode(body)
        except Exception as err:  # noqa: BLE001 (a malformed export is the test's finding)
            receiver.errors.append(f"{self.path}: {err}")
            self.send_response(400)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        with receiver.lock:
            receiver.paths.append(self.path)
            receiver.spans.extend(spans)
        payload = ExportTraceServiceResponse().SerializeToString()
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


class OtlpReceiver:
    def __init__(self, port: int = 0):
        self.wanted_port = port  # 0: any free one
        self.spans: list[Span] = []
        self.paths: list[str] = []  # the request path of each export
        self.errors: list[str] = []
        self.lock = threading.Lock()
        self.httpd: ThreadingHTTPServer | None = None

    def start(self) -> "OtlpReceiver":
        self.httpd = ThreadingHTTPServer(("127.0.0.1", self.wanted_port), _Handler)
        self.httpd.daemon_threads = True
        self.httpd.receiver = self  # type: ignore[attr-defined]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    @property
    def port(self) -> int:
        return self.httpd.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def wait(self, predicate, timeout: float = 15.0) -> list[Span]:
        """The spans once predicate(spans) holds, or the spans at the timeout."""
        deadline = time.monotonic() + timeout
        while True:
            with self.lock:
                spans = list(self.spans)
            if predicate(spans) or time.monotonic() > deadline:
                return spans
            time.sleep(0.05)

    def stop(self) -> None:
        if self.httpd is not None:
            self.httpd.shutdown()
            self.httpd.server_close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def log_lines(path, count: int, timeout: float = 10.0) -> list[dict]:
    """The JSON lines of an access log once it holds `count` (gateways write it in batches)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not (path.exists() and len(path.read_text().splitlines()) >= count):
        time.sleep(0.05)
    return [json.loads(line) for line in path.read_text().splitlines()]
