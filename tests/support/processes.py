"""Stopping the processes tests start (nginx, the runtime, moto_server, the Spring app)."""
from __future__ import annotations

import subprocess


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
