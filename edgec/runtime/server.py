"""The client side: one Protocol per client connection, parsed by httptools.

Requests are answered in order (HTTP/1.1 pipelining): each parsed request becomes an
Exchange in a queue and only the first one writes. Header count and size, body size,
smuggling (Content-Length with Transfer-Encoding, duplicate Content-Length, codings other
than chunked) and slow clients are refused here, before anything reaches a backend.
A connection closed by the edge is closed lingering (nginx's lingering_close): its
writing side first, then what the client still sends is read and dropped for a while, so
that the answer is not lost to a reset.
"""
from __future__ import annotations

import asyncio
import asyncio.protocols  # (the compiled build finds its classes' bases by their modules' names)
import logging
import re
from collections import deque
from typing import Any

import httptools

from . import http
from .exchange import Exchange
from .http import Refused
from .outbox import HeldTransport
from .timers import Clock
# plain Python even in the compiled build (see there)
from .tlsreads import BufferedReads

log = logging.getLogger("edgec.runtime")


# reasons to stop reading a client connection (ClientConnection.hold)
PIPELINED = 1  # a request waits for the answers before it
BODY_HELD = 2  # the backend takes no more of the request body for now


class Listening:
    """What a connection needs to know of the listener that accepted it."""

    __slots__ = ("runtime", "scheme", "port", "hsts", "subject_header")

    def __init__(self, runtime, scheme: str, port: int, hsts: bytes | None = None,
                 subject_header: bytes | None = None):
        self.runtime, self.scheme, self.port = runtime, scheme, port
        self.hsts = hsts  # the Strict-Transport-Security value every response carries
        # the request header (lower case) that carries the client certificate's subject
        self.subject_header = subject_header


def admit(conn, transport) -> None:
    """What every client connection (HTTP/1.1 or HTTP/2) does first: learn its peer and what
    backends are told of it, join the runtime's connections, and go on the clock (idle)."""
    peer = transport.get_extra_info("peername")
    conn.peer = peer = peer[0] if peer else ""
    # what the edge tells backends about an untrusted client: the same for each of its requests
    # (the request's own X-Forwarded-Host value follows)
    conn.forwarded = b"X-Forwarded-For: %s\r\nX-Forwarded-Proto: %s\r\nX-Real-IP: %s\r\nX-Forwarded-Host: " % (
        peer.encode(), conn.listening.scheme.encode(), peer.encode())
    if conn.listening.subject_header is not None:
        conn.subject = client_subject(transport)
    rt = conn.runtime
    rt.connections.add(conn)
    rt.clock.timed.add(conn)
    conn.deadline = rt.clock.now + rt.gateway.idle_s


_UNPRINTABLE = re.compile(rb"[^\x20-\x7e]")


def client_subject(transport) -> bytes | None:
    """The verified client certificate's subject (RFC 4514), or None without one."""
    sslobj = transport.get_extra_info("ssl_object")
    der = sslobj.getpeercert(binary_form=True) if sslobj is not None else None
    if not der:
        return None
    from cryptography import x509
    text = x509.load_der_x509_certificate(der).subject.rfc4514_string().encode("utf-8")
    # a header value holds printable ASCII: every other byte as \XX, as OpenSSL's RFC 2253 output
    # (nginx, Envoy) escapes control and non-ASCII bytes
    return _UNPRINTABLE.sub(lambda m: b"\\%02X" % m.group()[0], text)


