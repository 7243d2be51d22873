"""Shared fixtures: compiling source text, the samples, and free ports."""
from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

import pytest

# edgec's cache (edgec.usercache) of this session's own, before anything of edgec is imported
# and for every edgec the tests start: the 9,000-13,000 entries a run of the suite leaves would
# otherwise fill the user's own directory and slow their lints. It is removed as the session ends
os.environ["EDGEC_CACHE_DIR"] = _SESSION_CACHE = tempfile.mkdtemp(prefix="edgec-tests-")
_SESSION_PID = os.getpid()


@atexit.register
def _remove_session_cache() -> None:
    if os.getpid() == _SESSION_PID:  # not a child forked by a test as it exits
        shutil.rmtree(_SESSION_CACHE, ignore_errors=True)


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


def cache_in_temp_dir(monkeypatch, directory: Path) -> None:
    """edgec's cache where it is by default, edgec-<uid> in the temp dir, with `directory` for
    the temp dir: what tests of that default and a cache of a test's own use."""
    monkeypatch.delenv("EDGEC_CACHE_DIR", raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setenv("TMPDIR", str(directory))


def env_with_temp_dir(directory: Path) -> dict[str, str]:
    """The environment of an edgec started with its cache in the temp dir `directory`."""
    with pytest.MonkeyPatch.context() as patch:
        cache_in_temp_dir(patch, directory)
        return dict(os.environ)
