"""A fresh virtualenv whose dependencies are those of the interpreter running the tests (so that
installing edgec into it needs no download). --system-site-packages would give the base
interpreter's, which lack them when the tests run from a virtualenv."""
from __future__ import annotations

import subprocess
import sys
import sysconfig
from pathlib import Path


def fresh_venv(path: Path) -> Path:
    subprocess.run([sys.executable, "-m", "venv", str(path)], check=True, timeout=120)
    (site,) = (path / "lib").glob("python*/site-packages")
    paths = dict.fromkeys(sysconfig.get_paths()[k] for k in ("purelib", "platlib"))
    (site / "test-dependencies.pth").write_text("".join(f"{p}\n" for p in paths))
    return path
