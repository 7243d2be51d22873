"""HTTP/2 on TLS listeners that declare `http2`: ALPN picks each connection's protocol (h2,
or HTTP/1.1 for a client that does not offer it), and every HTTP/2 stream is served by an
Exchange exactly as an HTTP/1.1 request is.

The h2 library does the protocol: framing, HPACK, stream states, flow control. A Stream
plays the client connection for its Exchange: the Exchange hands it a response's status and
fields (`head`, which sends them as a HEADERS frame) and then writes the body, which goes out
as DATA frames within the client's flow-control windows. The HTTP/1.1 data path is untouched:
a connection that did not choose h2 is a TlsClientConnection.

The Exchange is given the version "2.0": its access log says HTTP/2.0, and a response of
unknown length is not chunk-framed for the stream (as for an HTTP/1.0 client, its end is the
exchange's end: exchange_done ends the stream).
"""
from __future__ import annotations

import asyncio
import logging
from collections import deque
from types import SimpleNamespace
from typing import Any

import h2.config
import h2.connection
import h2.events
import h2.exceptions
from h2.errors import ErrorCodes
from h2.settings import SettingCodes, Settings
from hyperframe.frame import GoAwayFrame

from . import h2fields, http
from .exchange import Exchange
from .hpack_in import RequestDecoder
from .hpack_out import AnswerEncoder
from .ratelimit import Bucket
from .server import BufferedReads, Listening, TlsClientConnection, admit

log = logging.getLogger("edgec.runtime")

MAX_STREAMS = 128
# what a client may send on one stream before the edge has passed it on to the backend
STREAM_WINDOW = 256 * 1024
# room for every stream's window at once: a stream whose backend reads slowly never stalls the others
CONNECTION_WINDOW = MAX_STREAMS * STREAM_WINDOW
_DEFAULT_WINDOW = 65_535
# response bytes held for a stream the client is not reading: past HIGH its backend is paused
HIGH_WATER = 256 * 1024
LOW_WATER = 64 * 1024
# Floods (the 2019 PING, SETTINGS and PRIORITY floods, the 2023 rapid reset), bounded as nginx
# and Envoy bound them: a client past a bound gets GOAWAY ENHANCE_YOUR_CALM and is
# disconnected, and its streams are abandoned. Control frames each client may send: a
# burst, then so many a second (legitimate clients send a few per connection).
CONTROL_BURST, CONTROL_RATE = 1000, 100.0
# streams a client may reset before their answer has ended: a burst, then so many a second
RESET_BURST, RESET_RATE = 200, 20.0
# bytes waiting for a client that reads none of them (frames that answer its own, heads of
# bodiless answers; DATA stops being queued when the client stops reading)
UNREAD_LIMIT = 256 * 1024
FEED_BYTES = 16 * 1024  # what h2 parses at once (about as many PINGs as the control budget)
# Streams' frames wait for the end of the loop pass to go out together, in one TLS write; a
# stream with this much response body waiting writes at once, so that a client that stops
# reading pauses its writing (and meets UNREAD_LIMIT) as soon as when every frame is written
FLUSH_BYTES = 64 * 1024
# the largest frame every peer accepts (RFC 9113 §4.2: SETTINGS_MAX_FRAME_SIZE is never below it)
_SMALLEST_FRAME_LIMIT = 16_384
CALM_GOAWAY_S = 0.1  # the time a flooder's GOAWAY has to leave before its connection is cut

# h2's checks of header blocks are left out both ways. What the client sends, h2fields checks
# (and joins its split cookies) in one pass, where h2 spends a chain of generators. What the edge
# sends is its own: response fields the edge made or httptools parsed from the backend (no CR,
# LF, NUL or other control byte), names lower-cased and values stripped by Stream.head,
# connection-specific fields dropped (http.HOP_BY_HOP), the one pseudo-field first. Each side
# checked by h2 costs about a tenth of the edge's work per stream.
#
# h2 calls its logger's debug or trace about fifteen times per request. Its own silent logger
# (what it uses when given none) is a Python method that ignores its arguments; an empty
# format string's `format`, a C function, ignores them for less (an object, not a class body:
# mypyc does not compile a class attribute holding a bound method).
_SILENT = SimpleNamespace(debug="".format, trace="".format)


