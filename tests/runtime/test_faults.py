"""Faults under load: a backend process killed while GETs flow (the gateway retries on the
other server, ejects the dead one, and takes it back once it returns)."""
from __future__ import annotations

import http.client
import subprocess
import sys
import threading
import time

from tests.conftest import free_port
from tests.runtime.conftest import ROOT, RuntimeProcess, request, wait_port

ECHO = "import sys, time; from edgec.harness.echo import EchoServer; EchoServer(sys.argv[1], port=int(sys.argv[2])).start(); time.sleep(3600)"


def _echo_process(name: str, port: int) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", ECHO, name, str(port)], cwd=ROOT)
    wait_port(port)
    return proc


class Load:
    """Threads sending GETs over keep-alive connections until stopped, counting outcomes."""

    def __init__(self, port: int, threads: int = 6):
        self.port = port
        self.ok = 0
        self.failed: list[str] = []
        self.by_backend: dict[str, int] = {}
        self.running = True
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self._run) for _ in range(threads)]

    def _run(self):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        while self.running:
            try:
                conn.request("GET", "/item")
                r = conn.getresponse()
                r.read()
                with self.lock:
                    if r.status == 200:
                        self.ok += 1
                        b = r.getheader("X-Backend")
                        self.by_backend[b] = self.by_backend.get(b, 0) + 1
                    else:
                        self.failed.append(str(r.status))
            except (OSError, http.client.HTTPException) as err:
                with self.lock:
                    self.failed.append(repr(err))
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        conn.close()

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.running = False
        for t in self.threads:
            t.join(15)

    def count(self, backend: str) -> int:
        with self.lock:
            return self.by_backend.get(backend, 0)


def test_backend_killed_under_load(tmp_path):
    port, pa, pb = free_port(), free_port(), free_port()
    a, b = _echo_process("a", pa), _echo_process("b", pb)
    f = tmp_path / "f.edge"
    f.write_text(f"""edge "faults" {{
      listen http {port}
      upstream app {{
        server "127.0.0.1:{pa}"
        server "127.0.0.1:{pb}"
        passive max_fails 1 fail_timeout 2s
        connect_timeout 1s
      }}
      route r {{ retries 2 on connect_error forward app }}
      access_log off
      metrics "/metrics"
    }}""")
    try:
        with RuntimeProcess(f, port), Load(port) as load:
            time.sleep(1.0)
            assert load.count("b") > 0
            b.kill()  # SIGKILL: its connections die mid-request
            b.wait()
            time.sleep(0.3)
            metrics = request(port, path="/metrics")[2].decode()
            assert f'edge_upstream_up{{server="127.0.0.1:{pb}",upstream="app"}} 0.0' in metrics  # ejected
            during = load.count("b")
            time.sleep(1.0)
            assert load.count("b") == during  # nothing more went to the dead server
            b = _echo_process("b", pb)
            time.sleep(2.5)  # fail_timeout over: back in rotation
            assert load.count("b") > during
        total = load.ok + len(load.failed)
        assert total > 200
        assert len(load.failed) <= total // 1000, load.failed[:5]  # < 0.1 % errors
    finally:
        for p in (a, b):
            p.kill()
            p.wait()
