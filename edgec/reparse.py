"""Parsing a changed file again, reusing what the change left alone: the editor's case.

A keystroke changes one statement of a long file. reparse() finds the top-level statements
(routes, upstreams...) the changed lines touch and parses only their lines; the statements
before them are kept as they were (the same objects), those after them too, moved by the
number of lines the change added or removed. The lines parsed keep their line numbers (the
text is laid out at the same lines behind an `edge` opener), so every span is what a whole
parse gives. A change it cannot confine (the edge block's own lines, a statement sharing a
line with one kept) or a slice with a syntax error (whose message may depend on what comes
before it) is left to a whole parse: reparse() then returns None.
"""
from __future__ import annotations

from typing import Any

from .diagnostics import CompileError, Sink, Span
from .syntax import Document, Stmt, Value, VarRef


def reparse(old: Document, text: str) -> Document | None:
    if text == old.source:
        return old
    old_lines, new_lines = old.source.split("\n"), text.split("\n")
    same_start = next((i for i, (a, b) in enumerate(zip(old_lines, new_lines)) if a != b),
                      min(len(old_lines), len(new_lines)))
    same_end = next((i for i, (a, b) in enumerate(zip(reversed(old_lines[same_start:]),
                                                       reversed(new_lines[same_start:]))) if a != b),
                    min(len(old_lines), len(new_lines)) - same_start)
    first, last = same_start + 1, len(old_lines) - same_end  # the lines changed, in the old text
    moved = len(new_lines) - len(old_lines)
    body = old.edge.body or ()
    before = [s for s in body if s.span.end_line < first]  # statements are in order: a prefix
    after = [s for s in body if s.span.line > last]  # and a suffix
    if not before or not after or not _apart(body, before, after):
        return None
    middle = _parse_lines(new_lines, before[-1].span.end_line + 1, after[0].span.line - 1 + moved, old.file)
    if middle is None:
        return None
    from .parse import _comments
    kept_after = tuple(after) if not moved else tuple(_moved(s, moved) for s in after)
    edge = Stmt(old.edge.kind, old.edge.args, _moved(old.edge.span, moved, old.edge.span.line),
                tuple(before) + middle + kept_after)
    return Document(old.file, text, edge, tuple(_comments(text)))


def _apart(body: tuple[Stmt, ...], before: list[Stmt], after: list[Stmt]) -> bool:
    """The statements parsed again start on a line after the last one kept before, and end
    on a line before the first one kept after (none shares a line with those)."""
    return all(s.span.line > before[-1].span.end_line for s in body[len(before):]) and \
        all(s.span.end_line < after[0].span.line for s in body[:len(body) - len(after)])


def _parse_lines(lines: list[str], start: int, end: int, file: str) -> tuple[Stmt, ...] | None:
    """The top-level statements written on lines start..end, with their spans in the file."""
    from .parse import parse
    if start > end:
        return ()
    # the opener on line 1, blank lines up to `start`: every statement keeps its line number
    text = 'edge "x" {' + "\n" * (start - 1) + "\n".join(lines[start - 1:end]) + "\n}\n"
    try:
        doc = parse(text, file, Sink(file))
    except CompileError:
        return None
    return doc.edge.body or ()


def _moved(node: Any, lines: int, fixed_start: int | None = None) -> Any:
    """The node as it is `lines` lines further down (its start kept at fixed_start if given)."""
    if isinstance(node, Span):
        return Span(fixed_start or node.line + lines, node.column, node.end_line + lines, node.end_column)
    if isinstance(node, Stmt):
        return Stmt(node.kind, _moved(node.args, lines), _moved(node.span, lines),
                    None if node.body is None else tuple(_moved(s, lines) for s in node.body))
    if isinstance(node, Value):
        return Value(node.kind, _moved(node.value, lines), node.raw, _moved(node.span, lines))
    if isinstance(node, VarRef):
        return VarRef(node.name, _moved(node.span, lines))
    if isinstance(node, dict):
        return {k: _moved(v, lines) for k, v in node.items()}
    if isinstance(node, tuple):
        return tuple(_moved(v, lines) for v in node)
    return node
