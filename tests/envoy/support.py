"""Building a bootstrap with the envoy target and running the real Envoy on it.

Every Envoy started here runs with one worker, its admin listener on a free loopback
port, no hot-restart shared memory, and is stopped by PID.
"""
from __future__ import annotations

import dataclasses
import http.client
import shutil
import subprocess
import time
from pathlib import Path

from edgec import ir
from edgec.diagnostics import Diagnostic, Sink
from edgec.targets import BuildContext, get
from tests.conftest import free_port
from tests.support.processes import NotListening, wait_listening
from tests.support.processes import stop as stop_process

ENVOY = shutil.which("envoy")


def build(edge: ir.Edge, options: dict[str, str] | None = None, strict: bool = False,
          secrets: dict[str, str] | None = None) -> tuple[dict[str, str] | None, list[Diagnostic]]:
    """(files, diagnostics) from the envoy target; files is None when it reported an error."""
    sink = Sink("test.edge")
    table = dict(secrets or {})
    target = get("envoy")
    ctx = BuildContext(edge, sink, dict(options or {}), lambda s: table[s.secret], target="envoy", strict=strict)
    target.check(ctx)
    if sink.has_errors:
        return None, sink.items
    return target.emit(ctx), sink.items


def validate(path: Path) -> subprocess.CompletedProcess:
    return subprocess.run([ENVOY, "--mode", "validate", "-c", str(path), "--disable-hot-restart", "-l", "error"],
                          capture_output=True, text=True, timeout=120, cwd=path.parent)


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


def write(files: dict[str, str], directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for rel, content in files.items():
        (directory / rel).write_text(content, encoding="utf-8")
    return directory / "envoy.yaml"


def admin_options() -> dict[str, str]:
    """A free admin port, so that several Envoys can run at once."""
    return {"admin_port": str(free_port())}


def localise(edge: ir.Edge) -> ir.Edge:
    """The edge with deploy-host inputs made local (behaviour unchanged): certificates at
    tls/cert.pem and tls/key.pem, a log file at logs/access.log (both relative to the
    directory Envoy runs in)."""
    lsts = tuple(dataclasses.replace(lst, tls=dataclasses.replace(lst.tls, cert="tls/cert.pem", key="tls/key.pem"))
                 if lst.tls else lst for lst in edge.listeners)
    obs = edge.observability
    if obs.access_log.path != "-":
        obs = dataclasses.replace(obs, access_log=dataclasses.replace(obs.access_log, path="logs/access.log"))
    return dataclasses.replace(edge, listeners=lsts, observability=obs)


def prepare(directory: Path, certs: tuple[bytes, bytes]) -> None:
    """The files a localised bootstrap names, in the directory Envoy runs in."""
    (directory / "tls").mkdir(parents=True, exist_ok=True)
    (directory / "tls" / "cert.pem").write_bytes(certs[0])
    (directory / "tls" / "key.pem").write_bytes(certs[1])
    (directory / "logs").mkdir(exist_ok=True)
