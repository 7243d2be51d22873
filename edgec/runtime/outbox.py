"""Writes held until the event loop's pass is over, then sent together.

A pass handles the events of many sockets: a client's request read becomes a write to a
backend, a backend's answer a write to a client. Written as each event is handled, those
writes are spread over the whole pass, and between two of them the reader at the other end
(a client, a backend: usually another CPU) has often gone back to sleep, so that nearly
every write wakes it, and a wake-up on another CPU is an interrupt sent there, which costs
the writer more than the write itself (most of all in a virtual machine). Sent together at
the end of the pass, the writes come close enough that a reader woken by the first is still
busy when the next come. Each transport still gets one write per pass (what a pass wrote to
it is joined), and nothing is sent out of order: closing, aborting or shutting the writing
side of a transport sends what it holds first (or, for abort, drops it).
"""
from __future__ import annotations

from typing import Any


class Outbox:
    """The transports holding writes in this pass; one per runtime (its clock's)."""

    __slots__ = ("holding", "loop")

    def __init__(self, loop=None):
        self.holding: list[HeldTransport] = []
        # the loop that runs the passes, given once (the clock's start): asyncio.get_running_loop()
        # in each pass would cost a getpid() system call there (Python 3.11 checks for a fork)
        self.loop = loop

    def send(self) -> None:
        holding, self.holding = self.holding, []
        for held in holding:  # send_held, inlined: this runs for every write
            data, held.data = held.data, None
            if data is not None and not held.is_closing():
                held.transport.write(data)


class HeldTransport:
    """A connection's transport whose writes wait in the outbox for the end of the pass."""

    __slots__ = ("transport", "outbox", "data", "is_closing")

    def __init__(self, transport, outbox: Outbox):
        self.transport = transport
        self.outbox = outbox
        self.data: Any = None  # what this pass wrote, not sent yet
        self.is_closing = transport.is_closing  # asked per request: the transport's own, no call between

    def write(self, data) -> None:
        if not data:
            return
        if self.data is None:
            self.data = data
            holding = self.outbox.holding
            if not holding:
                self.outbox.loop.call_soon(self.outbox.send)
            holding.append(self)
        else:
            self.data = b"".join((self.data, data))

    def send_held(self) -> None:
        data, self.data = self.data, None
        if data is not None and not self.is_closing():  # a lost connection's: dropped
            self.transport.write(data)

    def close(self) -> None:
        self.send_held()
        self.transport.close()

    def write_eof(self) -> None:
        self.send_held()
        self.transport.write_eof()

    def abort(self) -> None:
        self.data = None
        self.transport.abort()

    def can_write_eof(self) -> bool:
        return self.transport.can_write_eof()

    def pause_reading(self) -> None:
        self.transport.pause_reading()

    def resume_reading(self) -> None:
        self.transport.resume_reading()

    def get_extra_info(self, name, default=None):
        return self.transport.get_extra_info(name, default)
