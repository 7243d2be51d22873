"""The per-user cache directory: what edgec keeps between runs to start sooner.

What is kept there is code that runs when it is loaded (a pickled parser, marshalled
functions), so the directory is one of the temp dir that nobody else can write to, and one
that someone else could write to is not used. No usable directory means no cache: the
caller makes what it needs at every run.
"""
from __future__ import annotations

import os
from typing import BinaryIO, Callable


def path(name: str) -> str | None:
    """Where the cache file `name` lives, or None when there is no safe directory for it."""
    uid = os.getuid() if hasattr(os, "getuid") else None
    directory = os.path.join(_temp_root(), f"edgec-{uid if uid is not None else 'u'}")
    try:
        os.makedirs(directory, mode=0o700, exist_ok=True)
        info = os.stat(directory)
    except OSError:
        return None
    if uid is not None and (info.st_uid != uid or info.st_mode & 0o022):
        return None  # someone else could put a file there for us to load
    return os.path.join(directory, name)


def write(path: str, dump: Callable[[BinaryIO], None]) -> None:
    """Write the file with `dump`, whole or not at all whatever other runs do at the same time;
    a file that cannot be written, or an object that does not keep, is left out (the next run
    makes it again)."""
    tmp = f"{path}.{os.getpid()}.tmp"
    try:
        with open(tmp, "wb") as f:
            dump(f)
        os.replace(tmp, path)
    except Exception:
        try:
            os.remove(tmp)
        except OSError:
            pass


def _temp_root() -> str:
    """tempfile.gettempdir()'s first choices, without importing tempfile at every start (it
    brings shutil, random and the compression modules). A choice that cannot be written to is
    not passed over as tempfile would: it means no cache."""
    for variable in ("TMPDIR", "TEMP", "TMP"):
        if os.environ.get(variable):
            return os.path.abspath(os.environ[variable])
    if os.name == "posix":
        return "/tmp"
    import tempfile
    return tempfile.gettempdir()
