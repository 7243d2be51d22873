"""Hold N keep-alive connections to a proxy for S seconds, each sending one GET per second
(so the test is about holding connections, not about throughput), and report requests,
errors, the slowest answer, and the proxy's peak resident memory. Prints one JSON line.

usage: hold.py PID HOST PORT CONNECTIONS SECONDS"""
from __future__ import annotations

import asyncio
import json
import random
import sys
import time


async def client(host: str, port: int, until: float, stats: dict) -> None:
    try:
        reader, writer = await asyncio.open_connection(host, port)
    except OSError as err:
        stats["errors"].append(f"connect: {err}")
        return
    await asyncio.sleep(random.random())  # spread the requests over each second
    try:
        while time.monotonic() < until:
            t0 = time.monotonic()
            writer.write(b"GET / HTTP/1.1\r\nHost: bench\r\n\r\n")
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head.split(b" ", 2)[1])
            length = next((int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                           if line.lower().startswith(b"content-length:")), 0)
            await reader.readexactly(length)
            stats["slowest"] = max(stats["slowest"], time.monotonic() - t0)
            if status != 200:
                stats["errors"].append(f"status {status}")
            stats["requests"] += 1
            await asyncio.sleep(1.0)
    except (OSError, asyncio.IncompleteReadError, ValueError) as err:
        stats["errors"].append(repr(err))
    finally:
        writer.close()


async def main() -> None:
    pid, host, port, conns, seconds = sys.argv[1:]
    stats = {"requests": 0, "errors": [], "slowest": 0.0}
    until = time.monotonic() + float(seconds)
    await asyncio.gather(*(client(host, int(port), until, stats) for _ in range(int(conns))))
    with open(f"/proc/{pid}/status") as f:
        peak_kb = next(int(line.split()[1]) for line in f if line.startswith("VmHWM"))
    print(json.dumps({"connections": int(conns), "seconds": float(seconds), "requests": stats["requests"],
                      "errors": len(stats["errors"]), "first_errors": stats["errors"][:3],
                      "slowest_ms": round(stats["slowest"] * 1000, 1), "peak_rss_mib": round(peak_kb / 1024, 1)}))


if __name__ == "__main__":
    asyncio.run(main())
