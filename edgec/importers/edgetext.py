"""Writing .edge source: quoted strings and names, statements and blocks, then the canonical layout.

The importers build their output with these helpers only, so every value read from a foreign
configuration reaches the file quoted, and the file is laid out as `edgec fmt` lays it out.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..fmt import format_source

_ESCAPES = {"\\": "\\\\", '"': '\\"', "$": "\\$", "\n": "\\n", "\t": "\\t", "\r": "\\r"}


def string(text: str) -> str:
    """`text` as a string literal of the language: nothing in it can end the string or name a variable."""
    return '"' + "".join(_ESCAPES.get(c, c) for c in text) + '"'


def name(text: str, taken: set[str] | None = None, fallback: str = "item") -> str:
    """A valid name made from `text` (letters, digits, `_`, `-`, starting with a letter or `_`),
    distinct from every name in `taken` (which it is added to)."""
    base = re.sub(r"[^A-Za-z0-9_-]+", "_", text).strip("_-") or fallback
    if not (base[0].isalpha() or base[0] == "_"):
        base = f"{fallback}_{base}"
    out, n = base, 2
    while taken is not None and out in taken:
        out, n = f"{base}_{n}", n + 1
    if taken is not None:
        taken.add(out)
    return out


@dataclass
class Block:
    """A statement with a body: `head { ... }`. Items are statement lines (str) or nested Blocks;
    a comment line is an item starting with '#'."""

    head: str
    items: list = field(default_factory=list)
    comment: str | None = None  # written on the line above the block

    def add(self, line: str, comment: str | None = None) -> None:
        if comment:
            self.items.extend(f"# {c}" for c in comment.splitlines())
        self.items.append(line)

    def lines(self, depth: int = 0) -> list[str]:
        pad = "  " * depth
        out = [f"{pad}# {c}" for c in (self.comment or "").splitlines()]
        out.append(f"{pad}{self.head} {{")
        for item in self.items:
            if isinstance(item, Block):
                out.extend(item.lines(depth + 1))
            elif not item:
                out.append("")  # a blank line between groups of statements
            else:
                out.append(f"{pad}  {item}")
        out.append(f"{pad}}}")
        return out


def render(top_comment: list[str], edge: Block, file: str) -> str:
    """The file: a comment at the top, then the edge block, in the canonical layout."""
    text = "\n".join([f"# {c}" if c else "#" for c in top_comment] + edge.lines()) + "\n"
    return format_source(text, file)
