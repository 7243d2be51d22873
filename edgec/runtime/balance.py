"""Choosing a server of an upstream: balancers, weights, backup servers, stickiness, and the
health state (active checks and passive ejection) that decides which servers may be chosen."""
from __future__ import annotations

import hashlib
import math
import random
import time

from .. import ir


class ServerState:
    """One server of one upstream in this process: health, ejection, load."""

    __slots__ = ("server", "key", "weight", "backup", "active", "healthy", "fails", "first_fail",
                 "ejected_until", "sticky_id", "current_weight", "pool", "checks_ok", "checks_bad")

    def __init__(self, server: ir.Server, pool):
        self.server = server
        self.key = server.address
        self.weight = server.weight
        self.backup = server.backup
        self.active = 0  # requests in flight (least_conn)
        self.healthy = True  # active health check verdict
        self.fails = 0
        self.first_fail = 0.0
        self.ejected_until = 0.0
        # the sticky cookie names a server without revealing its address
        self.sticky_id = hashlib.sha256(self.key.encode()).hexdigest()[:16]
        self.current_weight = 0
        self.pool = pool
        self.checks_ok = 0
        self.checks_bad = 0

    def available(self, now: float) -> bool:
        return self.healthy and self.ejected_until <= now

    # passive checks: max_fails consecutive failures within fail_timeout eject the server for fail_timeout
    def failed(self, passive: ir.PassiveCheck, now: float) -> None:
        if passive.max_fails == 0:
            return
        window = passive.fail_timeout_ms / 1000
        if self.fails == 0 or now - self.first_fail > window:
            self.fails, self.first_fail = 0, now
        self.fails += 1
        if self.fails >= passive.max_fails:
            self.ejected_until = now + window
            self.fails = 0

    def succeeded(self) -> None:
        self.fails = 0


def _hrw(key: str, state: ServerState) -> float:
    """Weighted rendezvous hashing: a key keeps its server while that server is up, and only
    the keys of a server that goes away move."""
    digest = hashlib.blake2b(f"{state.key}\0{key}".encode(), digest_size=8).digest()
    score = (int.from_bytes(digest, "big") + 1) / 2.0 ** 64
    return -state.weight / math.log(score)


class Balancer:
    def __init__(self, upstream: ir.Upstream, states: list[ServerState]):
        self.upstream = upstream
        self.states = states
        self.primary = [s for s in states if not s.backup]
        self.backup = [s for s in states if s.backup]
        self.by_sticky = {s.sticky_id: s for s in states}
        self.passive = upstream.passive
        self.pick = getattr(self, "_" + upstream.balance)
        self.rr_index = 0
        self.uniform = len({s.weight for s in self.primary}) <= 1 and len({s.weight for s in self.backup}) <= 1
        # with one server, every path below ends on it (down or tried, it still beats a certain 502)
        self.only = states[0] if len(states) == 1 else None

    def candidates(self, exclude) -> list[ServerState]:
        now = time.monotonic()
        for group in (self.primary, self.backup):
            ok = [s for s in group if s not in exclude and s.available(now)]
            if ok:
                return ok
        # every server is down or tried: a down server that was not tried still beats a certain
        # 502, and when every server was tried, the retry goes to a healthy one again
        for group in (self.primary, self.backup):
            ok = [s for s in group if s not in exclude]
            if ok:
                return ok
        if exclude:
            return self.candidates(())
        return []

    def choose(self, hash_key: str | None, sticky_id: str | None, exclude=()) -> ServerState | None:
        if self.only is not None:
            return self.only
        if sticky_id is not None:
            state = self.by_sticky.get(sticky_id)
            if state is not None and state not in exclude and state.available(time.monotonic()):
                return state
        # fast path: one healthy choice without building lists
        servers = self.candidates(exclude)
        if not servers:
            return None
        if len(servers) == 1:
            return servers[0]
        return self.pick(servers, hash_key)

    def _round_robin(self, servers, _key):
        if self.uniform:
            self.rr_index += 1
            return servers[self.rr_index % len(servers)]
        # smooth weighted round robin (as nginx): spreads a heavy server's turns out
        total = 0
        best = None
        for s in servers:
            s.current_weight += s.weight
            total += s.weight
            if best is None or s.current_weight > best.current_weight:
                best = s
        best.current_weight -= total
        return best

    def _least_conn(self, servers, _key):
        best = min(s.active / s.weight for s in servers)
        tied = [s for s in servers if s.active / s.weight == best]
        self.rr_index += 1
        return tied[self.rr_index % len(tied)]

    def _random(self, servers, _key):
        return random.choices(servers, weights=[s.weight for s in servers])[0]

    def _hash(self, servers, key):
        if key is None:
            return self._round_robin(servers, None)
        return max(servers, key=lambda s: _hrw(key, s))

    _ip_hash = _hash


def weighted_choice(backends: tuple[ir.Backend, ...]) -> str:
    """Traffic split between upstreams (forward a 90%, b 10%)."""
    if len(backends) == 1:
        return backends[0].upstream
    return random.choices([b.upstream for b in backends], weights=[b.weight for b in backends])[0]
