"""An upstream's circuit breaker in this process (ir.CircuitBreaker): a count of the attempts
that hold a connection to its servers, and the exchanges waiting for one, first come first
served. Aggregation parts and mirrored copies are not counted."""
from __future__ import annotations

import collections

from .. import ir


class Breaker:
    __slots__ = ("limit", "pending", "busy", "waiting")

    def __init__(self, cb: ir.CircuitBreaker):
        self.limit = cb.max_connections
        self.pending = cb.max_pending
        self.busy = 0
        self.waiting: collections.deque = collections.deque()

    def enter(self, ex) -> bool | None:
        """True: the attempt may go on; None: it waits, and ex.admitted() is called when a
        connection is its; False: the upstream is full."""
        if self.busy < self.limit:
            self.busy += 1
            return True
        if len(self.waiting) >= self.pending:  # exchanges that ended while waiting hold no place
            self.waiting = collections.deque(w for w in self.waiting if not w.done)
        if len(self.waiting) < self.pending:
            self.waiting.append(ex)
            return None
        return False

    def leave(self) -> None:
        """An attempt let its connection go: the first exchange still waiting takes it over."""
        while self.waiting:
            ex = self.waiting.popleft()
            if not ex.done:
                ex.admitted()
                return
        self.busy -= 1
