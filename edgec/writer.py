"""Writing output files all-or-nothing: a failed build never leaves half its files behind."""
from __future__ import annotations

import os
import shutil
import tempfile


def write_atomically(path: str, content: str | bytes, mode: int | None = None) -> None:
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".edgec-", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(content.encode("utf-8") if isinstance(content, str) else content)
        if mode is not None:
            os.chmod(tmp, mode)
        elif os.path.exists(path):
            os.chmod(tmp, os.stat(path).st_mode & 0o777)
        else:
            os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_tree(out_dir: str, files: dict[str, str], executable: frozenset[str] = frozenset(),
               private: frozenset[str] = frozenset()) -> list[str]:
    """Write every file under out_dir, or none: files go to a staging directory first, and
    are moved into place only when all of them were written."""
    out_dir = os.path.abspath(out_dir)
    os.makedirs(out_dir, exist_ok=True)
    staging = tempfile.mkdtemp(prefix=".edgec-build-", dir=out_dir)
    written = []
    try:
        for rel, content in sorted(files.items()):
            if os.path.isabs(rel) or ".." in rel.split("/"):
                raise ValueError(f"refusing to write outside the output directory: {rel}")
            dest = os.path.join(staging, rel)
            os.makedirs(os.path.dirname(dest), exist_ok=True)
            with open(dest, "w", encoding="utf-8", newline="\n") as f:
                f.write(content)
            os.chmod(dest, 0o755 if rel in executable else 0o600 if rel in private else 0o644)
        for rel in sorted(files):
            final = os.path.join(out_dir, rel)
            os.makedirs(os.path.dirname(final), exist_ok=True)
            os.replace(os.path.join(staging, rel), final)
            written.append(final)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return written
