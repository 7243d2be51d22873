"""Servers slow to take a connection and slow to answer: for timeouts meant as one deadline
over connecting and the answer (an external auth's check, an aggregation part).

    with slow_pair(deadline_s) as (slow, quick):    # their addresses: slow.address, quick.address
        status, body, failures = ask(base_url, "/path", slow, deadline_s, gives_up=True)
"""
from __future__ import annotations

import contextlib
import http.client
import socket
import threading
import time
from urllib.parse import urlsplit

CONNECT_S = 1  # the kernel's first SYN retransmission


class SlowToAccept:
    """A server that takes about a second to take a connection (its listen queue is full when
    the gateway connects, so the kernel drops the SYN and the gateway's first retransmission, a
    second later, gets through) and then answers 200 with no body after `answer_after_s`.
    `release()` frees the queue: call it just after the gateway connects."""

    def __init__(self, answer_after_s: float, port: int = 0):
        self.answer_after_s = answer_after_s
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", port))
        self.listener.listen(0)  # one connection waiting fills the queue
        self.fillers = []
        for _ in range(2):
            s = socket.socket()
            s.setblocking(False)
            s.connect_ex(self.listener.getsockname())
            self.fillers.append(s)
        self.asked_at: list[float] = []  # time.monotonic() of each request's head
        self.done = threading.Event()

    @property
    def address(self) -> str:
        return "127.0.0.1:%d" % self.listener.getsockname()[1]

    def release(self) -> None:
        for s in self.fillers:  # a filler still connecting stops retransmitting, and takes no place
            s.close()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        self.listener.settimeout(0.2)
        while not self.done.is_set():
            try:
                conn, _ = self.listener.accept()
            except OSError:
                continue
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _answer(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(10)
            head = b""
            while b"\r\n\r\n" not in head:
                try:
                    data = conn.recv(4096)
                except OSError:
                    return
                if not data:
                    return  # a filler the queue held
                head += data
            self.asked_at.append(time.monotonic())
            time.sleep(self.answer_after_s)
            try:
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
            except OSError:
                pass  # the gateway gave up

    def close(self) -> None:
        self.done.set()
        self.listener.close()


@contextlib.contextmanager
def slow_pair(deadline_s: float, slow_port: int = 0, quick_port: int = 0):
    """Two servers that take about a second to connect to: `slow` answers in time for a
    `deadline_s` timeout counted from the connection, too late for the deadline; `quick` at once."""
    slow, quick = SlowToAccept(deadline_s - 0.3, slow_port), SlowToAccept(0.2, quick_port)
    try:
        yield slow, quick
    finally:
        slow.close()
        quick.close()


def ask(base_url: str, path: str, server: SlowToAccept, deadline_s: float, gives_up: bool, cold: bool = False):
    """GET `path` from the gateway at `base_url`, `server` let in after the gateway's first SYN:
    (status, body, what went wrong in the timing): the server was not asked after a slow
    connection, or, when the gateway `gives_up` at the deadline, it answered when the server did.
    A `cold` gateway may take longer than the release to connect, which is then not slow."""
    url = urlsplit(base_url)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=deadline_s + 10)
    t0 = time.monotonic()
    try:
        conn.request("GET", path)
        threading.Timer(0.3, server.release).start()  # after the gateway's SYN, before its retry
        response = conn.getresponse()
        body = response.read()
    finally:
        conn.close()
    took = time.monotonic() - t0
    out = []
    if len(server.asked_at) != 1 or (server.asked_at[0] - t0 < CONNECT_S - 0.2 and not cold):
        out.append(f"{path}: the gateway did not wait for a slow connection (the server was asked at "
                   f"{[round(t - t0, 2) for t in server.asked_at]} s)")
    if gives_up and server.asked_at and took > server.asked_at[0] - t0 + server.answer_after_s:
        out.append(f"{path}: answered after {took:.1f}s, when the server did, not at the {deadline_s}s deadline")
    return response.status, body, out
