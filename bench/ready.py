"""How soon `edgec run` serves: from starting the process to the first proxied 200, for
samples/proxy.edge (its dev env, ports moved to free ones) in front of a tiny backend.

    python3 bench/ready.py [--runs 20] [EDGE_FILE]

Prints the median and minimum wall time to the first 200, and the CPU time (user+sys) the
`edgec run` process had used by then: the CPU time holds on a busy machine, the wall time
is the goal's figure on a quiet one. Every process started here is stopped by its PID.
"""
from __future__ import annotations

import argparse
import http.server
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Ok(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", "3")
        self.end_headers()
        self.wfile.write(b"ok\n")

    def log_message(self, *args):
        pass


def _status(port: int) -> int | None:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
            s.sendall(b"GET / HTTP/1.1\r\nHost: blog.test\r\nConnection: close\r\n\r\n")
            head = s.recv(64)
    except OSError:
        return None
    m = re.match(rb"HTTP/1\.1 (\d{3})", head)
    return int(m.group(1)) if m else None


def _cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def once(edgec: list[str], edge: Path, port: int) -> tuple[float, float]:
    start = time.perf_counter()
    proc = subprocess.Popen([*edgec, "run", str(edge), "--env", "dev"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        while _status(port) != 200:
            if proc.poll() is not None:
                raise SystemExit(f"edgec run exited with {proc.returncode}")
            if time.perf_counter() - start > 30:
                raise SystemExit("edgec run did not serve within 30 s")
            time.sleep(0.002)
        wall = time.perf_counter() - start
        return wall, _cpu_s(proc.pid)
    finally:
        os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("edge", nargs="?", default=str(ROOT / "samples" / "proxy.edge"))
    ap.add_argument("--runs", type=int, default=20)
    args = ap.parse_args()
    backend = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Ok)
    threading.Thread(target=backend.serve_forever, daemon=True).start()
    port = _free_port()
    source = Path(args.edge).read_text()
    source = source.replace("port = 8080", f"port = {port}").replace('"127.0.0.1:9001"',
                                                                     f'"127.0.0.1:{backend.server_port}"')
    edgec = [str(Path(sys.executable).with_name("edgec"))]
    with tempfile.TemporaryDirectory() as tmp:
        edge = Path(tmp) / "ready.edge"
        edge.write_text(source)
        once(edgec, edge, port)  # warms the parser cache and the page cache
        walls, cpus = [], []
        for _ in range(args.runs):
            wall, cpu = once(edgec, edge, port)
            walls.append(wall)
            cpus.append(cpu)
    backend.shutdown()
    ms = lambda xs: f"median {statistics.median(xs) * 1000:.0f} ms, min {min(xs) * 1000:.0f} ms"  # noqa: E731
    print(f"first proxied 200 after start ({args.runs} runs): wall {ms(walls)}; CPU of edgec run {ms(cpus)}")


if __name__ == "__main__":
    main()
