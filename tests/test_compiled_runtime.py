"""The runtime's test suite again, on the request path as `pip install .` builds it: compiled with
mypyc (setup.py). Compiled code raises TypeError wherever an annotation is false at run time,
which the pure modules (the editable install the other tests run) never show. The modules are
taken from a wheel built with the pinned mypy of [build-system], kept in ~/.cache/edgec-compiled
by a digest of what they are built from (the first run builds it, in about a minute), and put
beside the sources in a copy of the repository, which the suite runs from."""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from .conftest import ROOT
from .language.test_packaging import build_wheel, compiled_modules
from .support.venvs import copy_checkout

CACHE = Path.home() / ".cache" / "edgec-compiled"


def built_from() -> str:
    """A digest of setup.py, pyproject.toml (the pinned mypy), the package's modules (what the
    compiled ones are checked against) and the interpreter."""
    digest = hashlib.sha256(sys.version.encode())
    for path in [ROOT / "setup.py", ROOT / "pyproject.toml", *sorted((ROOT / "edgec").rglob("*.py"))]:
        digest.update(path.relative_to(ROOT).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:24]


@pytest.fixture(scope="module")
def compiled_copy(tmp_path_factory) -> Path:
    kept = CACHE / built_from()
    if not kept.is_dir():
        tmp = tmp_path_factory.mktemp("build")
        whl = build_wheel(tmp / "src", tmp / "wheel")
        assert compiled_modules(whl), "the wheel holds no compiled module"
        staged = Path(str(kept) + f".{os.getpid()}")
        shutil.rmtree(staged, ignore_errors=True)
        staged.mkdir(parents=True)
        shutil.copy2(whl, staged / whl.name)
        try:
            staged.rename(kept)  # whole or not at all
        except OSError:  # another run kept the same build meanwhile
            shutil.rmtree(staged)
        for old in CACHE.iterdir():  # builds of other sources, unused for a day
            if old != kept and time.time() - old.stat().st_mtime > 86400:
                shutil.rmtree(old, ignore_errors=True)
    os.utime(kept)  # in use
    (whl,) = kept.glob("edgec-*.whl")
    copy = copy_checkout(tmp_path_factory.mktemp("compiled") / "edgec", ROOT)
    with zipfile.ZipFile(whl) as archive:
        for name in compiled_modules(whl):
            archive.extract(name, copy)
    return copy


def in_copy(copy: Path, *args: str, timeout: float) -> subprocess.CompletedProcess:
    environ = {**os.environ, "PYTHONPATH": str(copy)}
    return subprocess.run([sys.executable, *args], cwd=copy, env=environ, capture_output=True, text=True,
                          timeout=timeout)


def test_the_runtime_suite_passes_on_the_compiled_request_path(compiled_copy):
    version = in_copy(compiled_copy, "-m", "edgec", "--version", timeout=60)
    assert version.stdout.strip().endswith("(runtime compiled)"), version.stdout + version.stderr
    run = in_copy(compiled_copy, "-m", "pytest", "-p", "no:cacheprovider", "-q", "tests/runtime", timeout=1800)
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
