"""Buffered sub-requests over the upstream pools: response aggregation (parts fetched in
parallel and merged into one JSON object) and request mirroring (copies whose answers are
dropped). These are coroutines: they are the slow path, not the proxy's data path."""
from __future__ import annotations

import asyncio
import json
import logging
import time

from .. import ir

log = logging.getLogger("edgec.runtime")


class UpstreamError(Exception):
    def __init__(self, kind: str):
        super().__init__(kind)
        self.kind = kind


class Fetch:
    """An upstream sink that collects the whole response into a future: the body up to
    `max_body` bytes (more fails the fetch as "too_large"), or none when `max_body` is None
    (a health check or a mirror wants only the status)."""

    body_done = True  # its request went out whole, in one write

    def __init__(self, future: asyncio.Future, max_body: int | None = None):
        self.future = future
        self.max_body = max_body
        self.size = 0
        self.conn = None
        self.status = 0
        self.headers = []
        self.body: list[bytes] = []

    def on_head(self, conn, status, headers):
        self.conn = conn
        self.status, self.headers = status, headers

    def on_data(self, data):
        if self.max_body is None:
            return
        self.size += len(data)
        if self.size > self.max_body:
            self.conn.abandon()
            self.on_fail(self.conn, "too_large")
            return
        self.body.append(data)

    def on_end(self, conn):
        if not self.future.done():
            self.future.set_result((self.status, self.headers, b"".join(self.body)))

    def on_fail(self, conn, kind):
        if not self.future.done():
            self.future.set_exception(UpstreamError(kind))

    def upstream_paused(self, paused):
        pass

    def flush(self):
        pass


async def fetch(upstream, request: bytes, head_only: bool, timeout_s: float | None, max_body: int | None = None):
    """Send `request` (complete: head and whole body) to one server of `upstream`; the answer's
    body is kept up to `max_body` bytes (see Fetch). `timeout_s` bounds the wait for the answer
    (None: the caller's own deadline, which may cancel the fetch at any point)."""
    state = upstream.balancer.choose(None, None)
    if state is None:
        raise UpstreamError("connect")
    state.active += 1
    conn = None
    try:
        conn = state.pool.get() or await state.pool.connect()
        future = asyncio.get_running_loop().create_future()
        conn.send(Fetch(future, max_body), request, head_only, upstream.ir.timeouts.read_ms / 1000)
        result = await asyncio.wait_for(future, timeout_s) if timeout_s else await future
        state.succeeded()
        return result
    except asyncio.TimeoutError:
        if conn is not None:
            conn.abandon()
        raise UpstreamError("timeout") from None
    except asyncio.CancelledError:
        if conn is not None:
            conn.abandon()  # its answer will never be read: the connection cannot go back to the pool
        raise
    except OSError:
        state.failed(upstream.ir.passive, time.monotonic())
        raise UpstreamError("connect") from None
    except UpstreamError as err:
        if err.kind != "too_large":  # the server answered: a large answer is not a failing server
            state.failed(upstream.ir.passive, time.monotonic())
        raise
    finally:
        state.active -= 1


def _head(method: str, path: str, host: str, header_lines: bytes) -> bytes:
    return f"{method} {path} HTTP/1.1\r\nHost: {host}\r\n".encode("latin-1") + header_lines + b"\r\n"


async def aggregate(gw, parts: tuple[ir.AggregatePart, ...], host: str, header_lines: bytes) -> tuple[int, bytes]:
    """→ (status, JSON body). All parts answered 2xx with JSON: 200 and {name: body}. Else 502
    (504 when every failure is a timeout) and the same object, failed parts null, plus
    "errors": {name: {"error": timeout|unavailable|too_large|status|invalid_json, "status": N}}.
    A part's body is held in memory, at most the edge's max_body."""

    async def one(part: ir.AggregatePart):
        up = gw.upstreams[part.upstream]
        try:
            # the part's timeout is one deadline over connecting to the upstream and its answer
            async with asyncio.timeout(part.timeout_ms / 1000):
                status, _, body = await fetch(up, _head(part.method, part.path, host, header_lines),
                                              part.method == "HEAD", None, gw.limits.max_body_bytes)
        except TimeoutError:
            return None, {"error": "timeout", "status": 504}
        except UpstreamError as err:
            if err.kind == "timeout":
                return None, {"error": "timeout", "status": 504}
            return None, {"error": "too_large" if err.kind == "too_large" else "unavailable", "status": 502}
        if not 200 <= status < 300:
            return None, {"error": "status", "status": status}
        try:
            return json.loads(body) if body else None, None
        except ValueError:
            return None, {"error": "invalid_json", "status": 502}

    results = await asyncio.gather(*(one(p) for p in parts))
    merged: dict = {}
    errors: dict = {}
    for part, (value, error) in zip(parts, results):
        merged[part.name] = value
        if error is not None:
            errors[part.name] = error
    if not errors:
        return 200, json.dumps(merged).encode()
    merged["errors"] = errors
    status = 504 if all(e["error"] == "timeout" for e in errors.values()) else 502
    return status, json.dumps(merged).encode()


def mirror_request(gw, upstream: str, method: str, path: str, request: bytes) -> None:
    """Send a copy of a request (head and whole body); its answer and its failures only reach
    the log."""
    up = gw.upstreams[upstream]

    async def send():
        try:
            await fetch(up, request, method == "HEAD", up.ir.timeouts.read_ms / 1000)
        except UpstreamError as err:
            log.debug("mirror to %s %s: %s", upstream, path, err.kind)
    task = asyncio.ensure_future(send())
    gw.background.add(task)
    task.add_done_callback(gw.background.discard)

