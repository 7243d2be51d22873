"""The conformance corpus: loading it, preparing its IR for a real gateway, and skipping.

Target runners import this module; README.md in this folder shows how.
"""
from __future__ import annotations

import atexit
import functools
import shutil
import tempfile
from pathlib import Path

from edgec import ir, routing
from edgec.cases import Case, CaseFile, load
from edgec.harness.live import case_features, edge_of, server_addresses, skip_reason, with_servers  # noqa: F401 (runners use them)
from edgec.harness.live import with_listener_ports as _with_listener_ports

HERE = Path(__file__).resolve().parent
CORPUS = HERE / "corpus"


@functools.cache
def tls_dir() -> Path:
    """The corpus' TLS listener certificate (cert.pem, key.pem, for edge.test, example.org and the
    loopback addresses), made once per test process: certificates are never checked in."""
    from edgec.runtime import devcert
    directory = Path(tempfile.mkdtemp(prefix="edgec-corpus-tls-"))
    atexit.register(shutil.rmtree, directory, True)
    devcert.ensure(ir.Tls(str(directory / "cert.pem"), str(directory / "key.pem")), ["edge.test", "example.org"])
    return directory


def files() -> list[CaseFile]:
    """Every case file of the corpus, sorted by name (loaded once; treat them as read-only)."""
    return list(_files())


@functools.lru_cache(maxsize=1)
def _files() -> tuple[CaseFile, ...]:
    return tuple(load(str(p)) for p in sorted(CORPUS.glob("*.yaml")))


def cases() -> list[Case]:
    return [c for f in files() for c in f.cases]


def case_id(case: Case) -> str:
    return f"{Path(case.file.path).stem}:{case.name}"


def upstream_names(edge: ir.Edge) -> list[str]:
    return [u.name for u in edge.upstreams]


def with_listener_ports(edge: ir.Edge, ports: dict[int, int], address: str = "127.0.0.1") -> ir.Edge:
    """The edge with its listeners moved to free local ports ({declared port: actual port});
    TLS listeners get the corpus' test certificate (tls_dir)."""
    return _with_listener_ports(edge, ports, address, (str(tls_dir() / "cert.pem"), str(tls_dir() / "key.pem")))


def unnormalised(req: routing.Request) -> bool:
    """Whether the request's path is not in normal form (a gateway that normalises the path
    before routing forwards another path than it was sent)."""
    try:
        return routing.normalize_path(req.path) != req.path
    except routing.BadPath:
        return True
