"""h2 alone, with the edge's configuration, HPACK encoder and decoder, and nothing else of the
edge: a client made with h2 sends bench/h2_path.py's requests on one connection, STREAMS at a
time; the server side receives them and answers each with h2_path's backend answer as the edge
does (send_headers, then one send_data ending the stream). The floor h2 puts under
bench/h2_path.py's figures.

usage: python3 bench/h2_alone.py [REQUESTS (20000)]
prints, per number of streams in flight (1, 10), µs of CPU per request in each h2 call."""
from __future__ import annotations

import sys
import time
from pathlib import Path

import h2.config
import h2.connection
import h2.events

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.h2_path import REQUEST  # noqa: E402
from edgec.runtime.h2conn import _CONFIG  # noqa: E402
from edgec.runtime.hpack_in import RequestDecoder  # noqa: E402
from edgec.runtime.hpack_out import AnswerEncoder  # noqa: E402

ANSWER = [(b":status", b"200"), (b"server", b"nginx/1.22.1"), (b"date", b"Sat, 05 Dec 2026 14:00:00 GMT"),
          (b"content-type", b"text/plain"), (b"content-length", b"3")]


def per_request(streams: int, requests: int) -> dict[str, float]:
    client = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True, header_encoding=None))
    server = h2.connection.H2Connection(_CONFIG)
    server.encoder = AnswerEncoder()
    server.decoder = RequestDecoder(server.decoder.max_header_list_size)
    client.initiate_connection()
    client.increment_flow_control_window(1 << 30)
    server.initiate_connection()
    server.receive_data(client.data_to_send())
    client.receive_data(server.data_to_send())
    spent = dict.fromkeys(("receive_data", "send_headers", "send_data", "data_to_send"), 0.0)
    clock = time.process_time
    for _ in range(requests // streams):
        for _ in range(streams):
            client.send_headers(client.get_next_available_stream_id(), REQUEST, end_stream=True)
        data = client.data_to_send()
        t = clock()
        events = server.receive_data(data)
        spent["receive_data"] += clock() - t
        for ev in events:
            if type(ev) is h2.events.RequestReceived:
                t = clock()
                server.send_headers(ev.stream_id, ANSWER)
                t1 = clock()
                server.send_data(ev.stream_id, b"ok\n", True)
                spent["send_headers"] += t1 - t
                spent["send_data"] += clock() - t1
        t = clock()
        out = server.data_to_send()
        spent["data_to_send"] += clock() - t
        for ev in client.receive_data(out):
            if isinstance(ev, h2.events.DataReceived):
                client.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
        acks = client.data_to_send()
        if acks:
            t = clock()
            server.receive_data(acks)
            spent["receive_data"] += clock() - t
    return {k: v / requests * 1e6 for k, v in spent.items()}


def main() -> None:
    requests = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000
    for streams in (1, 10):
        parts = per_request(streams, requests)
        print(f"{streams} stream(s) in flight: {sum(parts.values()):.2f} µs of CPU per request in h2 ("
              + ", ".join(f"{k} {v:.2f}" for k, v in parts.items()) + f"; {requests:,} requests)")


if __name__ == "__main__":
    main()
