"""The runtime's own work per proxied request, without sockets: one request and one response
fed through the real protocol objects (ClientConnection, Exchange, UpstreamConnection) with
transports that only collect what is written. What it measures is the Python the runtime
runs per request (parsing callbacks, routing, policies, heads, metrics); the event loop and
the kernel are left out, so it is steady enough to compare two versions of the data path.

usage: python3 bench/request_path.py [--opcodes] [EDGE (bench/plain.edge)] [REQUESTS (1000000)]
prints one line per number of connections in flight (50, 200): µs of CPU per request, and how
many passes the cyclic collector made meanwhile. With --opcodes (REQUESTS defaults to 10,000):
the Python opcodes and Python function calls run per request instead, counted by a trace
function: slow, but the same on any machine however busy, so two versions of the data path can
be compared where timings are noise."""
from __future__ import annotations

import asyncio
import gc
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from edgec.pipeline import compile_file, secret_resolver  # noqa: E402
from edgec.runtime.process import _GC_GEN0, Options, Runtime, _new_loop  # noqa: E402
from edgec.runtime.server import ClientConnection, Listening  # noqa: E402
from edgec.runtime.upstream import UpstreamConnection  # noqa: E402

REQUEST = b"GET / HTTP/1.1\r\nHost: 127.0.0.1:18080\r\n\r\n"
# what the benchmark's backend (nginx `return 200 "ok\n"`) answers
RESPONSE = (b"HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nDate: Sat, 28 Nov 2026 11:05:11 GMT\r\n"
            b"Content-Type: text/plain\r\nContent-Length: 3\r\nConnection: keep-alive\r\n\r\nok\n")


class Collecting:
    """A transport that keeps nothing: the runtime's writes are counted, not sent."""

    def __init__(self):
        self.written = 0

    def write(self, data):
        self.written += len(data)

    def is_closing(self):
        return False

    def get_extra_info(self, name, default=None):
        return ("127.0.0.1", 40000) if name == "peername" else default

    def close(self):
        raise AssertionError("the benchmark's connections are never closed")

    def pause_reading(self):
        pass

    def resume_reading(self):
        pass


async def serving(file: str, in_flight: int) -> Runtime:
    """The runtime of an edge, its clock running, with one idle keep-alive connection per request
    in flight in the pool of the first route's upstream, as the pool holds under load."""
    edge = compile_file(file).edge
    runtime = Runtime(Options(file, lambda: edge, secret_resolver(None), drain_s=1.0, cache_max_bytes=0), edge)
    runtime.clock.start()
    runtime.gateway = await runtime._gateway(runtime.edge)
    upstream = runtime.gateway.upstreams[runtime.edge.routes[0].action.backends[0].upstream]
    pool = upstream.states[0].pool
    for _ in range(in_flight):
        conn = UpstreamConnection(pool)
        conn.connection_made(Collecting())
        pool.idle.append(conn)
    return runtime


class Tally:
    """A trace function counting the Python opcodes and function calls it sees."""

    def __init__(self):
        self.opcodes = self.calls = 0

    def __call__(self, frame, event, _arg):
        if event == "opcode":
            self.opcodes += 1
        elif event == "call":
            self.calls += 1
            frame.f_trace_opcodes = True
        return self


async def per_request(file: str, requests: int, in_flight: int, opcodes: bool) -> str:
    runtime = await serving(file, in_flight)
    listening = Listening(runtime, "http", runtime.edge.listeners[0].port)
    clients = [ClientConnection(listening) for _ in range(in_flight)]
    for c in clients:
        c.connection_made(Collecting())

    outbox = runtime.clock.outbox

    def batch():  # like two event-loop passes: every client's request, then every backend's answer
        waiting = []
        for c in clients:
            c.data_received(REQUEST)
            waiting.append(c.queue[0].up)
        outbox.send()
        for conn in waiting:
            conn.data_received(RESPONSE)
        outbox.send()

    for _ in range(200):
        batch()
    rounds = requests // in_flight
    served = rounds * in_flight
    if opcodes:
        tally = Tally()
        sys.settrace(tally)
        for _ in range(rounds):
            batch()
        sys.settrace(None)
        runtime.clock.stop()
        return f"{tally.opcodes / served:.0f} Python opcodes and {tally.calls / served:.1f} Python calls per request"
    passes = []
    gc.callbacks.append(lambda phase, _info: passes.append(1) if phase == "start" else None)
    start = time.process_time()
    for _ in range(rounds):
        batch()
    spent = time.process_time() - start
    gc.callbacks.pop()
    runtime.clock.stop()
    return f"{spent / served * 1e6:.2f} µs of CPU per request, {len(passes)} collector passes"


def main() -> None:
    args = sys.argv[1:]
    opcodes = "--opcodes" in args
    if opcodes:
        args.remove("--opcodes")
    file = args[0] if args else "bench/plain.edge"
    requests = int(args[1]) if len(args) > 1 else 10_000 if opcodes else 1_000_000
    gc.freeze()  # as serve_one does
    gc.set_threshold(_GC_GEN0, *gc.get_threshold()[1:])
    for in_flight in (50, 200):
        loop = _new_loop()
        result = loop.run_until_complete(per_request(file, requests, in_flight, opcodes))
        loop.close()
        print(f"{in_flight} in flight: {result} ({requests:,} requests, {file})")


if __name__ == "__main__":
    main()
