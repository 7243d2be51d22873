"""A fresh virtualenv whose dependencies are those of the interpreter running the tests (so that
installing edgec into it needs no download). --system-site-packages would give the base
interpreter's, which lack them when the tests run from a virtualenv. And a fresh copy of the
repository to install or run from."""
from __future__ import annotations

import shutil
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


def copy_checkout(root: Path, repository: Path) -> Path:
    """`repository`'s files as they are now (tracked, and new ones not ignored) in `root`."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=repository,
                            capture_output=True, text=True, check=True).stdout.split("\0")
    for rel in filter(None, listed):
        source = repository / rel
        if source.is_file():
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, root / rel)
    return root