class _Config(h2.config.H2Configuration):
    """h2's configuration with its options as plain attributes: h2 reads them about eight times
    per request, and each of h2's own is a descriptor, a Python call per read (its check, made
    when an option is set, has nothing to find in the constants below)."""

    client_side: Any = None
    header_encoding: Any = None
    validate_outbound_headers: Any = None
    normalize_outbound_headers: Any = None
    split_outbound_cookies: Any = None
    validate_inbound_headers: Any = None
    normalize_inbound_headers: Any = None


_CONFIG = _Config(client_side=False, header_encoding=None, validate_outbound_headers=False,
                  normalize_outbound_headers=False, validate_inbound_headers=False, normalize_inbound_headers=False,
                  logger=_SILENT)  # type: ignore[arg-type]
_NO_BODY = (204, 304)


def negotiating(listening: Listening):
    """The protocol factory of a TLS listener with http2."""
    return lambda: Negotiated(listening)


class Negotiated(asyncio.Protocol):
    """A connection until ALPN has spoken (the TLS handshake is over when connection_made
    is called): the protocol the client chose then takes its place on the transport."""

    __slots__ = ("listening",)

    def __init__(self, listening: Listening):
        self.listening = listening

    def connection_made(self, transport) -> None:
        tls = transport.get_extra_info("ssl_object")
        chosen = tls.selected_alpn_protocol() if tls is not None else None
        proto = H2Connection(self.listening) if chosen == "h2" else TlsClientConnection(self.listening)
        transport.set_protocol(proto)
        proto.connection_made(transport)


