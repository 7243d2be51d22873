"""Upstream side: one Protocol per connection to a server, parsed by httptools, and a
per-server pool of idle keep-alive connections.

A connection serves one request at a time and reports to its `sink` (an Exchange, or a
buffered Fetch): on_head(status, headers), on_data(bytes), on_end(), and
on_fail(kind) with kind "reset" or "timeout". Connecting is the only coroutine.
"""
from __future__ import annotations

import asyncio
import asyncio.protocols  # (the compiled build finds its classes' bases by their modules' names)
import logging
import ssl
import time
from typing import Any

import httptools

from .. import ir
from .outbox import HeldTransport

log = logging.getLogger("edgec.runtime")

# a response head larger than this is refused (502), as nginx refuses one larger than
# proxy_buffer_size ("upstream sent too big header"), but with room for large cookies
MAX_RESPONSE_HEAD = 64 * 1024


class UpstreamConnection(asyncio.Protocol):
    __slots__ = ("pool", "transport", "parser", "sink", "headers", "reused", "head_only", "got_head", "head_bytes",
                 "idle_since", "upgraded", "deadline", "read_timeout", "lost")

    def __init__(self, pool: "Pool"):
        self.pool = pool
        self.transport: Any = None
        self.parser = httptools.HttpResponseParser(self)
        self.sink: Any = None
        self.headers: list = []
        self.reused = False
        self.head_only = False
        self.got_head = False
        self.head_bytes = 0  # bytes read while the response head is incomplete
        self.idle_since = 0.0
        self.lost = False
        self.upgraded = False
        self.deadline = 0.0
        self.read_timeout = 0.0

    # ---- asyncio.Protocol ----------------------------------------------------------------
    def connection_made(self, transport):
        self.transport = HeldTransport(transport, self.pool.clock.outbox)
        self.pool.clock.timed.add(self)

    def data_received(self, data: bytes) -> None:
        sink = self.sink
        if self.upgraded:
            if sink is not None:
                sink.on_data(data)
            return
        if sink is None:  # a server must not talk on an idle connection
            self.transport.close()
            return
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade as upgrade:
            rest = data[upgrade.args[0]:]
            if rest and self.sink is not None:
                self.sink.on_data(rest)
            return
        except httptools.HttpParserError as err:
            cause = err.__cause__ or err.__context__
            if cause is not None:  # raised by the edge's own callback: a defect, logged
                log.error("internal error relaying a response", exc_info=cause)
            self._fail("reset")
            return
        if sink is self.sink:  # the response goes on: the read timeout counts from this read
            if not self.got_head:  # every byte so far is head: a server must not send it forever
                self.head_bytes += len(data)
                if self.head_bytes > MAX_RESPONSE_HEAD:
                    log.warning("upstream %s:%s sent a response head over %d bytes", self.pool.server.host,
                                self.pool.server.port, MAX_RESPONSE_HEAD)
                    self._fail("reset")
                    return
            sink.flush()
            if self.read_timeout:
                self.deadline = time.monotonic() + self.read_timeout
        if self.head_only and self.got_head and self.sink is sink:
            # httptools cannot be told a response to HEAD has no body: end it here
            self.parser = httptools.HttpResponseParser(self)
            self.on_message_complete()

    def connection_lost(self, exc) -> None:
        self.lost = True
        self.pool.forget(self)
        self.pool.clock.timed.discard(self)
        if self.sink is not None:
            if self.upgraded:
                sink, self.sink = self.sink, None
                sink.on_end(self)
            elif self.got_head and not self.parser.should_keep_alive() and not self.head_only:
                self.on_message_complete()  # the body was delimited by the close
            else:
                self._fail("reset")

    def pause_writing(self):
        if self.sink is not None:
            self.sink.upstream_paused(True)

    def resume_writing(self):
        if self.sink is not None:
            self.sink.upstream_paused(False)

    # ---- httptools ------------------------------------------------------------------------
    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name, value))

    def on_headers_complete(self) -> None:
        status = self.parser.get_status_code()
        headers, self.headers = self.headers, []
        if status < 200 and status != 101:
            return  # interim responses (100 Continue) are the edge's business, not the client's
        self.got_head = True
        if status == 101:
            self.upgraded = True  # from here on the bytes are the tunnel's, not HTTP
            self.read_timeout = self.deadline = 0.0
        self.sink.on_head(self, status, headers)

    def on_body(self, data: bytes) -> None:
        if self.sink is not None:
            self.sink.on_data(data)

    def on_message_complete(self) -> None:
        if not self.got_head or self.upgraded:
            return  # the end of an interim response, or the head of a tunnel
        sink, self.sink = self.sink, None
        self.got_head = False
        self.deadline = 0.0
        # a server may answer before it has read the whole request body: what is left of the
        # body would then arrive ahead of the next request, so such a connection is not reused
        keep = (self.parser.should_keep_alive() or self.head_only) and (sink is None or sink.body_done)
        self.head_only = False
        # back in the pool before the sink hears of it, so that its next request can reuse it
        if keep and not self.transport.is_closing():
            self.pool.release(self)
        elif sink is not None and not sink.body_done:
            self.transport.abort()  # the rest of the body is unwanted: drop it, do not flush it
        else:
            self.transport.close()
        if sink is not None:
            sink.on_end(self)

    # ---- used by sinks --------------------------------------------------------------------
    def send(self, sink, data: bytes, head_only: bool, read_timeout_s: float) -> None:
        self.sink = sink
        self.head_only = head_only
        self.got_head = False
        self.head_bytes = 0
        self.read_timeout = read_timeout_s
        self.deadline = time.monotonic() + read_timeout_s if read_timeout_s else 0.0
        self.transport.write(data)
        if self.lost:  # closed before its first request (a server that refused the edge's certificate)
            asyncio.get_running_loop().call_soon(self._fail, "reset")

    def abandon(self) -> None:
        """The sink no longer wants this response: the connection cannot be reused."""
        self.sink = None
        self.deadline = 0.0
        if self.transport is not None:
            self.transport.close()

    def expire(self) -> None:  # called by the clock when deadline passes
        self._fail("timeout")

    def _fail(self, kind: str) -> None:
        sink, self.sink = self.sink, None
        self.deadline = 0.0
        if self.transport is not None:
            self.transport.close()
        if sink is not None:
            sink.on_fail(self, kind)


