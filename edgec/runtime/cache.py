"""Response cache of one route: entries keyed by the IR's key parts and `vary` headers, kept
for the TTL. Only complete 200 responses that the backend allows to be stored are kept."""
from __future__ import annotations

import time

from .. import ir


class Entry:
    __slots__ = ("status", "headers", "body", "expires")

    def __init__(self, status, headers, body, expires):
        self.status, self.headers, self.body, self.expires = status, headers, body, expires


class ResponseCache:
    def __init__(self, cache: ir.Cache, max_entry_bytes: int, max_bytes: int):
        self.ttl = cache.ttl_ms / 1000
        self.methods = frozenset(cache.methods)
        self.parts = cache.key
        self.vary = tuple(v.lower() for v in cache.vary)
        self.max_entry = max_entry_bytes
        self.max_bytes = max_bytes
        self.size = 0
        self.entries: dict[tuple, Entry] = {}

    def key(self, method: str, scheme: str, host: str, path: str, query: str, headers: dict) -> tuple:
        values = {"method": "GET" if method == "HEAD" else method, "scheme": scheme, "host": host,
                  "path": path, "query": query}
        return tuple(values[p] for p in self.parts) + tuple(headers.get(v, "") for v in self.vary)

    def get(self, key: tuple) -> tuple[Entry | None, str]:
        """(entry, X-Cache-Status): HIT with an entry, else MISS or EXPIRED."""
        e = self.entries.get(key)
        if e is None:
            return None, "MISS"
        if e.expires <= time.monotonic():
            self._drop(key)
            return None, "EXPIRED"
        return e, "HIT"

    @staticmethod
    def storable(status: int, headers: list[tuple[bytes, bytes]]) -> bool:
        if status != 200:
            return False
        for n, v in headers:
            ln = n.lower()
            if ln == b"set-cookie":
                return False
            if ln == b"cache-control" and any(d in v.lower() for d in (b"no-store", b"private", b"no-cache")):
                return False
        return True

    def put(self, key: tuple, status: int, headers, body: bytes) -> None:
        if len(body) > self.max_entry:
            return
        self._drop(key)
        now = time.monotonic()
        if self.size + len(body) > self.max_bytes:
            self.sweep(now)
        while self.entries and self.size + len(body) > self.max_bytes:
            self._drop(next(iter(self.entries)))  # oldest first
        self.entries[key] = Entry(status, headers, body, now + self.ttl)
        self.size += len(body)

    def _drop(self, key) -> None:
        e = self.entries.pop(key, None)
        if e is not None:
            self.size -= len(e.body)

    def sweep(self, now: float) -> None:
        for k in [k for k, e in self.entries.items() if e.expires <= now]:
            self._drop(k)
