"""The analysis of a file kept between commands, by content (as ccache or mypy keep theirs).

A second `edgec lint F`, or an `edgec build`, `ir`, `explain`… of F after one with the same env
and options, finds what the earlier command made of the very same inputs instead of parsing,
lowering and linting again: lint its diagnostics, the others the IR and its diagnostics. An
entry is named by a digest of everything the analysis reads:

- the source's bytes and the path it is reported under (diagnostics name it);
- the command's choices (the env or every env, --strict, the format check);
- edgec's own code and the installation of lark, which explains syntax errors
  (edgec.usercache.code_stamp), and the Python that runs it.

Parsing, lowering and the lint rules read nothing else: no file the source names, no
environment variable. A target's check does (the keys files of API-key auth, secrets, the
envoy binary that validates the bootstrap), so what is kept never includes one: `lint
--target` is not kept, and `build` checks and emits afresh.

`edgec lint` also keeps what the analysis of each env it lints finds alone (its IR, and
the diagnostics a build of it prints: edgec.lint.run(alone=)), so that the pre-commit order,
lint then `edgec build --env`, analyses once (edgec.pipeline.keep_each_env). What is not
kept: the syntax tree, which pickles and loads at about the cost of parsing it
(bench/results/compile.md), and the text, which the command reading an entry has just read.

The files are in the per-user cache directory (edgec.usercache: a pickle runs code when
loaded). Anything that cannot be read, loaded or kept, or an entry written under another key,
means analysing as without the cache. EDGEC_NO_CACHE=1 or a command's --no-cache turns it off.
"""
from __future__ import annotations

import marshal
import os
from typing import Any

from . import usercache

# the command line's --no-cache (the environment variable says the same for every command)
disabled = False
# bumped when what an entry holds changes shape without edgec's code changing (never so far)
_FORMAT = "1"


def key(kind: str, path: str, source: str, *choices: Any) -> str | None:
    """The entry's name for `kind` of analysis of `source` read from `path` with `choices`
    (repr-able builtins), or None when the cache is off or cannot be used."""
    if disabled or os.environ.get("EDGEC_NO_CACHE", "") not in ("", "0"):
        return None
    code = usercache.code_stamp()
    if code is None:
        return None
    digest = usercache.digest(source.encode("utf-8", "surrogatepass"))
    return usercache.digest(repr((_FORMAT, kind, path, choices, code, digest)).encode(
        "utf-8", "surrogatepass"))


def load_plain(name: str | None) -> Any:
    """What keep_plain kept under `name`, or None."""
    return _load(name, "marshal", marshal.load)


def keep_plain(name: str | None, value: Any) -> None:
    """Keep builtins only (marshal: no pickle to import or run at load)."""
    _keep(name, "marshal", value, marshal.dump)


def load_objects(name: str | None) -> Any:
    from .gcpause import paused
    with paused():  # the IR of a large file is a few hundred thousand objects, none garbage
        return _load(name, "pickle", _pickle().load)


def keep_objects(name: str | None, value: Any) -> None:
    _keep(name, "pickle", value, lambda v, f: _pickle().dump(v, f, protocol=5))  # every Python edgec runs on has 5


def touch_objects(name: str | None) -> bool:
    """Mark what keep_objects kept under `name` used now, as reading it would (pruning drops the
    least recently used first); False when there is none."""
    path = _file(name, "pickle") if name else None
    if path is None:
        return False
    try:
        os.utime(path)
    except OSError:
        return False
    return True


def _pickle():
    """The C pickler, without pickle.py's own imports (struct, the pure-Python pickler): a
    lint that misses imports it to keep each env's analysis."""
    try:
        import _pickle as pickle
    except ImportError:  # a Python without it
        import pickle
    return pickle


def _file(name: str, suffix: str) -> str | None:
    return usercache.path(f"analysis-{name}.{suffix}")


def _load(name: str | None, suffix: str, load) -> Any:
    path = _file(name, suffix) if name else None
    if path is None:
        return None
    try:
        with open(path, "rb") as f:
            kept, value = load(f)
    except Exception:  # none yet, cut short, damaged, or made by a version that no longer fits
        return None
    # the file holds its own name: a file copied or renamed into place is not taken for another
    return value if kept == name else None


def _keep(name: str | None, suffix: str, value: Any, dump) -> None:
    path = _file(name, suffix) if name else None
    if path is not None:
        usercache.write(path, lambda f: dump((name, value), f))

