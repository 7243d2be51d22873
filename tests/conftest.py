"""Shared fixtures: compiling source text, the samples, and free ports."""
from __future__ import annotations

from pathlib import Path

import pytest

from edgec.harness.processes import free_port  # noqa: F401 (tests import it from here)

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = sorted((ROOT / "samples").glob("*.edge"))


@pytest.fixture
def compile_edge():
    """compile_edge(text, env=None) → pipeline Result (diagnostics, edge)."""
    from edgec.pipeline import analyse

    def _compile(text: str, env: str | None = None, file: str = "test.edge", **kw):
        return analyse(text, file, env=env, **kw)
    return _compile


def sample_envs():
    """(sample path, env) for every sample and each of its envs."""
    from edgec.lower import environments
    from edgec.parse import parse
    out = []
    for path in SAMPLES:
        doc = parse(path.read_text(), str(path))
        for env in environments(doc) or [None]:
            out.append(pytest.param(path, env, id=f"{path.stem}-{env}"))
    return out
