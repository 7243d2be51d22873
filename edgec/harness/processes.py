"""Free ports, a port nothing listens on, and waiting for and stopping the processes started here (nginx, Envoy, the runtime,
moto_server, the Spring app)."""
from __future__ import annotations

import functools
import socket
import subprocess
import time


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@functools.cache
def down_address() -> str:
    """"127.0.0.1:PORT" where nothing listens: the port is bound by a socket of this process
    that never listens, kept open while it runs, so a connection to it is refused and no other
    server (a test's, another process') can take the port meanwhile."""
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    _HELD.append(holder)
    return f"127.0.0.1:{holder.getsockname()[1]}"


_HELD: list[socket.socket] = []


class NotListening(RuntimeError):
    pass


def wait_listening(proc: subprocess.Popen, ports, timeout: float, name: str) -> None:
    """Until every port accepts a connection on 127.0.0.1; NotListening when the process
    exits first or the time runs out (the process is left to the caller to stop)."""
    deadline = time.monotonic() + timeout
    for port in ports:
        while True:
            if proc.poll() is not None:
                raise NotListening(f"{name} exited with {proc.returncode}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise NotListening(f"{name} does not listen on {port}") from None
                time.sleep(0.02)


def wait_until(condition, timeout: float = 10.0) -> bool:
    """Whether `condition()` came true within `timeout` seconds (asked every 0.2 s)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return False


def stop(proc: subprocess.Popen | None, grace: float = 10) -> int | None:
    """SIGTERM, wait up to `grace` seconds for a clean exit, then SIGKILL. Returns the exit code."""
    if proc is None:
        return None
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
    return proc.returncode
