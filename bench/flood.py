"""Hostile clients against `edgec run`, with ordinary clients beside them: how many ordinary
requests succeed, how the runtime's resident memory moves, and whether it comes back.

Two rounds against one runtime process (an https listener with http2, an http listener,
one upstream with an active health check, served by a small backend in this process):

  h2flood  FLOODERS connections send PING and SETTINGS frames as fast as they can without
           reading a byte, reconnecting whenever they are dropped, for SECONDS
  heads    200 connections each send a request head of 99 header lines of 8 KB (800 KB),
           as fast as they can, then read the answer (repeated for SECONDS)

Meanwhile 9 clients send one GET at a time over HTTP/1.1 (keep-alive, a fresh connection
after any failure; a request fails if it is not answered 200 within 2 s) and the health
check keeps probing. RSS is read from /proc before, every 0.25 s during, and 3 s after.

usage: python3 bench/flood.py [SECONDS (20)] [FLOODERS (4)]  → one JSON line per round"""
from __future__ import annotations

import asyncio
import datetime
import http.client
import json
import os
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import h2.config
import h2.connection
import h2.settings
from hyperframe.frame import PingFrame, SettingsFrame

ROOT = Path(__file__).resolve().parent.parent
OTHERS = 9


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def backend(port: int) -> subprocess.Popen:
    """An HTTP/1.1 server answering `ok` to everything, in its own process (this one is busy)."""
    return subprocess.Popen([sys.executable, __file__, "--backend", str(port)])


def serve_backend(port: int) -> None:
    async def serve(reader, writer):
        try:
            while True:
                await reader.readuntil(b"\r\n\r\n")
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok\n")
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            writer.close()

    async def main():
        server = await asyncio.start_server(serve, "127.0.0.1", port, backlog=512)
        await server.serve_forever()
    asyncio.run(main())


def certificate(directory: Path) -> tuple[Path, Path]:
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-subj", "/CN=localhost", "-days", "2", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    return cert, key


def rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def tls_context() -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


class Round:
    def __init__(self, pid: int, plain: int, tls: int, seconds: float):
        self.pid, self.plain, self.tls, self.seconds = pid, plain, tls, seconds
        self.stop = threading.Event()
        self.ok = self.failed = 0
        self.hostile = 0  # connections the hostile clients made
        self.dropped = 0  # ... that the runtime ended
        self.lock = threading.Lock()

    def other(self) -> None:
        conn = None
        while not self.stop.is_set():
            try:
                if conn is None:
                    conn = http.client.HTTPConnection("127.0.0.1", self.plain, timeout=2)
                conn.request("GET", "/other", headers={"Host": "bench"})
                r = conn.getresponse()
                r.read()
                good = r.status == 200
            except (OSError, http.client.HTTPException):
                good = False
                conn.close()
                conn = None
            with self.lock:
                if good:
                    self.ok += 1
                else:
                    self.failed += 1
            time.sleep(0.01)

    def h2flood(self) -> None:
        """PING and SETTINGS frames, never reading."""
        frames = b"".join(PingFrame(0, b"%08d" % i).serialize() + SettingsFrame(0, {
            h2.settings.SettingCodes.MAX_CONCURRENT_STREAMS: 100 + i % 2}).serialize() for i in range(500))
        ctx = tls_context()
        ctx.set_alpn_protocols(["h2"])
        while not self.stop.is_set():
            try:
                raw = socket.create_connection(("127.0.0.1", self.tls), timeout=2)
                sock = ctx.wrap_socket(raw, server_hostname="localhost")
                conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
                conn.initiate_connection()
                sock.sendall(conn.data_to_send())
                with self.lock:
                    self.hostile += 1
                while not self.stop.is_set():
                    sock.sendall(frames)
                sock.close()
            except (OSError, ssl.SSLError):
                with self.lock:
                    self.dropped += 1
                time.sleep(0.01)

    def heads(self) -> None:
        """800 KB request heads, as fast as they go, then the answer."""
        head = b"GET / HTTP/1.1\r\nHost: bench\r\n" + b"".join(
            b"X-Pad-%02d: %s\r\n" % (i, b"a" * 8180) for i in range(99)) + b"\r\n"
        while not self.stop.is_set():
            try:
                with socket.create_connection(("127.0.0.1", self.plain), timeout=5) as s:
                    with self.lock:
                        self.hostile += 1
                    try:
                        s.sendall(head)
                    except OSError:
                        pass  # refused part way: the answer is still there to read
                    s.recv(65536)
                    with self.lock:
                        self.dropped += 1
            except OSError:
                time.sleep(0.01)

    def run(self, name: str, hostile, count: int) -> dict:
        before = rss_mib(self.pid)
        threads = [threading.Thread(target=self.other) for _ in range(OTHERS)]
        threads += [threading.Thread(target=hostile) for _ in range(count)]
        for t in threads:
            t.start()
        peak, t_end = before, time.monotonic() + self.seconds
        while time.monotonic() < t_end:
            time.sleep(0.25)
            peak = max(peak, rss_mib(self.pid))
        self.stop.set()
        for t in threads:
            t.join(10)
        time.sleep(3)
        after = rss_mib(self.pid)
        total = self.ok + self.failed
        return {"round": name, "seconds": self.seconds, "hostile_clients": count,
                "hostile_connections": self.hostile, "hostile_dropped": self.dropped,
                "other_requests": total, "other_ok": self.ok,
                "other_success": round(self.ok / total, 4) if total else None,
                "rss_before_mib": round(before, 1), "rss_peak_mib": round(peak, 1),
                "rss_after_mib": round(after, 1), "rss_growth_mib": round(peak - before, 1)}


