"""The http-level variables a config shares: map, geo and split_clients blocks.

Each is made once per distinct key, on first use, and named in the order of creation
(`edgec_host`, `edgec_a1`, `edgec_a2`, ...), so the same edge always gives the same text.
"""
from __future__ import annotations

from typing import Callable

from .conf import D


class Variables:
    def __init__(self) -> None:
        self.blocks: list[D] = []  # in creation order: the http block lists them so
        self._names: dict[tuple, str] = {}
        self._counters: dict[str, int] = {}

    def __len__(self) -> int:
        return len(self._names)

    def longest(self) -> int:
        """The length of the longest name defined (0 when there is none)."""
        return max(map(len, self._names.values()), default=0)

    def define(self, key: tuple, make: Callable[[str], D]) -> str:
        """The variable for `key` (its first element names the kind): make(name) returns its
        block the first time."""
        name = self._names.get(key)
        if name is None:
            kind = key[0]
            if len(key) == 1:
                name = f"edgec_{kind}"
            else:
                self._counters[kind] = self._counters.get(kind, 0) + 1
                name = f"edgec_{kind}{self._counters[kind]}"
            self._names[key] = name
            self.blocks.append(make(name))
        return name