class ClientConnection(asyncio.Protocol):
    # what the Exchange writes before a response's body (an HTTP/2 stream sends its head itself)
    head = staticmethod(http.head)

    def __init__(self, listening: Listening):
        self.listening = listening
        self.runtime = listening.runtime
        self.clock: Clock = self.runtime.clock  # the process's, for its life (a compiled read)
        self.transport: Any = None
        self.peer = ""
        self.forwarded = b""
        self.subject: bytes | None = None  # the client certificate's subject, when its listener passes it on
        self.parser: Any = httptools.HttpRequestParser(self)
        self.queue: deque[Exchange] = deque()
        self.reading: Exchange | None = None  # the request being parsed
        self.url = b""
        self.headers: list[tuple[bytes, bytes]] = []
        # the generation's limits this request is read under, as plain ints (a compiled read)
        self.max_line = 0
        self.max_headers = 0
        self.max_head = 0
        self.in_head = False
        self.head_size = 0  # bytes of the head's header lines so far
        self.head_read = 0  # bytes of the reads that were all head (httptools holds an unfinished line)
        self.deferred: Exchange | None = None  # starts once the read that holds its head is parsed
        self.upgrading: Exchange | None = None  # a request that asked for Upgrade, until httptools stops
        self.last = False  # a request after which the connection closes was read: nothing more is parsed
        self.deadline = 0.0
        self.broken = False
        self.closing = False
        self.tunnel: Any = None  # an upgraded connection's other end
        self.write_paused = False
        self.holds = 0  # why reading is paused: PIPELINED | BODY_HELD

    # ---- asyncio.Protocol ------------------------------------------------------------------
    def connection_made(self, transport) -> None:
        self.transport = HeldTransport(transport, self.clock.outbox)
        admit(self, transport)
        if self.runtime.draining:
            self.closing = True

    def data_received(self, data: bytes) -> None:
        if self.tunnel is not None:
            self.tunnel.client_data(data)
            return
        if self.broken:
            return  # refused, or closing after its last request: what more comes is dropped
        in_head = self.in_head
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade as upgrade:
            ex, self.upgrading = self.upgrading, None
            rest = data[upgrade.args[0]:]
            if ex is None:
                self.refuse(400, "unexpected upgrade")
            elif not ex.done:
                ex.upgrade_rest(rest)
            elif not self.broken:  # answered already, without switching: HTTP/1.1 goes on
                self.parser = httptools.HttpRequestParser(self)
                if rest:
                    self.data_received(rest)
        except Refused as refused:
            self.refuse(refused.status, refused.message)
        except httptools.HttpParserError as err:
            self.parse_failed(err)
        if in_head and self.in_head and not self.broken:
            self.head_read += len(data)  # all of it head
            if self.head_read > self.max_head:
                self.refuse(431, "request head too large")
        ex = self.deferred
        if ex is not None:
            self.deferred = None
            ex.start()

    def parse_failed(self, err: httptools.HttpParserError) -> None:
        """httptools stopped. Apart from data_received on purpose: the cause's traceback
        reaches that frame, and a reference back from it would be a cycle holding the read's
        bytes until the cyclic collector (rare in a serving process) comes."""
        cause = err.__cause__ or err.__context__  # an exception raised in a callback
        if isinstance(cause, Refused):
            self.refuse(cause.status, cause.message)
        elif cause is not None:  # a defect of the edge, not of the request: logged, never shown
            log.error("internal error handling a request", exc_info=cause)
            self.refuse(500, "internal error")
        elif self.last:
            pass  # bytes after a request that closes the connection: not a request of it
        elif str(err) == "Invalid HTTP version":
            self.refuse(505, "HTTP version not supported")
        else:
            self.refuse(400, "malformed request")

    def connection_lost(self, exc) -> None:
        self.parser = None  # it holds this protocol: a cycle the cyclic collector would have to find
        rt = self.runtime
        rt.connections.discard(self)
        rt.clock.timed.discard(self)
        self.deadline = 0.0
        if self.tunnel is not None:
            self.tunnel.client_lost()
        for ex in self.queue:
            ex.client_lost()
        self.queue.clear()

    def pause_writing(self) -> None:
        # a slow reader: stop reading the upstream until the client catches up
        self.write_paused = True
        if self.queue:
            self.queue[0].client_paused(True)
        self.deadline = self.clock.now + self.runtime.gateway.idle_s

    def resume_writing(self) -> None:
        self.write_paused = False
        if self.queue:
            self.queue[0].client_paused(False)
        if self.queue:
            self.deadline = 0.0

    def expire(self) -> None:
        """The clock's call: the client was idle, slow to send its head or body, or slow to
        read; or a lingering close is over."""
        self.deadline = 0.0
        if self.in_head and not self.queue and not self.broken:
            if self.parser.get_http_version() == "0.0":
                self.transport.close()  # no HTTP/1 request line came: no status line is understood
            else:
                self.refuse(408, "request timeout")
        else:
            self.transport.close()

    # ---- httptools callbacks -----------------------------------------------------------------
    def on_message_begin(self) -> None:
        self.in_head = True
        self.url = b""
        self.headers = []
        self.head_size = self.head_read = 0
        gw = self.runtime.gateway
        limits = gw.limits
        self.max_line = limits.max_header_bytes
        self.max_headers = limits.max_headers
        self.max_head = gw.max_head_bytes
        self.deadline = self.clock.now + gw.header_s

    def on_url(self, url: bytes) -> None:
        self.url += url
        if len(self.url) > self.max_line:
            raise Refused(414, "request line too long")

    def on_header(self, name: bytes, value: bytes) -> None:
        if not self.in_head:
            return  # trailers of a chunked body are not forwarded
        size = len(name) + len(value) + 4
        if size > self.max_line:
            raise Refused(431, "header line too large")
        self.head_size += size
        if self.head_size > self.max_head:
            raise Refused(431, "request head too large")
        headers = self.headers
        headers.append((name, value))
        if len(headers) > self.max_headers:
            raise Refused(431, "too many headers")

    def on_headers_complete(self) -> None:
        self.in_head = False
        p = self.parser
        ex = Exchange(self, p.get_method().decode(), self.url, self.headers, None, p.should_keep_alive(),
                      p.should_upgrade())
        version = ex.version
        if version != "1.1" and version != "1.0":
            if version == "0.9":  # no status line is understood: closed, as nginx closes after its answer
                self.broken = self.last = True
                self.transport.close()
                return
            raise Refused(505, "HTTP version not supported")
        self.reading = ex
        if ex.refused is not None:
            raise Refused(*ex.refused)
        if ex.upgrade:
            self.upgrading = ex
        self.queue.append(ex)
        if len(self.queue) == 1:
            self.deadline = 0.0
            if ex.length or ex.chunked:
                # a malformed or too large body in the rest of this read is refused before
                # anything reaches a backend
                self.deferred = ex
            else:
                ex.start()
        elif not self.holds & PIPELINED:
            self.hold(PIPELINED, True)  # read no further until the earlier answers are out

    def on_body(self, data: bytes) -> None:
        ex = self.reading
        if ex is not None:
            self.deadline = self.clock.now + self.runtime.gateway.header_s if not ex.answered else 0.0
            ex.body_chunk(data)

    def on_message_complete(self) -> None:
        ex, self.reading = self.reading, None
        if ex is not None:
            if not ex.keep_alive:
                self.broken = self.last = True
            ex.body_end()
            if self.queue and self.queue[0] is ex and ex.answered is False:
                self.deadline = 0.0

    # ---- used by exchanges --------------------------------------------------------------------
    def http_version(self) -> str:
        """The version of the request whose head was just parsed, as httptools gives it."""
        return self.parser.get_http_version()

    def exchange_done(self, ex: Exchange, keep_alive: bool) -> None:
        if self.queue and self.queue[0] is ex:
            self.queue.popleft()
        if self.holds & BODY_HELD:  # the backend that could not take more of the body is done
            self.hold(BODY_HELD, False)
        if not keep_alive or self.closing or self.runtime.draining:
            self.broken = True
            self.linger()
            return
        if self.queue:
            self.queue[0].start()
            return
        if self.holds:
            self.hold(PIPELINED, False)
        if self.reading is None:
            self.deadline = self.clock.now + self.runtime.gateway.idle_s
        elif not self.reading.body_done:
            self.deadline = self.clock.now + self.runtime.gateway.header_s
        if self.tunnel is ex:  # the backend did not switch protocols: HTTP/1.1 goes on
            self.tunnel = None
            self.parser = httptools.HttpRequestParser(self)
            rest, ex.upgrade_buf = ex.upgrade_buf, None
            if rest:
                self.data_received(b"".join(rest))

    def hold(self, reason: int, on: bool) -> None:
        """Reading pauses while any reason holds it, and resumes when none does."""
        holds = self.holds | reason if on else self.holds & ~reason
        if bool(holds) != bool(self.holds) and not self.broken:
            (self.transport.pause_reading if holds else self.transport.resume_reading)()
        self.holds = holds

    def hold_body(self, on: bool) -> None:
        """The backend's connection is full: the client's body waits in the client's socket."""
        self.hold(BODY_HELD, on)

    def linger(self) -> None:
        """Close: the answer is sent and the writing side shut at once; what the client still
        sends is read and dropped until it closes or for header_timeout at most."""
        transport = self.transport
        if not transport.can_write_eof():
            transport.close()
            return
        transport.write_eof()
        transport.resume_reading()
        self.deadline = self.clock.now + self.runtime.gateway.header_s

    def refuse(self, status: int, message: str) -> None:
        """A request the edge will not parse further: answer it in its turn and close."""
        self.broken = True
        self.transport.pause_reading()
        # nothing more is parsed: the head read so far is not kept while the connection lingers
        self.parser = None
        self.headers = []
        self.url = b""
        ex = self.reading
        if ex is not None and ex is self.deferred:  # never started: answered as if no body had come
            self.deferred = self.reading = None
            self.queue.clear()
            ex = None
        if ex is not None and self.queue and self.queue[0] is ex and not ex.answered:
            # its body turned out malformed or too large: whatever the backend got is abandoned
            ex.abandon_upstream()
            ex.keep_alive = False
            ex.error(status, message)
            return
        gw = self.runtime.gateway
        body, ctype = http.error_body(status, message)
        data = http.head(status, [(b"content-type", ctype), (b"content-length", b"%d" % len(body)),
                                  (b"connection", b"close")]) + body
        if self.queue:
            self.queue[-1].then_close(data)
        else:
            gw.metrics.observe("", status, 0.0)
            self.transport.write(data)
            self.linger()


class TlsClientConnection(ClientConnection, BufferedReads):
    """HTTP/1.1 on a TLS listener."""