def upstream_metrics(port: int) -> dict:
    """The runtime's own view of its upstream: up or not, failures counted."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    conn.request("GET", "/metrics", headers={"Host": "bench"})
    text = conn.getresponse().read().decode()
    out = {}
    for line in text.splitlines():
        if line.startswith(("edge_upstream_up{", "edge_upstream_failures_total{")):
            out[line.split("{")[0]] = float(line.rsplit(" ", 1)[1])
    return out


def main() -> None:
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 20.0
    flooders = int(sys.argv[2]) if len(sys.argv) > 2 else 4
    work = Path(tempfile.mkdtemp(prefix="edgec-flood-"))
    back, plain, tls = free_port(), free_port(), free_port()
    backend_proc = backend(back)
    cert, key = certificate(work)
    edge = work / "flood.edge"
    edge.write_text(f"""edge "flood" {{
  listen http {plain}
  listen https {tls} {{ tls cert "{cert}" key "{key}" http2 }}
  upstream app {{
    server "127.0.0.1:{back}"
    health get "/" every 1s timeout 500ms unhealthy 2 healthy 1
  }}
  route r {{ forward app }}
  metrics "/metrics"
  access_log off
}}""")
    proc = subprocess.Popen([sys.executable, "-m", "edgec", "run", str(edge)], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=open(work / "runtime.log", "wb"))
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", plain), timeout=0.2).close()
                socket.create_connection(("127.0.0.1", tls), timeout=0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise SystemExit("the runtime did not start:\n" + (work / "runtime.log").read_text())
                time.sleep(0.1)
        time.sleep(2)  # the first health checks
        print(json.dumps({"time": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
                          "rss_idle_mib": round(rss_mib(proc.pid), 1)}))
        rounds = [r for r in (("h2flood", flooders), ("heads", 200)) if r[0] in os.environ.get("ROUNDS", "h2flood heads")]
        for name, count in rounds:
            r = Round(proc.pid, plain, tls, seconds)
            result = r.run(name, r.h2flood if name == "h2flood" else r.heads, count)
            result["upstream_after"] = upstream_metrics(plain)
            print(json.dumps(result), flush=True)
    finally:
        proc.terminate()
        proc.wait(30)
        backend_proc.terminate()
        backend_proc.wait(30)
        log = (work / "runtime.log").read_text(errors="replace")
        flood_lines = sum("ENHANCE_YOUR_CALM" in line for line in log.splitlines())
        print(json.dumps({"runtime_log_lines": len(log.splitlines()), "calm_lines": flood_lines,
                          "health_changes": sum("health" in line.lower() for line in log.splitlines())}))


if __name__ == "__main__":
    if sys.argv[1:2] == ["--backend"]:
        serve_backend(int(sys.argv[2]))
    else:
        main()