class H2Connection(BufferedReads):
    # Runtime.shutdown closes a connection with no HTTP/1.1 request queued or half-read through
    # `transport.close()`. Here that is close() below: a GOAWAY, the streams in flight finish,
    # then the socket closes. The socket itself is `wire`.
    queue = ()
    in_head = False

    @property
    def transport(self) -> Any:  # not an attribute: a reference to itself would keep it for the cyclic collector
        return self

    def __init__(self, listening: Listening):
        self.listening = listening
        self.runtime = listening.runtime
        self.wire: Any = None
        self.loop: Any = None
        self.peer = ""
        self.send_due = False  # a send at the end of this loop pass is scheduled
        self.unsent = 0  # response body handed to h2 since the last send
        self.forwarded = b""
        self.subject: bytes | None = None
        self.h2 = h2.connection.H2Connection(_CONFIG)
        self.h2.encoder = AnswerEncoder()
        self.h2.decoder = RequestDecoder(self.h2.decoder.max_header_list_size)
        self.streams: dict[int, Stream] = {}
        self.blocked: dict[int, Stream] = {}  # streams with response bytes waiting for a window, in order
        self.deadline = 0.0
        self.write_paused = False
        self.closing = False  # no new streams; the socket closes when the last one is over
        self.goaway_sent = False
        now = self.runtime.clock.now
        self.control = Bucket(CONTROL_RATE, CONTROL_BURST, now)
        self.resets = Bucket(RESET_RATE, RESET_BURST, now)
        self.calmed = False
        self.failed = False  # a malformed request ended the connection
        self.headers_priority: Any = None
        # the last request's fields as h2 gave them, and what h2fields made of them: a client
        # repeating a request sends the same fields (HPACK gives back the very same objects),
        # and their check is a function of them alone. Its list of fields is shared by the
        # exchanges of those requests, which only read it.
        self.last_fields: Any = None
        self.last_request: Any = None
        # the last request found within the size limits, and the gateway whose limits they were
        self.sized: Any = None
        self.sized_by: Any = None

    # ---- asyncio.Protocol ------------------------------------------------------------------
    def connection_made(self, transport) -> None:
        self.wire = transport
        self.loop = asyncio.get_running_loop()
        admit(self, transport)
        conn = self.h2
        conn.local_settings = Settings(client=False, initial_values={
            SettingCodes.MAX_CONCURRENT_STREAMS: MAX_STREAMS,
            SettingCodes.INITIAL_WINDOW_SIZE: STREAM_WINDOW,
        })
        conn.initiate_connection()
        conn.increment_flow_control_window(CONNECTION_WINDOW - _DEFAULT_WINDOW)
        self.send()
        if self.runtime.draining:
            self.close()

    def data_received(self, data: bytes) -> None:
        # parsed a piece at a time: a flood is stopped within the piece that passes a bound,
        # not after h2 has made events of a whole read (16,000 PINGs in 256 KiB)
        for at in range(0, len(data), FEED_BYTES):
            if self.calmed or not self.receive(data[at:at + FEED_BYTES] if at or len(data) > FEED_BYTES else data):
                return
        self.send()
        if self.write_paused and self.wire.get_write_buffer_size() > UNREAD_LIMIT:
            self.calm("reads none of what it is sent")

    def receive(self, data: bytes) -> bool:
        """h2's events of `data`, handled; False when the connection has ended."""
        try:
            events = self.h2.receive_data(data)
        except h2.exceptions.ProtocolError:
            # h2 has queued the GOAWAY that says why: send it and end the connection
            self.send()
            self.wire.close()
            return False
        for event in events:
            handler = _HANDLERS.get(type(event))
            if handler is not None:
                try:
                    handler(self, event)
                except Exception:  # a defect of the edge, not of the request: logged, never shown
                    log.error("internal error handling an HTTP/2 request", exc_info=True)
                    stream = self.streams.get(getattr(event, "stream_id", 0))
                    if stream is not None:
                        stream.cancel(ErrorCodes.INTERNAL_ERROR)
                if self.calmed or self.failed:
                    return False
        return True

    def connection_lost(self, exc) -> None:
        rt = self.runtime
        rt.connections.discard(self)
        rt.clock.timed.discard(self)
        self.deadline = 0.0
        for stream in list(self.streams.values()):
            stream.lost()
        self.streams.clear()
        self.blocked.clear()

    def pause_writing(self) -> None:
        self.write_paused = True

    def resume_writing(self) -> None:
        self.write_paused = False
        self.pump_blocked()
        self.send()

    def expire(self) -> None:
        """The clock's call: no stream for the idle timeout, or a flooder's GOAWAY has left."""
        self.deadline = 0.0
        if self.calmed:
            self.wire.abort()
        else:
            self.close()

    # ---- what Runtime.shutdown calls on .transport ---------------------------------------------
    def close(self) -> None:
        """Graceful: a GOAWAY naming the last stream taken, the streams in flight finish first."""
        self.closing = True
        if not self.goaway_sent and not self.wire.is_closing():
            self.goaway_sent = True
            # h2 can only send GOAWAY as its last frame; the frame from its framing library, after
            # everything h2 has queued, lets the streams in flight go on
            self.send()
            self.wire.write(GoAwayFrame(0, last_stream_id=self.h2.highest_inbound_stream_id,
                                        error_code=ErrorCodes.NO_ERROR).serialize())
        if not self.streams:
            self.wire.close()

    def abort(self) -> None:
        self.wire.abort()

    def calm(self, why: str) -> None:
        """A flooding client: its streams abandoned, GOAWAY ENHANCE_YOUR_CALM (when its socket
        has room: a client that does not read is cut at once), nothing more read, and the
        connection cut CALM_GOAWAY_S later. Not a graceful TLS close: that reads on until
        the client says goodbye, and a flooder never does."""
        log.warning("HTTP/2 client %s %s: disconnected (ENHANCE_YOUR_CALM)", self.peer, why)
        self.calmed = self.closing = self.goaway_sent = True
        for stream in list(self.streams.values()):
            stream.lost()
        self.h2.close_connection(error_code=ErrorCodes.ENHANCE_YOUR_CALM,
                                 last_stream_id=self.h2.highest_inbound_stream_id)
        goaway = self.h2.data_to_send()
        if self.write_paused or self.wire.get_write_buffer_size():
            self.wire.abort()
            return
        self.wire.write(goaway)
        self.wire.pause_reading()
        self.deadline = self.runtime.clock.now + CALM_GOAWAY_S

    def malformed(self) -> None:
        """A malformed request: a connection error PROTOCOL_ERROR, as h2 answers the malformed
        frames it finds itself (RFC 9113 §8.1.1 allows one)."""
        self.failed = True
        self.h2.close_connection(error_code=ErrorCodes.PROTOCOL_ERROR)
        self.send()
        self.wire.close()

    def on_control(self, ev) -> None:
        """A PING, SETTINGS or PRIORITY frame (h2 has queued the answer a PING or SETTINGS gets)."""
        if ev is self.headers_priority:
            return
        if not self.control.take(self.runtime.clock.now):
            self.calm("sent too many control frames")

    # ---- h2 events -------------------------------------------------------------------------------
    def on_request(self, ev: h2.events.RequestReceived) -> None:
        self.headers_priority = ev.priority_updated  # a priority in the HEADERS: no frame of its own
        if self.closing:
            self.h2.reset_stream(ev.stream_id, ErrorCodes.REFUSED_STREAM)
            return
        fields = ev.headers
        if fields == self.last_fields:
            request = self.last_request
        else:
            try:
                request = self.last_request = h2fields.request(fields)
            except h2fields.Malformed:
                self.malformed()
                return
            self.last_fields = fields
        stream = Stream(self, ev.stream_id)
        self.streams[ev.stream_id] = stream
        self.deadline = 0.0
        stream.begin(request, ev.stream_ended is not None)

    def on_data(self, ev: h2.events.DataReceived) -> None:
        stream = self.streams.get(ev.stream_id)
        if stream is None:
            self.h2.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
        else:
            stream.data(ev.data, ev.flow_controlled_length)

    def on_end(self, ev: h2.events.StreamEnded) -> None:
        stream = self.streams.get(ev.stream_id)
        if stream is not None:
            stream.request_end()

    def on_reset(self, ev: h2.events.StreamReset) -> None:
        stream = self.streams.get(ev.stream_id)
        if stream is not None:
            stream.lost()
            if not self.resets.take(self.runtime.clock.now):
                self.calm("reset too many streams")

    def on_window(self, ev: h2.events.WindowUpdated) -> None:
        if ev.stream_id == 0:
            self.pump_blocked()
        else:
            stream = self.blocked.get(ev.stream_id)
            if stream is not None:
                stream.pump()

    def on_settings(self, ev: h2.events.RemoteSettingsChanged) -> None:
        if SettingCodes.INITIAL_WINDOW_SIZE in ev.changed_settings:
            self.pump_blocked()
        self.on_control(ev)

    def on_goaway(self, _ev: h2.events.ConnectionTerminated) -> None:
        # h2 ends the connection on any GOAWAY it receives and sends nothing after it, so the
        # streams still in flight (a load generator stopping mid-request) cannot be answered:
        # they are let go as if the client had reset them
        self.closing = True
        for stream in list(self.streams.values()):
            stream.lost()
        if not self.wire.is_closing():
            self.wire.close()

    # ---- used by streams ---------------------------------------------------------------------
    def send(self) -> None:
        self.unsent = 0
        data = self.h2.data_to_send()
        if data:
            self.wire.write(data)

    def send_soon(self) -> None:
        """Send what h2 has queued at the end of this loop pass, with the frames of every other
        stream answered in it."""
        if not self.send_due:
            self.send_due = True
            self.loop.call_soon(self.send_now)

    def send_now(self) -> None:
        self.send_due = False
        if not self.wire.is_closing():
            self.send()

    def pump_blocked(self) -> None:
        for stream in list(self.blocked.values()):
            if self.write_paused:
                return
            stream.pump()

    def forget(self, stream: "Stream") -> None:
        self.streams.pop(stream.id, None)
        self.blocked.pop(stream.id, None)
        self.runtime.clock.timed.discard(stream)
        if not self.streams and not self.calmed and not self.wire.is_closing():
            if self.closing:
                self.send()
                self.wire.close()
            else:
                self.deadline = self.runtime.clock.now + self.runtime.gateway.idle_s


