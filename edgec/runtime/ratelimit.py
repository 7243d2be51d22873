"""Token-bucket rate limits: in process, or shared by every process and machine that uses
the same Redis (one atomic Lua script per request).

The bucket refills at count/window per second and holds burst + 1 tokens, which is what
nginx's `limit_req rate=… burst=… nodelay` does, so the runtime and the nginx target agree:
a client may send burst + 1 requests at once, then one per (window / count).
"""
from __future__ import annotations

import logging
import time

from .. import ir

log = logging.getLogger("edgec.runtime")

WARN_EVERY_S = 10.0  # how often a Redis outage is logged while it lasts


def _shape(limit: ir.RateLimit) -> tuple[float, float]:
    return limit.count / limit.window_s, float(limit.burst + 1)


class Bucket:
    """One token bucket: holds up to `capacity` tokens, refilled at `rate` per second."""

    __slots__ = ("rate", "capacity", "tokens", "at")

    def __init__(self, rate: float, capacity: float, now: float):
        self.rate, self.capacity = rate, capacity
        self.tokens, self.at = capacity, now

    def take(self, now: float) -> bool:
        tokens = min(self.capacity, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if tokens >= 1.0:
            self.tokens = tokens - 1.0
            return True
        self.tokens = tokens
        return False

    def full(self, now: float) -> bool:
        return self.tokens + (now - self.at) * self.rate >= self.capacity


class LocalLimiter:
    def __init__(self, limit: ir.RateLimit):
        self.rate, self.capacity = _shape(limit)
        self.buckets: dict[str, Bucket] = {}

    def take(self, key: str) -> bool:
        now = time.monotonic()
        b = self.buckets.get(key)
        if b is None:
            b = self.buckets[key] = Bucket(self.rate, self.capacity, now)
        return b.take(now)

    def sweep(self, now: float) -> None:
        """Forget buckets that have refilled: they hold no information."""
        full = [k for k, b in self.buckets.items() if b.full(now)]
        for k in full:
            del self.buckets[k]


# KEYS[1] bucket; ARGV rate/s, capacity. Redis' own clock, so machines need not agree on time.
LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local rate = tonumber(ARGV[1])
local cap = tonumber(ARGV[2])
local b = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(b[1])
local ts = tonumber(b[2])
if tokens == nil then tokens = cap; ts = now end
tokens = math.min(cap, tokens + (now - ts) * rate)
local allowed = 0
if tokens >= 1 then tokens = tokens - 1; allowed = 1 end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(cap / rate * 1000) + 1000)
return allowed
"""


class RedisLimiter:
    """Shared budget; if Redis cannot be reached the in-process bucket decides (and it is logged)."""

    def __init__(self, limit: ir.RateLimit, client, prefix: str):
        self.rate, self.capacity = _shape(limit)
        self.client = client
        self.prefix = prefix
        self.script = client.register_script(LUA)
        self.fallback = LocalLimiter(limit)
        self.sweep = self.fallback.sweep
        self.warned_at = -WARN_EVERY_S

    def take(self, key: str):
        return self._take(key)

    async def _take(self, key: str) -> bool:
        try:
            return bool(await self.script(keys=[self.prefix + key], args=[repr(self.rate), repr(self.capacity)]))
        except Exception as err:  # noqa: BLE001 (any Redis failure: degrade to the local bucket)
            now = time.monotonic()
            if now - self.warned_at >= WARN_EVERY_S:  # once in a while, not once per request
                self.warned_at = now
                log.warning("rate limit: Redis unavailable (%s); using the in-process bucket", err or type(err).__name__)
            return self.fallback.take(key)


def make_limiter(limit: ir.RateLimit, redis_client, edge_name: str, route: str):
    if redis_client is None:
        return LocalLimiter(limit)
    return RedisLimiter(limit, redis_client, f"edgec:{edge_name}:{route}:")