def tls_context(tls: ir.UpstreamTls) -> ssl.SSLContext:
    """The client side of TLS to an upstream's servers (an unreadable file: OSError)."""
    ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=tls.ca)
    if not tls.verify:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    if tls.cert:
        ctx.load_cert_chain(tls.cert, tls.key)
    ctx.set_alpn_protocols(["http/1.1"])
    return ctx


class Pool:
    """Idle keep-alive connections to one server, newest first (the warmest socket)."""

    def __init__(self, server: ir.Server, keepalive: ir.Keepalive, timeouts: ir.UpstreamTimeouts, clock,
                 tls: ssl.SSLContext | None = None, sni: str | None = None):
        self.server = server
        self.tls = tls
        # the name sent and checked: the one written, else the server's host (an address is checked
        # against the certificate's IP addresses and sends no SNI)
        self.sni = (sni or server.host) if tls is not None else None
        self.max_idle = keepalive.connections
        self.idle_s = keepalive.idle_timeout_ms / 1000
        self.connect_s = timeouts.connect_ms / 1000
        self.idle: list[UpstreamConnection] = []
        self.clock = clock
        self.closed = False

    def get(self) -> UpstreamConnection | None:
        idle = self.idle
        while idle:
            conn = idle.pop()
            if not conn.transport.is_closing():
                conn.reused = True
                return conn
        return None

    def release(self, conn: UpstreamConnection) -> None:
        if self.closed or len(self.idle) >= self.max_idle:
            conn.transport.close()
            return
        conn.idle_since = self.clock.now
        self.idle.append(conn)

    def forget(self, conn: UpstreamConnection) -> None:
        try:
            self.idle.remove(conn)
        except ValueError:
            pass

    async def connect(self) -> UpstreamConnection:
        loop = asyncio.get_running_loop()
        _, conn = await asyncio.wait_for(
            loop.create_connection(lambda: UpstreamConnection(self), self.server.host, self.server.port,
                                   ssl=self.tls, server_hostname=self.sni),
            self.connect_s)
        return conn

    def sweep(self, now: float) -> None:
        """Close connections idle for longer than the upstream's keep-alive idle time."""
        if self.idle and now - self.idle[0].idle_since > self.idle_s:
            keep = [c for c in self.idle if now - c.idle_since <= self.idle_s]
            for c in self.idle:
                if now - c.idle_since > self.idle_s:
                    c.transport.close()
            self.idle[:] = keep

    def close(self) -> None:
        self.closed = True
        for c in self.idle:
            c.transport.close()
        self.idle.clear()