_HANDLERS: dict[type, Any] = {
    h2.events.RequestReceived: H2Connection.on_request,
    h2.events.DataReceived: H2Connection.on_data,
    h2.events.StreamEnded: H2Connection.on_end,
    h2.events.StreamReset: H2Connection.on_reset,
    h2.events.WindowUpdated: H2Connection.on_window,
    h2.events.RemoteSettingsChanged: H2Connection.on_settings,
    h2.events.ConnectionTerminated: H2Connection.on_goaway,
    h2.events.PingReceived: H2Connection.on_control,
    h2.events.PriorityUpdated: H2Connection.on_control,
}


class Stream:
    """One request/response stream, in the role of an HTTP/1.1 client connection for its
    Exchange (`conn`), and of that connection's transport (`conn.transport`)."""

    __slots__ = ("conn", "id", "runtime", "listening", "peer", "forwarded", "subject", "ex",
                 "head_only", "remaining", "final", "response_ended", "end_sent", "exchange_over",
                 "request_ended", "closed", "out", "offset", "buffered", "upstream_paused", "read_paused",
                 "unacked", "deadline")

    @property
    def transport(self) -> Any:  # not an attribute: a reference to itself would keep it for the cyclic collector
        return self

    def __init__(self, conn: H2Connection, stream_id: int):
        self.conn = conn
        self.id = stream_id
        self.runtime = conn.runtime
        self.listening = conn.listening
        self.peer = conn.peer
        self.forwarded = conn.forwarded
        self.subject = conn.subject
        self.ex: Exchange | None = None
        self.head_only = False
        self.remaining = -1  # body bytes the response's Content-Length still announces; -1: unknown
        self.final = False  # the final (non-1xx) response head went out
        self.response_ended = False  # the whole response is known; END_STREAM follows its last byte
        self.end_sent = False
        self.exchange_over = False
        self.request_ended = False
        self.closed = False  # reset, by either side: nothing more goes out
        self.out: deque[bytes] = deque()  # response body waiting for a flow-control window
        self.offset = 0  # of the first of `out` already sent
        self.buffered = 0
        self.upstream_paused = False
        self.read_paused = False
        self.unacked = 0  # request body bytes received while the backend could take no more
        self.deadline = 0.0  # the clock looks at the stream once one is set (arm)

    # ---- the request -----------------------------------------------------------------------------
    def begin(self, request: tuple, ended: bool) -> None:
        """The request (method, path, fields), its fields checked by h2fields."""
        self.request_ended = ended
        method, path, headers = request
        if method == b"CONNECT":  # a tunnel, or WebSocket over HTTP/2 (RFC 8441): not served
            return self.refuse(501, "CONNECT is not supported over HTTP/2")
        gw = self.runtime.gateway
        conn = self.conn
        # a repeated request (h2fields gives back the same tuple) is within the same limits
        if request is not conn.sized or gw is not conn.sized_by:
            limits = gw.limits
            size = 0
            for name, value in headers:
                line = len(name) + len(value) + 4
                if line > limits.max_header_bytes:
                    return self.refuse(431, "header line too large")
                size += line
            if len(headers) > limits.max_headers:
                return self.refuse(431, "too many headers")
            if size > gw.max_head_bytes:
                return self.refuse(431, "request head too large")
            if len(path) > limits.max_header_bytes:
                return self.refuse(414, "request target too long")
            conn.sized, conn.sized_by = request, gw
        self.head_only = method == b"HEAD"
        ex = Exchange(self, method.decode("latin-1"), path, headers, "2.0", True, False)
        if ex.refused is not None:
            return self.refuse(*ex.refused)
        if not ended and ex.length is None:
            ex.chunked = True  # a body of unknown length goes to the backend chunked
        self.ex = ex
        if not ended:
            self.arm(gw.header_s)
        ex.start()

    def data(self, data: bytes, flow_controlled: int) -> None:
        ex = self.ex
        if data and ex is not None and not ex.done and not self.closed:
            if not ex.answered:
                self.arm(self.runtime.gateway.header_s)
            ex.body_chunk(data)
        if self.read_paused and not self.closed:
            self.unacked += flow_controlled
        else:
            self.conn.h2.acknowledge_received_data(flow_controlled, self.id)

    def request_end(self) -> None:
        self.request_ended = True
        ex = self.ex
        if ex is not None and not ex.done:
            ex.body_end()
        self.settle()

    def refuse(self, status: int, message: str) -> None:
        """A request the edge answers itself, before any Exchange: its own error response."""
        self.exchange_over = True
        self.runtime.gateway.metrics.observe("", status, 0.0)
        body, ctype = http.error_body(status, message)
        self.head(status, [(b"content-type", ctype), (b"content-length", b"%d" % len(body))])
        self.write(body)

    # ---- the response, from the Exchange ---------------------------------------------------------
    def head(self, status: int, headers) -> bytes:
        """The response's status and fields, as a HEADERS frame: nothing is left for the Exchange
        to write before the body (ClientConnection.head gives it HTTP/1.1 bytes)."""
        if self.closed or self.response_ended:
            return b""
        h = self.conn.h2
        fields = [(b":status", b"%d" % status)]
        if status < 200:  # 100 Continue: an informational HEADERS frame
            self._h2(h.send_headers, self.id, fields)
            return b""
        self.final = True
        for name, value in headers:
            name = name.lower()
            if name in http.HOP_BY_HOP:
                continue
            if name == b"content-length":
                self.remaining = int(value)
            fields.append((name, value.strip()))  # httptools keeps a value's trailing whitespace
        bodyless = self.head_only or status in _NO_BODY or self.remaining == 0
        if self._h2(h.send_headers, self.id, fields, bodyless) and bodyless:
            self.response_ended = self.end_sent = True  # any body written after it is not sent
        return b""

    def write(self, data: bytes) -> None:
        """Response body: sent as far as the windows allow; it has ended once its Content-Length is
        reached (a response of unknown length ends with its exchange)."""
        if self.closed or self.response_ended or not data:
            return
        remaining = self.remaining
        if remaining >= 0:
            if len(data) >= remaining:
                data = data[:remaining]
                self.response_ended = True
            self.remaining = remaining - len(data)
        conn = self.conn
        if not self.out and len(data) <= _SMALLEST_FRAME_LIMIT and not conn.write_paused:
            # one frame, without asking h2 for the windows first: it checks them itself and
            # refuses, changing nothing, a frame larger than they allow
            try:
                conn.h2.send_data(self.id, data, self.response_ended)
            except h2.exceptions.FlowControlError:
                pass  # queued below, to go out as far as the windows allow
            except h2.exceptions.StreamClosedError:
                self.closed = True
                return
            else:
                conn.unsent += len(data)
                if conn.unsent >= FLUSH_BYTES:
                    conn.send()
                conn.send_soon()
                if self.response_ended:
                    self.end_sent = True
                    self.settle()
                return
        self.out.append(data)
        self.buffered += len(data)
        self.pump()
        conn.send_soon()

    def close(self) -> None:
        """The Exchange gives up on the client: a stream cut short is reset; a complete
        response still goes out (settle stops the client's upload if it goes on)."""
        if not self.response_ended:
            self.reset(ErrorCodes.INTERNAL_ERROR)

    def pause_reading(self) -> None:
        # the backend takes no more of the body: the client's window shrinks as it sends
        self.read_paused = True

    def resume_reading(self) -> None:
        self.read_paused = False
        if self.unacked and not self.closed:
            self.conn.h2.acknowledge_received_data(self.unacked, self.id)
            self.unacked = 0
            self.conn.send_soon()

    def hold_body(self, on: bool) -> None:
        (self.pause_reading if on else self.resume_reading)()

    def exchange_done(self, _ex: Exchange, _keep_alive: bool) -> None:
        self.exchange_over = True
        self.ex = None  # the exchange refers to its stream: without this cycle, both go with their last reference
        if not self.closed and not self.response_ended:
            if not self.final:
                self.cancel(ErrorCodes.INTERNAL_ERROR)
            else:
                self.response_ended = True  # a response of unknown length ends with its exchange
                self.pump()
        self.settle()
        self.conn.send_soon()

    # ---- out, within the windows -----------------------------------------------------------------
    def pump(self) -> None:
        if self.closed:
            return
        conn = self.conn
        h = conn.h2
        out = self.out
        sent = 0
        while out and not conn.write_paused:
            data = out[0]
            size = min(h.local_flow_control_window(self.id), h.max_outbound_frame_size)
            if size <= 0:
                break
            if self.offset or len(data) > size:
                piece = data[self.offset:self.offset + size]
                self.offset += len(piece)
                if self.offset == len(data):
                    out.popleft()
                    self.offset = 0
            else:
                piece = out.popleft()
            end = self.response_ended and not out
            if not self._h2(h.send_data, self.id, piece, end):
                return
            sent += len(piece)
            self.end_sent = end
            conn.unsent += len(piece)
            if conn.unsent >= FLUSH_BYTES:
                conn.send()
        self.buffered -= sent
        if self.response_ended and not out and not self.end_sent:
            if not self._h2(h.end_stream, self.id):
                return
            self.end_sent = True
        if out:
            conn.blocked[self.id] = self
            if sent or not self.deadline:  # the client reads: its idle timeout counts from now
                self.arm(self.runtime.gateway.idle_s)
        elif self.id in conn.blocked:
            del conn.blocked[self.id]
        ex = self.ex
        if ex is not None and not ex.done:
            if self.buffered > HIGH_WATER and not self.upstream_paused:
                self.upstream_paused = True
                ex.client_paused(True)
            elif self.upstream_paused and self.buffered < LOW_WATER:
                self.upstream_paused = False
                ex.client_paused(False)
        if self.end_sent:
            self.settle()

    def arm(self, seconds: float) -> None:
        """A deadline `seconds` from now, for the clock to call expire at: most streams (a
        request without a body, answered at once) never need one."""
        clock = self.runtime.clock
        self.deadline = clock.now + seconds
        clock.timed.add(self)

    def _h2(self, send, *args) -> bool:
        """One h2 call on this stream; False when the client reset it meanwhile (the
        StreamReset event that says so comes after the events of the same read)."""
        try:
            send(*args)
            return True
        except h2.exceptions.StreamClosedError:
            self.closed = True
            return False

    # ---- the end ---------------------------------------------------------------------------------
    def settle(self) -> None:
        """Forget the stream once it is over: response out and exchange done (an upload the
        answer made useless is stopped with NO_ERROR, RFC 9113 §8.1), or reset."""
        if self.closed:
            if self.ex is None or self.ex.done:
                self.conn.forget(self)
            return
        if not (self.end_sent and self.exchange_over):
            return
        if not self.request_ended:
            self.cancel(ErrorCodes.NO_ERROR)
            return
        self.closed = True
        self.conn.forget(self)

    def reset(self, code: int) -> None:
        if not self.closed:
            self.closed = True
            try:
                self.conn.h2.reset_stream(self.id, code)
            except h2.exceptions.StreamClosedError:
                pass

    def cancel(self, code: int) -> None:
        """Reset by the edge; the exchange, if still running, learns the client is gone."""
        self.reset(code)
        self.lost()

    def lost(self) -> None:
        """Reset by the client, or its connection gone."""
        self.closed = True
        self.deadline = 0.0
        ex, self.ex = self.ex, None
        if ex is not None and not ex.done:
            ex.client_lost()
        self.conn.forget(self)

    def expire(self) -> None:
        """The clock's call: the client stopped sending its body, or stopped reading."""
        self.deadline = 0.0
        if self.closed:
            return
        ex = self.ex
        if self.out:
            self.cancel(ErrorCodes.CANCEL)
        elif ex is not None and not ex.done and not ex.answered and not self.request_ended:
            ex.abandon_upstream()
            ex.error(408, "request timeout")
        self.conn.send()
