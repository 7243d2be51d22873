"""One request through the edge: routing decision, policy steps, then a local answer or a
forward to an upstream server, with retries on another server, and the response relayed
back (streamed, re-framed, decorated).

Everything here runs in callbacks. A step that must wait (a JWKS fetch, a bcrypt hash, a
Redis round trip, a new upstream connection, an aggregation) is the only place a
coroutine is used, and the exchange continues from its done-callback.
"""
from __future__ import annotations

import asyncio
import itertools
import logging
import os
import random
import re
import time
from typing import Any

from .. import ir, routing
from . import http
from .auth import Allow, Reject
from .plan import Plan
from .upstream import UpstreamConnection

log = logging.getLogger("edgec.runtime")

_REQUEST_IDS = itertools.count(1)
_NEW_ID = os.urandom(6).hex().encode() + b"%08x"  # this process's prefix, then the count
_SANE_ID = re.compile(ir.SANE_REQUEST_ID.pattern.encode("ascii")).fullmatch

# request headers the edge sets itself, or that describe only the client's connection
_DROP_REQUEST = http.HOP_BY_HOP | {b"content-length", b"expect", b"x-forwarded-for", b"x-forwarded-proto",
                                   b"x-forwarded-host", b"x-real-ip", b"x-request-id", b"host"}
# with tracing, the edge passes on its own span in their place
_DROP_TRACED = _DROP_REQUEST | {b"traceparent", b"tracestate"}
_FRAMING = frozenset((b"host", b"content-length", b"transfer-encoding", b"expect"))
_DROP_RESPONSE = http.HOP_BY_HOP | http.HIDDEN_RESPONSE | {b"content-length"}
_NO_BODY = (204, 304)
# The last answer's fields (not a 101's), those of them passed on, and its Content-Length: a server
# sends the same fields answer after answer (nginx even the same Date for a second), and comparing two
# lists of them is done in C where sorting them out is a Python loop over the fields
_KEPT: list[Any] = [None, (), None]
# The last request's fields and what Exchange._fields made of them: clients send the same fields
# request after request (an HTTP/2 connection the very same list: h2conn keeps what h2fields made
# of a repeated block), and comparing two lists of them is done in C. Exchanges share the list and
# the dict, which only _vouched changes, on a copy.
_SEEN: list[Any] = [None, None]
_IDEMPOTENT = frozenset(("GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"))
# as nginx answers them: TRACE would echo the request (cookies included) back, CONNECT asks
# for a tunnel the edge does not make
_REFUSED_METHODS = {"TRACE": (405, "method not allowed"), "CONNECT": (400, "CONNECT is not served")}

# steps of the policy pipeline, in order
_AUTH, _LIMIT, _ACTION = 0, 1, 2


def _sane_id(given: bytes) -> bool:
    """Whether the client's X-Request-Id is one the edge passes on (else it makes its own)."""
    return _SANE_ID(given) is not None


