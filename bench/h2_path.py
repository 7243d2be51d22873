"""The runtime's own work per proxied HTTP/2 request, without sockets or TLS: a client made
with the h2 library sends requests on one connection, STREAMS at a time, to the real
H2Connection; each request reaches a backend connection (UpstreamConnection, whose transport
only counts), which answers as the benchmark's backend does; the client reads the frames back
(HEADERS and DATA) and acknowledges them. What is measured is the edge's side only: the whole
process's CPU time less the client's. Like bench/request_path.py for HTTP/1.1, steady enough to compare two versions.

usage: python3 bench/h2_path.py [EDGE (bench/plain.edge)] [REQUESTS (100000)] [--profile | --opcodes]
prints one line per number of streams in flight (1, 10): µs of CPU per request. With --opcodes
(REQUESTS defaults to 2,000): the Python opcodes and calls the edge's side runs per request
instead (bench/request_path.py's count), the same on any machine however busy."""
from __future__ import annotations

import asyncio
import cProfile
import gc
import pstats
import sys
import time
from pathlib import Path

import h2.config
import h2.connection
import h2.events

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.request_path import RESPONSE, Collecting, Tally, serving  # noqa: E402
from edgec.runtime.h2conn import H2Connection  # noqa: E402
from edgec.runtime.process import _GC_GEN0, _new_loop  # noqa: E402
from edgec.runtime.server import Listening  # noqa: E402

REQUEST = [(b":method", b"GET"), (b":path", b"/"), (b":scheme", b"https"), (b":authority", b"127.0.0.1:18443"),
           (b"user-agent", b"h2load nghttp2/1.52.0")]


class Wire(Collecting):
    """The client side of the socket: what the edge writes is kept for the client to read."""

    def __init__(self):
        super().__init__()
        self.chunks = []

    def write(self, data):
        self.chunks.append(data)

    def get_write_buffer_size(self):
        return 0

    def take(self) -> bytes:
        data, self.chunks = b"".join(self.chunks), []
        return data


class Tracing:
    """A Tally that starts and stops as a profile does (Client pauses it for the client's work)."""

    def __init__(self):
        self.tally = Tally()

    def enable(self):
        sys.settrace(self.tally)

    def disable(self):
        sys.settrace(None)


class Client:
    """Sums the CPU time the client spends, to be taken from the whole (the client's work is not
    the edge's); a profile, when given, is paused meanwhile."""

    def __init__(self, profile: cProfile.Profile | None):
        self.spent = 0.0
        self.profile = profile

    def run(self, f, *args):
        if self.profile is not None:
            self.profile.disable()
        t = time.process_time()
        out = f(*args)
        self.spent += time.process_time() - t
        if self.profile is not None:
            self.profile.enable()
        return out


async def per_request_us(file: str, requests: int, streams: int, profile: cProfile.Profile | Tracing | None) -> float:
    runtime = await serving(file, streams)
    edge_side = H2Connection(Listening(runtime, "https", 18443))
    wire = Wire()
    edge_side.connection_made(wire)
    client = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True, header_encoding=None))
    client.initiate_connection()
    client.increment_flow_control_window(1 << 30)
    client_cpu = Client(None)
    edge_side.data_received(client.data_to_send())
    client.receive_data(wire.take())

    def send_requests():
        for _ in range(streams):
            client.send_headers(client.get_next_available_stream_id(), REQUEST, end_stream=True)
        return client.data_to_send()

    def read_answers():
        ended = 0
        for ev in client.receive_data(wire.take()):
            if isinstance(ev, h2.events.DataReceived):
                client.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
            elif isinstance(ev, h2.events.StreamEnded):
                ended += 1
        assert ended == streams, ended
        return client.data_to_send()

    async def batch():  # one loop pass per step, as a read of each socket would be
        edge_side.data_received(client_cpu.run(send_requests))
        for conn in [s.ex.up for s in edge_side.streams.values()]:
            conn.data_received(RESPONSE)
        await asyncio.sleep(0)  # the writes the edge put off to the end of the pass
        acks = client_cpu.run(read_answers)
        if acks:
            edge_side.data_received(acks)

    for _ in range(200 // streams):
        await batch()
    rounds = requests // streams
    client_cpu = Client(profile)
    if profile is not None:
        profile.enable()
    start = time.process_time()
    for _ in range(rounds):
        await batch()
    spent = time.process_time() - start - client_cpu.spent
    if profile is not None:
        profile.disable()
    runtime.clock.stop()
    return spent / (rounds * streams) * 1e6


def main() -> None:
    args = [a for a in sys.argv[1:] if a not in ("--profile", "--opcodes")]
    opcodes = "--opcodes" in sys.argv
    file = args[0] if args else "bench/plain.edge"
    requests = int(args[1]) if len(args) > 1 else 2_000 if opcodes else 100_000
    profile = cProfile.Profile() if "--profile" in sys.argv else None
    gc.freeze()  # as serve_one does
    gc.set_threshold(_GC_GEN0, *gc.get_threshold()[1:])
    for streams in (1, 10):
        if opcodes:
            profile = Tracing()
        loop = _new_loop()
        us = loop.run_until_complete(per_request_us(file, requests, streams, profile))
        loop.close()
        served = requests // streams * streams
        result = (f"{profile.tally.opcodes / served:.0f} Python opcodes and {profile.tally.calls / served:.1f} Python "
                  "calls per request" if opcodes else f"{us:.2f} µs of CPU per request")
        print(f"{streams} stream(s) in flight: {result} ({requests:,} requests, {file})")
    if isinstance(profile, cProfile.Profile):
        pstats.Stats(profile).sort_stats("tottime").print_stats(40)


if __name__ == "__main__":
    main()
