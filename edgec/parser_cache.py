"""The grammar's parser kept between runs: the built Lark object, pickled whole.

lark's own cache stores the grammar's tables and rebuilds the parser objects from them at
every start (~20 ms, a fifth of `edgec lint` on a sample); unpickling the built parser
takes a third of that. The file lives in a per-user directory of the temp dir that nobody
else can write to (a pickle runs code when loaded), under a key of everything the parser
is made from. A file that cannot be read or loaded is rebuilt; a directory that cannot be
used means no cache.
"""
from __future__ import annotations

import hashlib
import importlib
import os
import pickle
import sys
import tempfile
import types

from lark import Lark
from lark.parsers.lalr_analysis import Reduce, Shift

# objects a parser refers to that must stay the very same objects (lark tests `action is Shift`)
_SHARED = {"Shift": Shift, "Reduce": Reduce}


def load_or_build(build, *key_parts: str) -> Lark:
    path = _path(*key_parts)
    if path is not None:
        try:
            with open(path, "rb") as f:
                return _Unpickler(f).load()
        except Exception:  # missing, truncated, or from an edgec that no longer fits: rebuild
            pass
    built = build()
    if path is not None:
        _save(built, path)
    return built


def _path(*key_parts: str) -> str | None:
    key = hashlib.sha256("\0".join((sys.version, *key_parts)).encode()).hexdigest()[:16]
    uid = os.getuid() if hasattr(os, "getuid") else None
    directory = os.path.join(tempfile.gettempdir(), f"edgec-{uid if uid is not None else 'u'}")
    try:
        os.makedirs(directory, mode=0o700, exist_ok=True)
        info = os.stat(directory)
    except OSError:
        return None
    if uid is not None and (info.st_uid != uid or info.st_mode & 0o022):
        return None  # someone else could put a file there for us to load
    return os.path.join(directory, f"parser-{key}.pickle")


def _save(built: Lark, path: str) -> None:
    tmp = f"{path}.{os.getpid()}.tmp"
    try:
        with open(tmp, "wb") as f:
            _Pickler(f, protocol=pickle.HIGHEST_PROTOCOL).dump(built)
        os.replace(tmp, path)  # whole or not at all, whatever other runs do at the same time
    except (OSError, pickle.PicklingError, TypeError, AttributeError):
        try:
            os.remove(tmp)
        except OSError:
            pass


class _Pickler(pickle.Pickler):
    def persistent_id(self, obj):
        if isinstance(obj, types.ModuleType):  # the `re` module the lexers use
            return ("module", obj.__name__)
        for name, shared in _SHARED.items():
            if obj is shared:
                return ("shared", name)
        return None


class _Unpickler(pickle.Unpickler):
    def persistent_load(self, pid):
        kind, name = pid
        if kind == "module":
            return importlib.import_module(name)
        return _SHARED[name]