class Exchange:
    # at most 60 slots: the object (and the collector's header before it) then fits in 512 bytes,
    # which Python's small-object allocator serves; above that each request's Exchange was a
    # malloc and a free
    __slots__ = ("_headers", "_hmap", "_host", "answered", "attempt_t0", "body_done", "body_size", "caching", "cache_key", "cache_status", "chunked", "claims", "client_chunked", "client_ip", "conn", "connecting", "copy", "deadline", "decision", "discard", "done", "expect", "gw", "hash_key", "hb", "head", "host_bytes", "keep_alive", "length", "method", "mirrors", "out", "path", "pending", "plan", "policy", "query", "raw", "read_s", "refused", "request_id", "retry", "route", "sent", "sent_continue", "set_cookie", "state", "status", "sticky_id", "t0", "then_close_data", "trace", "tried", "tries", "up", "upgrade", "upgrade_buf", "upstream", "url", "version")

    def __init__(self, conn, method: str, url: bytes, raw_headers, version: str | None, keep_alive: bool,
                 upgrade: bool):
        """`version` None: an HTTP/1 request, whose version `conn.http_version()` tells."""
        self.conn = conn
        self.method = method
        self.url = url
        self.keep_alive = keep_alive
        self.upgrade = upgrade
        self.refused: tuple[int, str] | None = None
        self.answered = False  # a response head went out
        self.done = False
        self.body_done = False
        self.body_size = 0
        self.pending: list[bytes] = []
        self.copy: list[bytes] | None = None
        self.up: UpstreamConnection | None = None  # the upstream connection in use
        self.state: Any = None  # the server (balance.ServerState) being tried
        self.connecting: Any = None
        self.status = 0
        self.sent = 0
        self.then_close_data: bytes | None = None
        self.caching: tuple[list, list[bytes]] | None = None  # (the answer's headers, its body's pieces) kept for the cache
        self.cache_status: bytes | None = None
        self.set_cookie: bytes | None = None
        self.client_chunked = False
        self.discard = False
        self.sent_continue = False
        self.deadline = 0.0
        self.gw: Any = None  # set when the exchange starts (its turn on the connection)
        self.trace: Any = None  # the request's spans (tracing.RequestTrace) when the edge traces
        self.t0 = 0.0
        self.decision: Any = None
        self.plan: Plan | None = None
        self.policy: Any = None
        self.claims: Any = None
        self.route = ""
        self.mirrors: Any = None  # mirror upstreams waiting for the request body
        self.upgrade_buf: list[bytes] | None = None  # the client's bytes for a tunnel not yet switched
        self.out: list[bytes] = []  # response bytes gathered within one upstream read, written at once
        chunked = False
        seen = _SEEN
        if raw_headers == seen[0]:
            raw, hb, host, length, expect = seen[1]
        else:
            raw, hb, host, length, chunked, expect, refused = self._fields(raw_headers, version)
            self.refused = refused
            if refused is None and not chunked:  # (whether chunked is refused depends on the version)
                seen[:] = raw_headers, (raw, hb, host, length, expect)
        if version is None:
            # httptools formats the version as text on every call (a third of a microsecond); llhttp
            # reads only 0.9, 1.0, 1.1 and 2.0, and of those only 1.1 keeps the connection open
            # unless a Connection header asks: without one, keeping it open says 1.1
            version = "1.1" if keep_alive and b"connection" not in hb else conn.http_version()
        self.version = version
        if host is None and version == "1.1":
            self.refused = (400, "Host header missing")
        if method != "GET" and method in _REFUSED_METHODS:
            self.refused = _REFUSED_METHODS[method]
        self.host_bytes = host or b""
        self._host: str | None = None
        self.raw = raw
        self.hb = hb
        self._headers: list[tuple[str, str]] | None = None
        self._hmap: dict[str, str] | None = None
        self.length = length
        self.chunked = chunked
        self.expect = expect

    def _fields(self, raw_headers, version: str | None) -> tuple:
        """The request's fields sorted out: (name, value, lower-case name) in order, Host apart;
        lower-case name → value (repeated lines joined with ","); the Host, Content-Length,
        whether it is chunked and whether it expects 100-continue; and the answer to a field the
        edge refuses, (status, reason), or None."""
        refused: tuple[int, str] | None = None
        host = None
        length = None
        chunked = False
        expect = False
        raw = []
        hb: dict[bytes, bytes] = {}
        for n, v in raw_headers:
            # a name with an underscore is dropped at the edge (routing.without_underscores); asked
            # with the byte's value, since `b"_" in n` first tries b"_" as an int and raises inside
            if 0x5F in n:
                continue
            low = n.lower()
            if low in _FRAMING:
                if low == b"host":
                    if host is not None:
                        refused = (400, "more than one Host header")
                    elif not v:
                        refused = (400, "invalid Host header")  # a non-empty one is routing's to judge
                    host = v
                    continue
                if low == b"content-length":
                    length = int(v)  # httptools has checked it is one number
                elif low == b"transfer-encoding":
                    if v.strip().lower() != b"chunked":
                        refused = (501, "only the chunked transfer coding is supported")
                    elif (version or self.conn.http_version()) == "1.0":
                        refused = (400, "Transfer-Encoding in an HTTP/1.0 request")  # RFC 9112 §6.1
                    chunked = True
                elif v.strip().lower() != b"100-continue":  # expect
                    refused = (417, "unsupported expectation")
                else:
                    expect = True
            raw.append((n, v, low))
            if low in hb:
                hb[low] += b"," + v
            else:
                hb[low] = v
        return raw, hb, host, length, chunked, expect, refused

    # the request's headers as text, made only when a policy or a header condition reads them
    @property
    def headers(self) -> list[tuple[str, str]]:
        if self._headers is None:
            self._headers = [(n.decode("latin-1"), v.decode("latin-1")) for n, v, _ in self.raw]
        return self._headers

    @property
    def hmap(self) -> dict[str, str]:
        if self._hmap is None:
            self._hmap = {k.decode("latin-1"): v.decode("latin-1") for k, v in self.hb.items()}
        return self._hmap

    # the Host as text, made only when routing decides afresh, a log line or another lookup reads it
    @property
    def host(self) -> str:
        if self._host is None:
            self._host = self.host_bytes.decode("latin-1")
        return self._host

    @host.setter
    def host(self, host: str) -> None:
        self._host = host

    def header(self, name: bytes) -> str | None:
        v = self.hb.get(name)
        return None if v is None else v.decode("latin-1")

    # ---- the client side --------------------------------------------------------------------
    def start(self) -> None:
        conn = self.conn
        self.gw = gw = conn.runtime.gateway
        if gw.recording:
            self.t0 = time.monotonic()
        self.client_ip = gw.client_ip(conn.peer, self) if gw.trusted else conn.peer
        given = self.hb.get(b"x-request-id")
        self.request_id = (given if given is not None and _sane_id(given)
                           else _NEW_ID % next(_REQUEST_IDS))
        if gw.tracer is not None:
            self.trace = gw.tracer.request(self.method, conn.listening.scheme, self.url.decode("latin-1"),
                                           self.hb.get(b"traceparent"), self.hb.get(b"tracestate"), self.client_ip)
        if gw.access is not None and not gw.access(self.client_ip):
            return self.error(403, "address not allowed")
        lst = conn.listening
        if lst.subject_header is not None:  # before routing: a route may match on it
            self._vouched((lst.subject_header,), [(lst.subject_header, conn.subject)] if conn.subject else [])
        url = self.url
        decisions = gw.decisions
        # an origin-form target ("/..."): the Host header names the host, and a target seen before
        # on this listener, method and host has its plan already
        key = (lst.port, self.method, self.host_bytes, url) if url[:1] == b"/" else None
        plan: Plan | None = decisions.known.get(key) if key is not None else None
        if plan is None:
            target = url.decode("latin-1")
            if key is not None:
                path, _, query = target.partition("?")
            else:
                host, path, query = routing.target_parts(target, self.host)
                if host is not self.host:  # an absolute-form target: its host is the request's
                    self.host = host
                    self.host_bytes = host.encode("latin-1")
                    if not host:
                        return self.error(400, "invalid Host header")
            bare = not query and target[-1:] == "?"  # "/x?": the empty query goes on as sent
            plan = decisions.decide(self.method, lst.scheme, self.host, lst.port, path, query, self, bare, key)
        self.path, self.query = plan.path, plan.query
        if gw.metrics_path is not None and plan.path == gw.metrics_path and self.method in ("GET", "HEAD"):
            self.route = "metrics"
            self.answer(200, [(b"content-type", b"text/plain; version=0.0.4; charset=utf-8")],
                        gw.metrics.render())
            return
        self.plan = plan
        self.decision = plan.decision
        d = self.decision  # Any: which of its fields hold what depends on its action
        self.route = plan.route
        # a body over max_body is refused once the request is routed, as nginx refuses it once the
        # location is found (with the route's response headers): by its Content-Length, unread, or
        # by what came in the read that held the head (body_chunk)
        length = self.length
        if plan.direct and (length is None or length <= gw.limits.max_body_bytes):  # nothing to check
            self.policy = plan.policy
            return self._forward()
        if d.action == "listener_redirect":
            self.answer(d.status, [(b"location", d.location.encode("latin-1"))], b"")
            return
        self.policy = plan.policy
        if length is not None and length > gw.limits.max_body_bytes and d.action != "bad_request":
            self.keep_alive = False
            return self.error(413, "request body too large")
        if d.route is None or d.action in ("not_found", "no_backend", "bad_request"):
            if d.action == "bad_request":
                self.keep_alive = False  # as nginx: a malformed request ends its connection
                return self.error(d.status, d.reason)
            self.error(d.status)
            return
        if self.policy.access is not None and not self.policy.access(self.client_ip):
            return self.error(403, "address not allowed")
        cors = self.policy.cors
        if cors is not None and cors.is_preflight(self.method, self.hmap):
            origin = self.hmap["origin"]
            if cors.allowed(origin):
                self.answer(204, cors.preflight(self.hmap), b"")
            else:
                self.error(403, "origin not allowed")
            return
        self.step(_AUTH)

    def step(self, step: int) -> None:
        """Run the policy steps from `step` on; an awaiting step resumes here when it is done."""
        if self.done:
            return
        pol = self.policy
        if step <= _AUTH and pol.auth is not None:
            verdict = pol.auth.check(self)
            if type(verdict) is Allow:
                self._allowed(verdict)
            elif type(verdict) is Reject:
                return self.error(verdict.status, verdict.message, verdict.headers)
            else:
                return self._wait(verdict, _AUTH)
        if step <= _LIMIT and pol.limiter is not None:
            allowed = pol.limiter.take(self._limit_key())
            if allowed is False:
                return self._limited()
            if allowed is not True:
                return self._wait(allowed, _LIMIT)
        self._act()

    def _authorized(self, verdict) -> bool:
        if isinstance(verdict, Reject):
            self.error(verdict.status, verdict.message, verdict.headers)
            return False
        self._allowed(verdict)
        return True

    def _allowed(self, verdict: Allow) -> None:
        self.claims = verdict.claims
        if verdict.replaces:
            self._vouched(verdict.replaces, verdict.headers)

    def _vouched(self, names, lines) -> None:
        """The request's headers `names` (lower case) replaced by `lines`: what the edge itself
        vouches for (a verified identity), never what the client sent under those names."""
        gone = frozenset(names)
        self.raw = [h for h in self.raw if h[2] not in gone]
        hb = self.hb = dict(self.hb)  # a copy: the parsed fields may be another exchange's too (_SEEN)
        for name in gone:
            hb.pop(name, None)
        for name, value in lines:
            low = name.lower()
            self.raw.append((name, value, low))
            hb[low] = hb[low] + b"," + value if low in hb else value
        self._headers = self._hmap = None

    def _wait(self, awaitable, step: int) -> None:
        task = asyncio.ensure_future(awaitable)
        task.add_done_callback(lambda t: self._resume(t, step))

    def _resume(self, task, step: int) -> None:
        failed = task.cancelled() or task.exception() is not None
        if failed and not task.cancelled():
            log.error("internal error in a policy step", exc_info=task.exception())
        if self.done:
            return
        if failed:
            return self.error(500, "internal error")
        result = task.result()
        if step == _AUTH:
            if self._authorized(result):
                self.step(_LIMIT)
        elif step == _LIMIT:
            if result:
                self._act()
            else:
                self._limited()

    def _limited(self) -> None:
        limit = self.decision.rate_limit
        self.error(limit.status, "rate limit exceeded",
                   [(n.lower().encode(), v.encode()) for n, v in limit.refusal_headers(self.route)])

    def _limit_key(self) -> str:
        key = self.decision.rate_limit.key
        value = None
        if key.source == "header":
            value = self.header(key.name.lower().encode("latin-1"))
        elif key.source == "claim":
            claims = self.claims or {}
            value = claims.get(key.name)
            value = None if value is None else str(value)
        # a request without the key's value is counted by its client address, never unlimited
        return f"{key.source}:{value}" if value is not None else f"client_ip:{self.client_ip}"

    def _act(self) -> None:
        d = self.decision
        if d.action == "redirect":
            self.answer(d.status, [(b"location", d.location.encode("latin-1"))], b"")
        elif d.action == "respond":
            self.answer(d.status, [(b"content-type", d.content_type.encode("latin-1"))],
                        d.body.encode("utf-8"))
        elif d.action == "aggregate":
            from .aggregate import aggregate
            headers = self._forward_headers()
            if self.trace is not None:
                headers += self.trace.header_lines()
            self._wait_aggregate(aggregate(self.gw, d.parts, self.host, headers))
        else:
            self._forward()

    def _wait_aggregate(self, coro) -> None:
        task = asyncio.ensure_future(coro)

        def done(t):
            failed = t.cancelled() or t.exception() is not None
            if failed and not t.cancelled():
                log.error("internal error in an aggregation", exc_info=t.exception())
            if self.done:
                return
            if failed:
                return self.error(500, "internal error")
            status, body = t.result()
            self.answer(status, [(b"content-type", b"application/json")], body)
        task.add_done_callback(done)

    # ---- request body ---------------------------------------------------------------------------
    def body_chunk(self, data: bytes) -> None:
        self.body_size += len(data)
        if self.body_size > self.conn.runtime.gateway.limits.max_body_bytes:
            self.keep_alive = False
            if self.gw is None:  # not started: refused once routed (start), nothing was sent anywhere
                self.length = self.body_size  # (a chunked body: what came so far stands for its length)
                return
            if not self.answered and not self.done:
                self.abandon_upstream()
                self.error(413, "request body too large")
            elif not self.done:  # a response is half sent: the connection is cut
                self.conn.transport.close()
            return
        if self.done and self.mirrors is None:
            return  # answered already (the backend did not wait for the body): nothing takes it
        if self.copy is not None:
            self.copy.append(data)
        up = self.up
        if up is not None and up.sink is self:
            up.transport.write(http.chunk(data) if self.chunked else data)
        elif self.copy is None:
            self.pending.append(data)

    def body_end(self) -> None:
        self.body_done = True
        if self.mirrors is not None:
            self._send_mirrors()
        up = self.up
        if self.chunked and up is not None and up.sink is self:
            up.transport.write(http.LAST_CHUNK)

    def upgrade_rest(self, rest: bytes) -> None:
        """The client's bytes after an Upgrade request head belong to the tunnel."""
        self.conn.tunnel = self
        if rest:
            self.client_data(rest)

    def client_data(self, data: bytes) -> None:
        up = self.up
        if up is not None and up.upgraded:
            up.transport.write(data)
        else:
            # the protocol has not switched (it may not): held, and no more read, until it has
            if self.upgrade_buf is None:
                self.upgrade_buf = []
            self.upgrade_buf.append(data)
            self.conn.hold_body(True)

    def client_lost(self) -> None:
        if self.gw is None:
            self.done = True  # a pipelined request that never had its turn
            return
        if not self.done:
            self.done = True
            self.keep_alive = False
            self.abandon_upstream()
            self._record(499 if not self.answered else self.status)

    def abandon_upstream(self) -> None:
        if self.connecting is not None:
            self.connecting.cancel()
            self.connecting = None
        up, self.up = self.up, None
        if up is not None and up.sink is self:
            up.abandon()
        if self.state is not None:
            self._let_go(self.state)
            self.state = None
        self._untime()

    def _untime(self) -> None:
        """Off the clock (a whole-request deadline is the only reason an exchange is on it)."""
        if self.deadline:
            self.deadline = 0.0
            self.gw.clock.timed.discard(self)

    def client_paused(self, paused: bool) -> None:
        up = self.up
        if up is not None and up.transport is not None:
            (up.transport.pause_reading if paused else up.transport.resume_reading)()

    def upstream_paused(self, paused: bool) -> None:
        self.conn.hold_body(paused)

    def then_close(self, data: bytes) -> None:
        """The connection broke after this request: send `data` after the answer, then close."""
        self.keep_alive = False
        self.then_close_data = data

    # ---- answering ------------------------------------------------------------------------------
    def error(self, status: int, message: str | None = None, headers=()) -> None:
        body, ctype = http.error_body(status, message)
        self.answer(status, [(b"content-type", ctype), *headers], body)

    def answer(self, status: int, headers: list, body: bytes) -> None:
        """A response the edge makes itself, complete in `body`: a refusal on a route carries the
        route's response header operations as its other answers do (routing.Decision)."""
        if self.done:
            return
        if self.expect and not self.body_done:
            self.keep_alive = False  # the client may or may not send the body it announced
        headers = self._decorate(headers)
        headers.append((b"content-length", b"%d" % len(body)))
        self.status = status
        data = self.conn.head(status, headers)
        if self.method != "HEAD" and status not in _NO_BODY:
            data += body
        self.answered = True
        self.conn.transport.write(data)
        self.sent = len(body)
        self.finish()

    def _decorate(self, headers: list) -> list:
        pol = self.policy  # None until a route has taken the request
        if pol is not None and pol.response_ops is not None:
            pairs = routing.apply_header_ops(pol.response_ops,
                                             [(n.decode("latin-1"), v.decode("latin-1")) for n, v in headers])
            headers = [(n.encode("latin-1"), v.encode("latin-1")) for n, v in pairs]
        if pol is not None and pol.cors is not None:
            origin = self.hmap.get("origin")
            if pol.cors.allowed(origin):
                headers.extend(pol.cors.actual(origin))
        headers.append((b"x-request-id", self.request_id))
        if self.conn.listening.hsts is not None:
            headers.append((b"strict-transport-security", self.conn.listening.hsts))
        if self.cache_status is not None:
            headers.append((b"x-cache-status", self.cache_status))
        if self.set_cookie is not None:
            headers.append((b"set-cookie", self.set_cookie))
        if not self.keep_alive:
            headers.append((b"connection", b"close"))
        elif self.version == "1.0":
            headers.append((b"connection", b"keep-alive"))
        return headers

    def finish(self) -> None:
        if self.done:
            return
        self.done = True
        if self.deadline:
            self._untime()
        if self.trace is not None:
            self.trace.end(self.status, self.route)
        if self.gw.recording:
            self._record(self.status)
        conn = self.conn
        if self.then_close_data is not None:
            conn.transport.write(self.then_close_data)
        conn.exchange_done(self, self.keep_alive)

    def _record(self, status: int) -> None:
        gw = self.gw
        if gw.counting:
            gw.metrics.observe(self.route, status, time.monotonic() - self.t0)
        if gw.log.enabled:
            t = time.monotonic() - self.t0
            gw.log.write({
                "request_id": self.request_id.decode(), "remote_addr": self.client_ip,
                "method": self.method, "uri": self.url.decode("latin-1"), "protocol": f"HTTP/{self.version}",
                "host": self.host, "status": status, "bytes_sent": self.sent, "duration_s": round(t, 3),
                "route": self.route, "upstream": self._server_tried(),
                "user_agent": self.header(b"user-agent") or "", "cache": self.cache_status.decode()
                if self.cache_status else None, "trace_id": self.trace.trace_id if self.trace is not None else ""})

    def _server_tried(self) -> str | None:
        """The server of the last attempt, kept after it failed (a 502 names the server that failed);
        the upstream's name when it had no server to try; None when nothing was forwarded (a
        redirect, a cache hit)."""
        if self.state is not None:
            return self.state.key
        tried = getattr(self, "tried", None)  # set only once a forward starts: the hot path sets nothing more
        if tried is None:
            return None
        return tried[-1].key if tried else self.upstream.ir.name

    # ---- forwarding -----------------------------------------------------------------------------
    def _forward(self) -> None:
        d = self.decision
        plan = self.plan
        assert plan is not None  # start set it: a forward follows the routing decision
        up = plan.upstream
        if up is None:  # a traffic split: the upstream is drawn per request
            names = [b[0] for b in d.backends] + [""]
            name = random.choices(names, weights=[b[1] for b in d.backends] + [d.invalid_weight])[0]
            if not name:
                return self.error(500, "no backend for this share of requests")
            up = self.gw.upstreams[name]
            self.read_s = routing.attempt_timeout_ms(d.timeouts, up.ir) / 1000
        else:
            self.read_s = plan.read_s
        self.upstream = up
        cache = self.policy.cache
        if cache is not None:
            if self.method in cache.methods:
                self.cache_key = cache.key(self.method, self.conn.listening.scheme, routing.host_of(self.host),
                                           self.path, self.query, self.hmap)
                entry, status = cache.get(self.cache_key)
                self.cache_status = status.encode()
                if entry is not None:
                    # kept as the backend answered: the route's header operations apply to a hit too
                    return self.answer(entry.status, list(entry.headers), entry.body)
            else:
                self.cache_status = b"BYPASS"
        self.hash_key = up.hash_key(self) if up.key is not None else None
        self.sticky_id: str | None = None
        if up.sticky is not None:
            self.sticky_id = http.cookies(self.hb.get(b"cookie")).get(up.sticky.cookie)
        self.retry = d.retry
        self.tries = 0
        self.tried: list = []
        if self.retry.attempts and self.method in self.retry.methods and not self.upgrade:
            self.copy = self.pending
            self.pending = []
        self.head = self._upstream_head()
        if plan.request_s:
            self.deadline = time.monotonic() + plan.request_s
            self.gw.clock.timed.add(self)
        if d.mirrors:
            self._choose_mirrors()
        self._attempt()

    def _choose_mirrors(self) -> None:
        mirrors = [m.upstream for m in self.decision.mirrors if random.random() * 100 < m.percent]
        if not mirrors:
            return
        if self.length or self.chunked:
            # the copy carries the body too: it is kept whole and sent once the client is done
            self.mirrors = mirrors
            if self.copy is None:
                self.copy = self.pending
                self.pending = []
            if self.body_done:
                self._send_mirrors()
        else:
            self.mirrors = mirrors
            self._send_mirrors()

    def _send_mirrors(self) -> None:
        from .aggregate import mirror_request
        mirrors, self.mirrors = self.mirrors, None
        body = b"".join(self.copy) if self.copy else b""
        head = self._upstream_head(len(body)) if self.length or self.chunked else self.head
        if self.trace is not None:  # a copy of the request: the request's span is its parent
            head = head[:-2] + self.trace.header_lines() + b"\r\n"
        for upstream in mirrors:
            mirror_request(self.gw, upstream, self.method, self.decision.upstream_path, head + body)

    def _forward_headers(self) -> bytes:
        """The client's header lines as the backend (or an aggregation part) receives them:
        hop-by-hop ones dropped, the route's header operations applied, forwarding headers
        set by the edge."""
        return b"".join(self._forward_lines([]))

    def _forward_lines(self, lines: list[bytes]) -> list[bytes]:
        """_forward_headers' bytes, appended to `lines` for one join with what surrounds them."""
        drop = _DROP_REQUEST if self.trace is None else _DROP_TRACED
        listed = self.hb.get(b"connection")
        if listed:
            drop = drop | {t.strip().lower() for t in listed.split(b",")}
        pol = self.policy
        if pol.request_ops is None or (pol.request_ops_names.isdisjoint(self.hb)
                                       and not pol.request_ops_names & drop):
            for n, v, low in self.raw:
                if low not in drop:
                    lines += (n, b": ", v, b"\r\n")
            if pol.request_ops is not None:
                lines.append(pol.request_ops_lines)
        elif pol.request_ops_bytes is not None:
            lines += [b"%s: %s\r\n" % (n, v) for n, v in
                      routing.apply_header_ops(pol.request_ops_bytes, [(n, v) for n, v, _ in self.raw])
                      if n.lower() not in drop]
        else:
            lines += [b"%s: %s\r\n" % (n, v) for n, v in
                      ((n.encode("latin-1"), v.encode("latin-1"))
                       for n, v in routing.apply_header_ops(pol.request_ops, self.headers))
                      if n.lower() not in drop]
        conn = self.conn
        host = self.host_bytes
        if self.gw.trusted and self.gw.trusted_peer(conn.peer):
            hb = self.hb
            peer = conn.peer.encode()
            xff = hb.get(b"x-forwarded-for")
            lines.append(b"X-Forwarded-For: %s, %s\r\n" % (xff, peer) if xff else b"X-Forwarded-For: %s\r\n" % peer)
            lines.append(b"X-Forwarded-Proto: %s\r\n" % (hb.get(b"x-forwarded-proto")
                                                           or conn.listening.scheme.encode()))
            lines.append(b"X-Forwarded-Host: %s\r\nX-Real-IP: %s\r\n" % (hb.get(b"x-forwarded-host") or host,
                                                                         self.client_ip.encode()))
            lines.append(b"X-Request-Id: %s\r\n" % self.request_id)
        else:  # conn.forwarded ends with "X-Forwarded-Host: "
            lines += (conn.forwarded, host, b"\r\nX-Request-Id: ", self.request_id, b"\r\n")
        return lines

    def _upstream_head(self, body_length: int | None = None) -> bytes:
        """The request head for the backend; with `body_length`, for a body sent whole."""
        plan = self.plan
        assert plan is not None  # as in _forward, which precedes every upstream head
        head = self._forward_lines([plan.head_start])
        if self.upgrade:
            head.append(b"Connection: upgrade\r\nUpgrade: %s\r\n" % self.hb.get(b"upgrade", b""))
        if body_length is not None:
            head.append(b"Content-Length: %d\r\n\r\n" % body_length)
        elif self.chunked:
            head.append(b"Transfer-Encoding: chunked\r\n\r\n")
        elif self.length is not None:
            head.append(b"Content-Length: %d\r\n\r\n" % self.length)
        else:
            head.append(b"\r\n")
        return b"".join(head)

    def _attempt(self) -> None:
        breaker = self.upstream.breaker
        if breaker is not None:
            admitted = breaker.enter(self)
            if admitted is None:
                return  # waits for a connection: admitted() goes on
            if not admitted:
                return self.error(503, "upstream overloaded")
        self.admitted()

    def admitted(self) -> None:
        """The attempt may hold a connection (the upstream's circuit breaker let it in)."""
        balancer = self.upstream.balancer
        state = balancer.only  # one server: no choice to make
        if state is None:
            state = balancer.choose(self.hash_key, self.sticky_id, self.tried)
        if state is None:
            if self.upstream.breaker is not None:
                self.upstream.breaker.leave()
            return self.error(502, "no server available")
        self.state = state
        if self.gw.counting:
            self.attempt_t0 = time.monotonic()
        state.active += 1
        self.tries += 1
        self.tried.append(state)
        if self.trace is not None:
            server = state.server
            self.trace.attempt(self.method, self.upstream.ir.name, server.host, server.port)
        conn = state.pool.get()
        if conn is not None:
            self._send(conn)
        else:
            self.connecting = task = asyncio.ensure_future(state.pool.connect())
            task.add_done_callback(self._connected)

    def _let_go(self, state) -> None:
        """The attempt on `state` is over: its place in the count of requests in flight (and in
        the circuit breaker's) goes."""
        state.active -= 1
        if self.upstream.breaker is not None:
            self.upstream.breaker.leave()

    def _connected(self, task) -> None:
        self.connecting = None
        if task.cancelled():
            return
        err = task.exception()
        if err is not None:
            if not self.done:
                self._attempt_failed("timeout" if isinstance(err, asyncio.TimeoutError) else "connect")
            return
        conn = task.result()
        if self.done:
            conn.pool.release(conn)
            return
        self._send(conn)

    def _send(self, conn: UpstreamConnection) -> None:
        self.up = conn
        body = self.copy if self.copy is not None else self.pending
        trace = self.trace
        head = self.head if trace is None else self.head[:-2] + trace.header_lines(trace.attempt_span) + b"\r\n"
        if body and self.chunked:
            data = head + b"".join(http.chunk(b) for b in body)
        else:
            data = head + b"".join(body) if body else head
        if self.chunked and self.body_done:
            data += http.LAST_CHUNK
        if self.pending:
            self.pending = []
        conn.send(self, data, self.method == "HEAD", self.read_s)
        if self.expect and not self.sent_continue and not self.body_done:
            self.sent_continue = True
            self.conn.transport.write(self.conn.head(100, []))

    def _can_retry(self, kind: str) -> bool:
        r = self.retry
        if self.answered or not self.body_done or self.tries > r.attempts or self.method not in r.methods:
            return False
        if self.copy is None and self.body_size:
            return False
        if self.deadline and time.monotonic() >= self.deadline:
            return False
        return kind == "status" or r.connect_errors

    def _attempt_failed(self, kind: str, conn=None) -> None:
        """A connect error, reset or timeout of the current attempt, before any response byte."""
        state, self.state = self.state, None
        self.up = None
        if state is not None:
            self._let_go(state)
        if self.trace is not None:
            self.trace.attempt_end(kind)
        stale = (kind == "reset" and conn is not None and conn.reused and not self.answered
                 and self.method in _IDEMPOTENT)
        if stale and self.body_done and (self.copy is not None or not self.body_size):
            # a kept-alive connection the server had closed: the request never reached it, and
            # the server has not failed (counted as a failure, one stale connection ejected it)
            self.tried.remove(state)
            self.tries -= 1
            return self._attempt()
        if state is not None:
            state.failed(self.upstream.ir.passive, time.monotonic())
            self.gw.metrics.upstream_failed(self.upstream.ir.name, state.key)
        if self._can_retry(kind):
            return self._retry_later()
        self.error(504 if kind == "timeout" else 502, "upstream timed out" if kind == "timeout"
                   else "upstream unavailable")

    def _retry_later(self) -> None:
        backoff = self.retry.backoff_ms
        if backoff:
            asyncio.get_running_loop().call_later(backoff / 1000, self._retry_now)
        else:
            self._attempt()

    def _retry_now(self) -> None:
        if not self.done:
            self._attempt()

    def expire(self) -> None:
        """The route's whole-request timeout passed."""
        self._untime()
        if self.done:
            return
        if self.answered:
            self.abandon_upstream()
            self.keep_alive = False
            self.conn.transport.close()
            self.finish()
        else:
            self.abandon_upstream()
            self.error(504, "upstream timed out")

    # ---- upstream sink --------------------------------------------------------------------------
    def on_head(self, conn, status: int, headers) -> None:
        self.status = status  # the attempt's answer, which on_end judges the server by
        if self.trace is not None:
            self.trace.attempt_status(status)
        if status in self.retry.statuses and self._can_retry("status"):
            self.discard = True
            return
        kept = _KEPT
        if headers == kept[0] and status != 101:
            out = list(kept[1])
            length = kept[2]
        else:
            out = []
            keep = out.append
            length = None
            for h in headers:
                low = h[0].lower()
                if low not in _DROP_RESPONSE:
                    keep(h)
                elif low == b"content-length":
                    length = h[1]
                elif status == 101 and (low == b"connection" or low == b"upgrade"):
                    keep(h)
            if status != 101:
                kept[:] = headers, tuple(out), length
        up = self.upstream
        if up.sticky is not None and self.sticky_id != self.state.sticky_id:
            s = up.sticky
            cookie = f"{s.cookie}={self.state.sticky_id}; Path={s.path}; HttpOnly"
            if s.ttl_ms:
                cookie += f"; Max-Age={s.ttl_ms // 1000}"
            self.set_cookie = cookie.encode()
        cache = self.policy.cache
        if (cache is not None and self.cache_status in (b"MISS", b"EXPIRED") and self.method != "HEAD"
                and cache.storable(status, out)):
            self.caching = (list(out), [])
        if status == 101:
            if not self.upgrade:
                return self._attempt_failed("reset", conn)
            out = self._decorate(out)
            self.answered = True
            self.conn.transport.write(http.head(101, out))
            if self.upgrade_buf:
                conn.transport.write(b"".join(self.upgrade_buf))
                self.upgrade_buf = None
                self.conn.hold_body(False)
            return
        # not switching (an Upgrade the backend refused, too): an HTTP/1.1 answer, and the
        # client's connection goes on in HTTP/1.1 after it
        if length is not None:
            out.append((b"content-length", length))
        elif not (self.method == "HEAD" or status in _NO_BODY or status < 200):  # a body of unknown length
            if self.version == "1.1":
                self.client_chunked = True
                out.append((b"transfer-encoding", b"chunked"))
            else:
                self.keep_alive = False  # an HTTP/1.0 client learns the end from the close
        out = self._decorate(out)
        self.answered = True
        self.out.append(self.conn.head(status, out))

    def on_data(self, data: bytes) -> None:
        if self.discard or self.done:
            return
        if self.caching is not None:
            self.caching[1].append(data)
        self.sent += len(data)
        if self.status == 101:
            self.conn.transport.write(data)
        else:
            self.out.append(http.chunk(data) if self.client_chunked else data)

    def flush(self) -> None:
        if self.out:
            data = b"".join(self.out) if len(self.out) > 1 else self.out[0]
            self.out = []
            self.conn.transport.write(data)

    def on_end(self, conn) -> None:
        state = self.state
        if state is not None:
            self._let_go(state)
            up = self.upstream
            passive = up.ir.passive
            if self.gw.counting:
                self.gw.metrics.upstream_answered(up.ir.name, time.monotonic() - self.attempt_t0)
            if self.status in passive.statuses:  # an answer the upstream counts as the server failing
                state.failed(passive, time.monotonic())
                self.gw.metrics.upstream_failed(up.ir.name, state.key)
            elif state.fails:  # a run of failures to end (nearly always none: no call then)
                state.succeeded()
        self.up = None
        if self.trace is not None:
            self.trace.attempt_end()
        if self.done:
            return
        if self.status == 101:
            self.state = None
            self.keep_alive = False
            self.conn.transport.close()
            return self.finish()
        if self.discard:
            self.discard = False
            self.state = None
            return self._retry_later()
        if self.client_chunked:
            self.out.append(http.LAST_CHUNK)
        self.flush()
        if self.caching is not None:
            headers, pieces = self.caching
            self.policy.cache.put(self.cache_key, self.status, headers, b"".join(pieces))
        self.finish()

    def on_fail(self, conn, kind: str) -> None:
        if self.done:
            if self.state is not None:
                self._let_go(self.state)
                self.state = None
            return
        if self.answered:
            # the response is half sent: the client can only learn of it by the connection closing
            self.flush()
            if self.trace is not None:
                self.trace.attempt_end(kind)
            if self.state is not None:
                self._let_go(self.state)
                self.state.failed(self.upstream.ir.passive, time.monotonic())
                self.state = None
            self.keep_alive = False
            self.conn.transport.close()
            self.finish()
            return
        self.discard = False
        self._attempt_failed(kind, conn)
