"""Running the gateway for tests: in this process on a thread (for IR built in the test), or
as a real `edgec run` process (signals, workers, reload), always on free loopback ports."""
from __future__ import annotations

import http.client
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from edgec.harness.gateways import LiveRuntime  # noqa: F401 (the runtime tests start it)
from edgec.harness.processes import stop as stop_process

ROOT = Path(__file__).resolve().parents[2]


def wait_port(port: int, timeout: float = 10.0, host: str = "127.0.0.1") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.02)
    raise TimeoutError(f"nothing listens on {host}:{port}")


class RuntimeProcess:
    """`edgec run FILE` as a real process, stopped by its PID."""

    def __init__(self, file, port: int, *args: str, env: dict | None = None):
        self.file = str(file)
        self.port = port
        self.args = args
        self.env = {**os.environ, **(env or {})}
        self.proc: subprocess.Popen | None = None
        self.log_path = Path(self.file).with_suffix(f".{port}.log")

    def start(self, wait: bool = True) -> "RuntimeProcess":
        self.log = open(self.log_path, "wb")  # noqa: SIM115 (closed in stop)
        self.proc = subprocess.Popen([sys.executable, "-m", "edgec", "run", self.file, *self.args],
                                     stdout=self.log, stderr=subprocess.STDOUT, env=self.env, cwd=ROOT)
        if wait:
            try:
                wait_port(self.port)
            except TimeoutError:
                self.stop()
                raise AssertionError("runtime did not start:\n" + self.output()) from None
        return self

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def signal(self, sig) -> None:
        self.proc.send_signal(sig)

    def stop(self) -> int | None:
        if self.proc is None:
            return None
        code = stop_process(self.proc)
        self.log.close()
        return code

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def request(port: int, method: str = "GET", path: str = "/", headers: dict | None = None, body=None,
            host: str = "127.0.0.1", timeout: float = 10.0, conn=None):
    """One request; returns (status, headers as a lower-case dict, body bytes)."""
    c = conn or http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        c.request(method, path, body=body, headers=headers or {})
        r = c.getresponse()
        data = r.read()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, data
    finally:
        if conn is None:
            c.close()


def compile_text(text: str, env: str | None = None):
    from edgec.pipeline import analyse
    result = analyse(text, "test.edge", env=env)
    assert result.edge is not None, [f"{d.line}:{d.column} {d.message}" for d in result.diagnostics]
    return result.edge


@pytest.fixture
def echo_servers():
    """echo_servers(*names) → {name: EchoServer}, all stopped after the test."""
    from edgec.harness.echo import EchoServer
    started = []

    def make(*names):
        out = {n: EchoServer(n).start() for n in names}
        started.extend(out.values())
        return out
    yield make
    for e in started:
        e.stop()


@pytest.fixture
def gateway():
    """gateway(edge_text, **LiveRuntime kwargs) → (LiveRuntime, port of its first listener)."""
    running = []

    def make(text: str, **kw):
        rt = LiveRuntime(compile_text(text), **kw).start()
        running.append(rt)
        return rt, rt.edge.listeners[0].port
    yield make
    for rt in running:
        rt.stop()
