"""A fresh virtualenv whose dependencies are those of the interpreter running the tests (so that
installing edgec into it needs no download). --system-site-packages would give the base
interpreter's, which lack them when the tests run from a virtualenv."""
from __future__ import annotations

import site
import subprocess
import sys
import sysconfig
from pathlib import Path


def fresh_venv(path: Path) -> Path:
    """The venv reads the test interpreter's own site directories, each after its own: those of
    a virtualenv made with --system-site-packages include the base interpreter's, where its
    dependencies may be. Only their modules are seen: a .pth of theirs (such as the editable
    install of the checkout) is not run, so edgec is the one installed into the venv."""
    subprocess.run([sys.executable, "-m", "venv", str(path)], check=True, timeout=120)
    (own,) = (path / "lib").glob("python*/site-packages")
    paths = dict.fromkeys([*(sysconfig.get_paths()[k] for k in ("purelib", "platlib")), *site.getsitepackages()])
    (own / "test-dependencies.pth").write_text("".join(f"{p}\n" for p in paths))
    return path
