"""Building a bootstrap with the envoy target and running the real Envoy on it.

Every Envoy started here runs with one worker, its admin listener on a free loopback
port, no hot-restart shared memory, and is stopped by PID.
"""
from __future__ import annotations

import dataclasses
import subprocess
from pathlib import Path

from edgec import ir
from edgec.diagnostics import Diagnostic
from edgec.harness import gateways
from edgec.harness.gateways import ENVOY, Envoy  # noqa: F401 (the envoy tests start it)
from edgec.harness.processes import free_port



def build(edge: ir.Edge, options: dict[str, str] | None = None, strict: bool = False,
          secrets: dict[str, str] | None = None) -> tuple[dict[str, str] | None, list[Diagnostic]]:
    """(files, diagnostics) from the envoy target; files is None when it reported an error."""
    table = dict(secrets or {})
    return gateways.build("envoy", edge, options, lambda s: table[s.secret], strict)


def validate(path: Path) -> subprocess.CompletedProcess:
    return subprocess.run([ENVOY, "--mode", "validate", "-c", str(path), "--disable-hot-restart", "-l", "error"],
                          capture_output=True, text=True, timeout=120, cwd=path.parent)


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
