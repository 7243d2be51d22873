"""Real gateways on loopback: the runtime on a thread, nginx and Envoy as processes.

Each is started on an IR whose listeners and upstream servers already point at this
machine (edgec.harness.live), waits until every listener accepts connections, and is
stopped by PID (the runtime: by its own graceful shutdown).
"""
from __future__ import annotations

import asyncio
import http.client
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

from edgec.diagnostics import Diagnostic, Sink
from edgec.pipeline import emit, secret_resolver
from edgec.runtime.process import Options, Runtime, _new_loop
from edgec.targets import get

from .processes import NotListening, wait_listening
from .processes import stop as stop_process

ENVOY = shutil.which("envoy")


def build(target: str, edge, options: dict[str, str] | None = None, resolve=None, strict: bool = False,
          file: str = "test.edge") -> tuple[dict[str, str] | None, list[Diagnostic]]:
    """(files, diagnostics) from a target, as `edgec build` makes them; files is None when its
    check or its emitter reported an error."""
    sink = Sink(file)
    out = emit(edge, [get(target)], sink, options, resolve, strict)
    return (None if out.refused else out.files), sink.items


class LiveRuntime:
    """The runtime serving `edge` on a thread of the test process."""

    def __init__(self, edge, redis_url: str | None = None, secrets_dir: str | None = None):
        self.edge = edge
        self.options = Options("<test>", lambda: edge, secret_resolver(secrets_dir), redis_url=redis_url,
                               drain_s=5.0, cache_max_bytes=16 * 1024 * 1024)
        self.loop = None
        self.runtime = None
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._main, daemon=True, name="edgec-runtime")

    def _main(self):
        self.loop = _new_loop()
        asyncio.set_event_loop(self.loop)
        self.runtime = Runtime(self.options, self.edge)
        try:
            self.loop.run_until_complete(self.runtime.run(signals=False))
        except BaseException as err:  # noqa: BLE001 (reported to the test by start())
            self.error = err
        finally:
            self.loop.close()

    def start(self) -> "LiveRuntime":
        self.thread.start()
        for lst in self.edge.listeners:
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and self.error is None:
                try:
                    with socket.create_connection(("127.0.0.1", lst.port), timeout=0.2):
                        break
                except OSError:
                    time.sleep(0.02)
            if self.error is not None:
                raise self.error
        return self

    def stop(self) -> None:
        if self.loop is not None and self.thread.is_alive():
            self.loop.call_soon_threadsafe(lambda: asyncio.ensure_future(self.runtime.shutdown()))
            self.thread.join(10)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


class Nginx:
    """A real nginx on a prefix directory; `with Nginx(prefix, ports):` starts and stops it."""

    def __init__(self, prefix: Path, ports: list[int]):
        self.prefix = prefix
        self.ports = ports
        self.proc: subprocess.Popen | None = None

    def start(self) -> "Nginx":
        directives = "daemon off;"
        if os.geteuid() == 0:
            # workers must read the test's private temp directories
            directives += " user root;"
        self.stderr = open(self.prefix / "nginx.stderr", "w")  # noqa: SIM115 (closed in stop)
        self.proc = subprocess.Popen(["nginx", "-p", f"{self.prefix}/", "-c", "nginx.conf", "-e", "stderr",
                                      "-g", directives], stdout=subprocess.DEVNULL, stderr=self.stderr)
        try:
            wait_listening(self.proc, self.ports, 10, "nginx")
        except NotListening as err:
            self.stop()
            raise RuntimeError(f"{err}: " + (self.prefix / "nginx.stderr").read_text()) from None
        return self

    def reload(self) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGHUP)

    def stop(self) -> None:
        stop_process(self.proc)
        if getattr(self, "stderr", None):
            self.stderr.close()

    def errors(self) -> str:
        return (self.prefix / "nginx.stderr").read_text()

    def __enter__(self) -> "Nginx":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


class Envoy:
    """A real Envoy on a bootstrap file; `with Envoy(path, ports):` starts it, waits until
    every listener port accepts connections, and stops it."""

    def __init__(self, config: Path, ports: list[int], admin_port: int | None = None):
        self.config = config
        self.ports = ports
        self.admin_port = admin_port  # when given, start() also waits for the admin's /ready
        self.proc: subprocess.Popen | None = None
        self.log = config.with_suffix(".log")

    def start(self) -> "Envoy":
        self.stderr = open(self.log, "w")  # noqa: SIM115 (closed in stop)
        self.proc = subprocess.Popen([ENVOY, "-c", str(self.config), "--concurrency", "1", "--disable-hot-restart",
                                      "-l", "warning"], stdout=self.stderr, stderr=subprocess.STDOUT,
                                     cwd=self.config.parent)
        try:
            wait_listening(self.proc, self.ports, 30, "envoy")
        except NotListening as err:
            self.stop()
            raise RuntimeError(f"{err}: " + self.log.read_text()[-3000:]) from None
        if self.admin_port is not None:
            self._wait_ready()
        return self

    def _wait_ready(self, timeout: float = 30) -> None:
        """Until Envoy's admin says LIVE (listeners bound is not yet serving)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.admin_port, timeout=1)
                conn.request("GET", "/ready")
                if conn.getresponse().status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError("envoy is not ready: " + self.log.read_text()[-3000:])

    def stop(self) -> None:
        stop_process(self.proc)
        if getattr(self, "stderr", None) and not self.stderr.closed:
            self.stderr.close()

    def output(self) -> str:
        return self.log.read_text()

    def __enter__(self) -> "Envoy":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
