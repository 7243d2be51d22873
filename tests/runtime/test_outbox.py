"""Writes held for the end of the event loop's pass (edgec.runtime.outbox), on real sockets:
what a pass wrote to a connection leaves as one write after the pass, in order, and closing,
shutting or aborting a connection does not reorder or lose what came before it."""
from __future__ import annotations

import asyncio
import socket

from edgec.runtime.outbox import HeldTransport, Outbox
from edgec.runtime.process import _new_loop


class Counting:
    """A transport that records the writes it is given (to see how many the pass made)."""

    def __init__(self, transport):
        self.transport = transport
        self.writes: list[bytes] = []
        self.is_closing = transport.is_closing

    def write(self, data):
        self.writes.append(bytes(data))
        self.transport.write(data)

    def __getattr__(self, name):
        return getattr(self.transport, name)


def run(coro):
    loop = _new_loop()
    try:
        return loop.run_until_complete(asyncio.wait_for(coro, 10))
    finally:
        loop.close()


async def pair():
    """A connected pair on loopback: (the held transport of one end and what it counts, the
    other end's raw socket, the outbox)."""
    loop = asyncio.get_running_loop()
    listener = socket.create_server(("127.0.0.1", 0))
    listener.setblocking(False)
    client = socket.socket()
    client.setblocking(False)
    await loop.sock_connect(client, listener.getsockname())
    peer, _ = await loop.sock_accept(listener)
    listener.close()
    transport, _ = await loop.connect_accepted_socket(asyncio.Protocol, peer)
    counting = Counting(transport)
    outbox = Outbox(loop)
    return HeldTransport(counting, outbox), counting, client, outbox


async def read_until_eof(sock) -> bytes:
    loop = asyncio.get_running_loop()
    got = b""
    while chunk := await loop.sock_recv(sock, 65536):
        got += chunk
    return got


def test_a_pass_of_writes_leaves_as_one_write_after_the_pass():
    async def main():
        held, counting, client, _ = await pair()
        held.write(b"HTTP/1.1 200 OK\r\n")
        held.write(b"")
        held.write(b"content-length: 2\r\n\r\nok")
        assert counting.writes == []  # nothing sent within the pass
        await asyncio.sleep(0)
        assert counting.writes == [b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"]
        held.close()
        assert await read_until_eof(client) == b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"
        client.close()
    run(main())


def test_closing_and_shutting_send_what_the_pass_wrote_first():
    async def main():
        held, counting, client, _ = await pair()
        held.write(b"answer")
        held.write_eof()  # a lingering close: the answer goes before the FIN
        assert counting.writes == [b"answer"]
        assert await read_until_eof(client) == b"answer"
        client.close()

        held, counting, client, _ = await pair()
        held.write(b"last answer")
        held.close()
        assert await read_until_eof(client) == b"last answer"
        await asyncio.sleep(0)  # the pass's send finds nothing left, and writes nothing twice
        assert counting.writes == [b"last answer"]
        client.close()
    run(main())


def test_abort_drops_what_the_pass_wrote():
    async def main():
        held, counting, client, _ = await pair()
        held.write(b"the rest of a body nobody wants")
        held.abort()
        await asyncio.sleep(0)
        assert counting.writes == []
        assert await read_until_eof(client) == b""  # closed, and nothing of it sent
        client.close()
    run(main())


def test_writes_to_a_lost_connection_are_dropped_at_the_end_of_the_pass():
    async def main():
        held, counting, client, outbox = await pair()
        other, other_counting, other_client, _ = await pair()
        other.outbox = outbox  # two connections in one pass
        held.write(b"to a client that left")
        other.write(b"to one that stays")
        held.transport.transport.abort()  # lost within the pass (a reset)
        await asyncio.sleep(0)
        assert counting.writes == []
        assert other_counting.writes == [b"to one that stays"]
        other.close()
        assert await read_until_eof(other_client) == b"to one that stays"
        client.close()
        other_client.close()
    run(main())
