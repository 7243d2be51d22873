"""One generation of configuration: the IR compiled into what requests use (router, upstream
pools and balancers, per-route policies). A reload builds a new Gateway; connections pick
the current one per request, so requests in flight finish on the generation they began on."""
from __future__ import annotations

import asyncio
import ipaddress
import time
from dataclasses import dataclass

from .. import ir, routing
from .accesslog import AccessLog
from .auth import RequiringChecker, make_checker
from .balance import Balancer, ServerState
from .cache import ResponseCache
from .cors import CorsPolicy
from .external_auth import ExternalChecker
from .health import watch
from .plan import Plan
from .ratelimit import make_limiter
from .breaker import Breaker
from .upstream import Pool, tls_context


class UpstreamRuntime:
    def __init__(self, upstream: ir.Upstream, clock):
        self.ir = upstream
        self.sticky = upstream.sticky
        tls = tls_context(upstream.tls) if upstream.tls else None
        sni = upstream.tls.sni if upstream.tls else None
        self.states = [ServerState(s, Pool(s, upstream.keepalive, upstream.timeouts, clock, tls, sni))
                       for s in upstream.servers]
        self.balancer = Balancer(upstream, self.states)
        self.breaker = Breaker(upstream.circuit_breaker) if upstream.circuit_breaker else None
        key = upstream.hash_key
        if upstream.balance == "ip_hash":
            key = ir.HashKey("client_ip")
        self.key = key if upstream.balance in ("hash", "ip_hash") else None

    def hash_key(self, ex) -> str | None:
        key = self.key
        if key is None:
            return None
        if key.source == "client_ip":
            return ex.client_ip
        if key.source == "uri":
            return ex.url.decode("latin-1")
        if key.source == "header":
            return ex.header(key.name.lower().encode("latin-1"))
        from .http import cookies
        return cookies(ex.hb.get(b"cookie")).get(key.name)


class AddressCheck:
    """routing.address_allowed under one edge's or route's lists, remembered per address."""

    __slots__ = ("access", "memo")

    def __init__(self, access: ir.Access):
        self.access = access
        self.memo: dict[str, bool] = {}

    def __call__(self, address: str) -> bool:
        known = self.memo.get(address)
        if known is None:
            known = routing.address_allowed(self.access, address)
            if len(self.memo) < 10_000:
                self.memo[address] = known
        return known


def address_check(access: ir.Access) -> AddressCheck | None:
    return None if access.empty else AddressCheck(access)


@dataclass
class RoutePolicy:
    access: AddressCheck | None = None  # the route's own lists (the edge's are checked first)
    auth: object = None
    limiter: object = None
    cache: ResponseCache | None = None
    cors: CorsPolicy | None = None
    request_ops: ir.HeaderOps | None = None  # the route's request header ops; None when it has none
    request_ops_bytes: ir.HeaderOps | None = None  # the same over bytes, when they can be
    # when a request has none of the headers the ops name, apply_header_ops only appends the
    # `set` lines, then the `add` lines, in order: those lines, ready to send
    request_ops_names: frozenset = frozenset()
    request_ops_lines: bytes = b""
    response_ops: ir.HeaderOps | None = None  # None when the route has none


def _checker(checkers: dict, route: ir.Route):
    """The route's auth check, held to its `require` when it has one (only on jwt: E230)."""
    checker = checkers.get(route.auth) if route.auth else None
    if checker is None or route.require.empty:
        return checker
    return RequiringChecker(checker, route.require)


def _bytes_ops(ops: ir.HeaderOps) -> ir.HeaderOps | None:
    """routing.apply_header_ops treats names and values alike whether str or bytes, except
    that `add` joins values with a str comma: without `add`, the request's header lines can
    stay bytes."""
    if ops.empty or ops.add:
        return None
    return ir.HeaderOps(set=tuple((n.encode("latin-1"), v.encode("latin-1")) for n, v in ops.set),
                        remove=tuple(n.encode("latin-1") for n in ops.remove))


class Decisions:
    """routing.decide, memoised, as Plans. decide is a pure function of the request; when no
    route of the edge tests a header, it depends only on (listener, method, host, path, query),
    and the backend's headers are made from the request's own by the route's header operations.
    A plan is remembered under the request's own bytes when its target is in origin form
    (listener port, method, Host, target), so that a target seen before is neither decoded nor
    split again; an absolute-form one under its decoded parts."""

    MAX = 10_000

    def __init__(self, edge: ir.Edge, gw: "Gateway"):
        self.router = routing.compile(edge)
        self.gw = gw
        self.headers_matter = any(m.headers for r in edge.routes for m in r.matches)
        self.known: dict[tuple, Plan] = {}  # stays empty when headers matter

    def decide(self, method: str, scheme: str, host: str, port: int, path: str, query: str, ex,
               bare: bool = False, key: tuple | None = None) -> Plan:
        if self.headers_matter:
            return Plan(self.router.decide(routing.Request(method, scheme, host, port, path, query,
                                                           tuple(ex.headers), bare)), method, path, query, self.gw)
        if key is None:
            key = (port, method, host, path, query, bare)
            plan = self.known.get(key)
            if plan is not None:
                return plan
        plan = Plan(self.router.decide(routing.Request(method, scheme, host, port, path, query, (), bare)),
                    method, path, query, self.gw)
        if len(self.known) >= self.MAX:
            self.known.clear()
        self.known[key] = plan
        return plan


