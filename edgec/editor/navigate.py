"""Go to definition and find references: upstreams, auth providers and variables, by the
walk lint checks them with (edgec.names)."""
from __future__ import annotations

from ..diagnostics import Span
from ..names import Name, declarations, references
from ..syntax import Document
from .at import contains


def name_at(doc: Document, line: int, column: int) -> Name | None:
    """The declared or used name under the position."""
    for name in (*declarations(doc), *references(doc)):
        if contains(name.span, line, column):
            return name
    return None


def definitions(doc: Document, line: int, column: int) -> list[Span]:
    """Where the name under the position is declared: a variable in each env or vars block
    that assigns it."""
    name = name_at(doc, line, column)
    if name is None:
        return []
    return [d.span for d in declarations(doc) if (d.kind, d.name) == (name.kind, name.name)]


def usages(doc: Document, line: int, column: int, include_declaration: bool) -> list[Span]:
    name = name_at(doc, line, column)
    if name is None:
        return []
    found = [r.span for r in references(doc) if (r.kind, r.name) == (name.kind, name.name)]
    if include_declaration:
        found = definitions(doc, line, column) + found
    return sorted(found, key=lambda s: (s.line, s.column))
