"""Requests sent together, each on its own connection (circuit breaking, queues)."""
from __future__ import annotations

import http.client
import threading


def statuses(port: int, n: int, path: str, host: str = "edge.test", timeout: float = 10) -> list[int]:
    """The statuses of n GET requests sent at once, in the order they were answered."""
    out: list[int] = []
    lock = threading.Lock()

    def one():
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        c.request("GET", path, headers={"Host": host})
        r = c.getresponse()
        r.read()
        c.close()
        with lock:
            out.append(r.status)
    threads = [threading.Thread(target=one) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return out