class Gateway:
    def __init__(self, edge: ir.Edge, clock, metrics, resolve_secret, redis=None, cache_max_bytes: int = 0):
        self.edge = edge
        self.clock = clock
        self.metrics = metrics
        self.decisions = Decisions(edge, self)
        self.limits = edge.limits
        self.max_head_bytes = edge.limits.max_head_bytes
        self.idle_s = edge.limits.idle_timeout_ms / 1000
        self.header_s = edge.limits.header_timeout_ms / 1000
        self.metrics_path = edge.observability.metrics_path
        # requests are counted only where a scrape can read the counts
        self.counting = self.metrics_path is not None
        self.log = AccessLog(edge.observability.access_log)
        # a request's start time and end are kept only where a count or a log line takes them
        self.recording = self.counting or self.log.enabled
        tracing = edge.observability.tracing
        if tracing is not None:
            from .tracing import Tracer  # the OpenTelemetry SDK: only for an edge that traces
            self.tracer = Tracer(tracing, edge.name)
        else:
            self.tracer = None
        self.trusted = [ipaddress.ip_network(c) for c in edge.trusted_proxies]
        self._trust_memo: dict[str, bool] = {}
        self.access = address_check(edge.access)
        self.upstreams = {u.name: UpstreamRuntime(u, clock) for u in edge.upstreams}
        # authorization services: pools of their own, apart from the edge's named upstreams
        self.auth_upstreams = {a.name: UpstreamRuntime(a.service, clock) for a in edge.auth
                               if isinstance(a, ir.ExternalAuth)}
        checkers = {a.name: ExternalChecker(a, self.auth_upstreams[a.name]) if a.name in self.auth_upstreams
                    else make_checker(a, resolve_secret) for a in edge.auth}
        self.checkers = checkers
        self.policies: dict[str, RoutePolicy] = {}
        for route in edge.routes:
            self.policies[route.name] = RoutePolicy(
                access=address_check(route.access),
                auth=_checker(checkers, route),
                limiter=make_limiter(route.rate_limit, redis, edge.name, route.name) if route.rate_limit else None,
                cache=ResponseCache(route.cache, edge.limits.max_body_bytes, cache_max_bytes)
                if route.cache else None,
                cors=CorsPolicy(route.cors) if route.cors else None,
                request_ops=None if route.request_headers.empty else route.request_headers,
                request_ops_bytes=_bytes_ops(route.request_headers),
                response_ops=None if route.response_headers.empty else route.response_headers,
                request_ops_names=frozenset(n.lower().encode("latin-1") for n in (
                    *route.request_headers.remove, *(n for n, _ in route.request_headers.set),
                    *(n for n, _ in route.request_headers.add))),
                request_ops_lines=b"".join(f"{n}: {v}\r\n".encode("latin-1") for n, v in
                                           (*route.request_headers.set, *route.request_headers.add)))
        self.background: set = set()
        self.tasks: list[asyncio.Task] = []
        self._next_sweep = 0.0

    # ---- client addresses ---------------------------------------------------------------------
    def trusted_peer(self, addr: str) -> bool:
        if not self.trusted:
            return False
        known = self._trust_memo.get(addr)
        if known is None:
            try:
                ip = ipaddress.ip_address(addr)
                known = any(ip in net for net in self.trusted)
            except ValueError:
                known = False
            if len(self._trust_memo) < 10_000:
                self._trust_memo[addr] = known
        return known

    def client_ip(self, peer: str, ex) -> str:
        """The peer, or, when the peer is a trusted proxy, the nearest untrusted address of
        X-Forwarded-For (read from the right, as each proxy appends)."""
        if not self.trusted or not self.trusted_peer(peer):
            return peer
        xff = ex.header(b"x-forwarded-for")
        if not xff:
            return peer
        for hop in reversed([h.strip() for h in xff.split(",")]):
            if not hop:
                continue
            if not self.trusted_peer(hop):
                try:
                    return str(ipaddress.ip_address(hop))
                except ValueError:
                    return peer
        return peer

    # ---- life cycle -----------------------------------------------------------------------------
    async def start(self) -> None:
        await asyncio.gather(*(c.fetch_keys() for c in self.checkers.values() if hasattr(c, "fetch_keys")))
        for up in self.upstreams.values():
            if up.ir.health is not None:
                for state in up.states:
                    self.tasks.append(asyncio.ensure_future(watch(up.ir, state)))
        self.clock.sweepers.append(self.sweep)

    def sweep(self, now: float) -> None:
        self.log.flush()
        if now < self._next_sweep:
            return
        self._next_sweep = now + 1.0  # idle pools, full buckets and stale cache entries: once a second
        for up in (*self.upstreams.values(), *self.auth_upstreams.values()):
            for state in up.states:
                state.pool.sweep(now)
        for pol in self.policies.values():
            if pol.limiter is not None:
                pol.limiter.sweep(now)
            if pol.cache is not None:
                pol.cache.sweep(now)

    def stop(self) -> None:
        for t in self.tasks:
            t.cancel()
        if self.sweep in self.clock.sweepers:
            self.clock.sweepers.remove(self.sweep)
        for up in (*self.upstreams.values(), *self.auth_upstreams.values()):
            for state in up.states:
                state.pool.close()
        self.log.close()
        if self.tracer is not None:
            self.tracer.close()

    def upstream_states(self) -> dict[str, list[tuple[str, bool]]]:
        now = time.monotonic()
        return {name: [(s.key, s.available(now)) for s in up.states] for name, up in self.upstreams.items()}
