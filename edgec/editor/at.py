"""What is written at a position of a file: the statements around it and the word under it.

Positions count lines and columns from 1, as edgec's spans do; a span holds the position
just after its last character too, where an editor's cursor stands after typing a word.
"""
from __future__ import annotations

import re
from typing import Iterator

from ..diagnostics import Span
from ..syntax import Document, Stmt

WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")


def contains(span: Span | None, line: int, column: int) -> bool:
    return span is not None and (span.line, span.column) <= (line, column) <= (span.end_line, span.end_column)


def _children(stmt: Stmt) -> Iterator[Stmt]:
    """The statements inside one: its body, and the conditions of a match line."""
    yield from stmt.body or ()
    for value in stmt.args.values():
        if isinstance(value, tuple):
            yield from (item for item in value if isinstance(item, Stmt))


def statements(doc: Document, line: int, column: int) -> list[Stmt]:
    """The statements holding the position, outermost (the edge block) first."""
    chain: list[Stmt] = []
    stmt: Stmt | None = doc.edge if contains(doc.edge.span, line, column) else None
    while stmt is not None:
        chain.append(stmt)
        stmt = next((c for c in _children(stmt) if contains(c.span, line, column)), None)
    return chain


def word(source: str, line: int, column: int) -> str | None:
    """The word (a keyword or a name) the position is on or just after."""
    lines = source.split("\n")
    if not 1 <= line <= len(lines):
        return None
    return next((m.group() for m in WORD.finditer(lines[line - 1]) if m.start() < column <= m.end() + 1), None)


def head(source: str, stmt: Stmt) -> str | None:
    """The statement's first word: its keyword (`request_header`, `strip_prefix`, `redirect`)."""
    text = source.split("\n")[stmt.span.line - 1][stmt.span.column - 1:]
    m = WORD.match(text)
    return m.group() if m else None
