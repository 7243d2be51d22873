"""One coarse clock per process instead of a timer per request: every tick it expires the
connections whose `deadline` (monotonic seconds, 0 = none) has passed, and sweeps idle pools.
It also carries the process's outbox (writes sent at the end of each pass of the event loop),
since every connection holds the clock already."""
from __future__ import annotations

import asyncio
import time
from typing import Any

from .outbox import Outbox

TICK_S = 0.05  # deadline resolution: timeouts fire at most this late


class Clock:
    def __init__(self):
        self.timed: set = set()  # objects with .deadline and .expire()
        self.sweepers: list = []  # callables(now), e.g. idle pool cleanup, log flushing
        self.now = time.monotonic()
        self.outbox = Outbox()
        self._handle: Any = None

    def start(self) -> None:
        self.outbox.loop = loop = asyncio.get_running_loop()
        self._handle = loop.call_later(TICK_S, self._tick)

    def stop(self) -> None:
        if self._handle:
            self._handle.cancel()

    def _tick(self) -> None:
        self.now = now = time.monotonic()
        for obj in [o for o in self.timed if 0 < o.deadline <= now]:
            if 0 < obj.deadline <= now:
                obj.expire()
        for sweep in list(self.sweepers):
            sweep(now)
        self._handle = self.outbox.loop.call_later(TICK_S, self._tick)
