"""The grammar's parser kept between runs, in two files of a per-user directory.

- The one-pass parse's tables (edgec.lalr.tables), builtins only, marshalled: all a
  well-formed file needs, loaded without importing lark.
- The built Lark object, pickled whole, for the error-reporting parse (edgec.syntax_errors)
  and the editor support: lark's own cache stores tables and rebuilds the parser objects
  from them at every load, which takes three times as long as unpickling.

The files are in the per-user cache directory (edgec.usercache: a pickle runs code when
loaded); a file is named by a checksum of everything it is made from, replaced whole, and
rebuilt when it cannot be read or loaded.
"""
from __future__ import annotations

import marshal
import sys
import zlib
from typing import TYPE_CHECKING, Callable

from . import usercache

if TYPE_CHECKING:
    from lark import Lark


def load_tables(build: Callable[[], dict], *key_parts: str) -> dict:
    path = _path("tables", "marshal", key_parts)
    if path is not None:
        try:
            with open(path, "rb") as f:
                data = marshal.load(f)
            if isinstance(data, dict):
                return data
        except (OSError, EOFError, ValueError, TypeError):  # missing, truncated, or not ours: rebuild
            pass
    data = build()
    if path is not None:
        usercache.write(path, lambda f: marshal.dump(data, f))
    return data


def load_or_build(build: Callable[[], "Lark"], *key_parts: str) -> "Lark":
    path = _path("parser", "pickle", key_parts)
    if path is not None:
        try:
            with open(path, "rb") as f:
                return _unpickler(f).load()
        except Exception:  # missing, truncated, or from an edgec that no longer fits: rebuild
            pass
    built = build()
    if path is not None:
        usercache.write(path, lambda f: _pickler(f).dump(built))
    return built


def _path(kind: str, suffix: str, key_parts: tuple) -> str | None:
    # a checksum, not a digest: the directory is the user's own, the key only tells versions apart
    key = zlib.crc32("\0".join((sys.version, *key_parts)).encode("utf-8", "surrogatepass"))
    return usercache.path(f"{kind}-{key:08x}.{suffix}")


# objects a parser refers to that must stay the very same objects (lark tests `action is Shift`)
def _shared() -> dict:
    from lark.parsers.lalr_analysis import Reduce, Shift
    return {"Shift": Shift, "Reduce": Reduce}


def _pickler(f):
    import pickle
    import types

    shared = _shared()

    class Pickler(pickle.Pickler):
        def persistent_id(self, obj):
            if isinstance(obj, types.ModuleType):  # the `re` module the lexers use
                return ("module", obj.__name__)
            for name, value in shared.items():
                if obj is value:
                    return ("shared", name)
            return None

    return Pickler(f, protocol=pickle.HIGHEST_PROTOCOL)


def _unpickler(f):
    import importlib
    import pickle

    shared = _shared()

    class Unpickler(pickle.Unpickler):
        def persistent_load(self, pid):
            kind, name = pid
            if kind == "module":
                return importlib.import_module(name)
            return shared[name]

    return Unpickler(f)
