"""The per-user cache directory: what edgec keeps between runs to start sooner.

The directory is EDGEC_CACHE_DIR when it is set, else edgec/ in XDG_CACHE_HOME when that is
set (as pre-commit chooses its own), else edgec-<uid> in the temp dir. What is kept there is
code that runs when it is loaded (a pickled parser, marshalled functions), so whichever it is,
it must be one that nobody else can write to: one that someone else could write to is not
used. No usable directory means no cache: the caller makes what it needs at every run.
"""
from __future__ import annotations

import functools
import os
import sys
import time
from typing import BinaryIO, Callable


def path(name: str) -> str | None:
    """Where the cache file `name` lives, or None when there is no safe directory for it."""
    uid = os.getuid() if hasattr(os, "getuid") else None
    directory = _directory(uid)
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
    written = 0
    try:
        with open(tmp, "wb") as f:
            dump(f)
            written = f.tell()
        os.replace(tmp, path)
    except Exception:
        try:
            os.remove(tmp)
        except OSError:
            pass
    prune_now_and_then(written=written)


def digest(data: bytes) -> str:
    """A digest that names a file by its content: two inputs never share one (a checksum
    suits telling versions of one thing apart, not naming every file a user edits)."""
    try:
        from _blake2 import blake2b  # hashlib's own, without the ~3 ms of loading OpenSSL
    except ImportError:
        from hashlib import blake2b
    return blake2b(data, digest_size=20).hexdigest()


def installed(module: str) -> str:
    """Where a top-level module is installed and its file's time and size, and the time of the
    folder it is installed in (pip renames a distribution's record there at every install):
    what changes when it is installed again, upgraded or edited in place, read without
    importing it ("" when absent)."""
    import importlib.util
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.has_location or not spec.origin:
        return ""
    folder = os.path.dirname(spec.origin)  # a module's folder, or a package's own
    if spec.submodule_search_locations is not None:
        folder = os.path.dirname(folder)
    try:
        info, installed_in = os.stat(spec.origin), os.stat(folder)
    except OSError:
        return ""
    return f"{spec.origin} {info.st_mtime_ns} {info.st_size} {installed_in.st_mtime_ns}"


# what the analysis of a file reads besides edgec: lark (and the regex module it imports when
# installed) explains syntax errors. A target's check reads more (its libraries, files the
# source names, an envoy on PATH): an analysis with one is not kept (edgec.commands.lint)
_LIBRARIES = ("lark", "regex")
# edgec's packages: edgec itself, and the folders pyproject.toml installs inside it
_PACKAGES = ("edgec", "edgec.grammar", "edgec.targets")


@functools.cache
def code_stamp() -> str | None:
    """What edgec's own code is in this process: this Python, each file of its packages (name,
    time, size: as ccache checks a compiler, without reading 200 files at every start) and
    the libraries its analysis reads. None when its files cannot be listed (a zip)."""
    import importlib.util
    parts = [sys.version, sys.implementation.cache_tag]
    for package in _PACKAGES:
        spec = importlib.util.find_spec(package)
        folders = list(spec.submodule_search_locations or ()) if spec else []
        if not folders:
            return None
        try:
            parts.extend(_files(folders[0]))
        except OSError:
            return None
    parts.extend(installed(name) for name in _LIBRARIES)
    return "\n".join(parts)


def _files(folder: str) -> list[str]:
    out = []
    with os.scandir(folder) as entries:
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                if entry.name != "__pycache__":
                    out.extend(_files(entry.path))
            elif not entry.name.endswith((".pyc", ".tmp")):
                info = entry.stat()
                out.append(f"{entry.path} {info.st_mtime_ns} {info.st_size}")
    out.sort()
    return out


# pruning: files not used for a week go, then the least recently used until the directory
# holds less than a bound. It runs once a day, and once large files written since it last ran
# add up to an eighth of the bound: the IR of 10,000 routes is ~4 MB, and each edit of edgec's
# own code makes every entry a new one, so a day of work on a large file could otherwise fill
# the temp dir. Not after each large file: listing a directory of 12,000 files (a test suite's
# entries) took ~45 ms, a twentieth of each `edgec lint` of 10,000 routes
PRUNE_EVERY_S = 86_400
UNUSED_FOR_S = 7 * 86_400
MAX_BYTES = 256 * 1024 * 1024
LARGE_BYTES = 1024 * 1024  # a file that took long enough to make that a stat or two is cheap beside it
_STAMP = "pruned"
_PENDING = "pruned-pending"  # the bytes of large files written since the last pruning, as text


def prune_now_and_then(now: float | None = None, written: int = 0) -> None:
    """Prune the directory when the last pruning is a day old, or the large files written
    since (`written` bytes just now) add up to MAX_BYTES // 8; called by write(), so a run
    that only reads pays nothing, and one that writes a small file pays a stat."""
    stamp = path(_STAMP)
    if stamp is None:
        return
    now = time.time() if now is None else now
    try:
        due = now - os.stat(stamp).st_mtime >= PRUNE_EVERY_S
    except OSError:
        due = True  # never pruned
    if not due:
        if written < LARGE_BYTES or _pending(os.path.dirname(stamp), written) < MAX_BYTES // 8:
            return
    try:
        with open(stamp, "w"):
            pass
        os.utime(stamp, (now, now))
    except OSError:
        return
    _pending(os.path.dirname(stamp), None)
    prune(os.path.dirname(stamp), now)


def _pending(directory: str, written: int | None) -> int:
    """The bytes of large files written since the last pruning, `written` more (None: none
    any more). Two runs at once may count one file only: the pruning then comes a file later."""
    name = os.path.join(directory, _PENDING)
    try:
        with open(name, encoding="ascii") as f:
            before = int(f.read() or 0)
    except (OSError, ValueError):
        before = 0
    total = 0 if written is None else before + written
    try:
        with open(name, "w", encoding="ascii") as f:
            f.write(str(total))
    except OSError:
        pass
    return total


def prune(directory: str, now: float) -> None:
    """Remove every edgec cache file not used (read or written) for UNUSED_FOR_S, then the
    least recently used ones until the rest is under MAX_BYTES. Last use is the later of the
    file's modification and access times: a file read again is one that mounts with relatime
    mark at least once a day."""
    kept = []
    try:
        with os.scandir(directory) as entries:
            for entry in entries:
                if entry.name in (_STAMP, _PENDING) or not entry.is_file(follow_symlinks=False):
                    continue
                info = entry.stat(follow_symlinks=False)
                used = max(info.st_mtime, info.st_atime)
                # a .tmp file is one a run never finished (it was killed): an hour is enough
                if now - used > (3600 if entry.name.endswith(".tmp") else UNUSED_FOR_S):
                    _remove(entry.path)
                else:
                    kept.append((used, info.st_size, entry.path))
    except OSError:
        return
    total = sum(size for _, size, _ in kept)
    for _, size, name in sorted(kept):
        if total <= MAX_BYTES:
            break
        _remove(name)
        total -= size


def _remove(name: str) -> None:
    try:
        os.remove(name)
    except OSError:
        pass


def _directory(uid: int | None) -> str:
    """The cache directory asked for (see the module's docstring), whether it is safe or not."""
    if os.environ.get("EDGEC_CACHE_DIR"):
        return os.path.abspath(os.environ["EDGEC_CACHE_DIR"])
    if os.environ.get("XDG_CACHE_HOME"):
        return os.path.join(os.path.abspath(os.environ["XDG_CACHE_HOME"]), "edgec")
    return os.path.join(_temp_root(), f"edgec-{uid if uid is not None else 'u'}")


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
