"""Compiling a file builds many long-lived objects and frees few, so the cyclic garbage
collector's passes over them are wasted work that grows with the file: about half the CPU
time of linting 10,000 routes (bench/compile.py). A compile makes no reference cycles
worth collecting midway, so the collector pauses while one runs and resumes after."""
from __future__ import annotations

import gc
from contextlib import contextmanager
from typing import Iterator


@contextmanager
def paused() -> Iterator[None]:
    if not gc.isenabled():  # already paused by a caller
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
