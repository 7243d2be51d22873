"""The syntax tree: what the user wrote, with where they wrote it.

Statements are deliberately generic (a kind, named arguments, an optional body) so
that the formatter and the lint rules can walk every statement the same way; the
lowering stage gives each kind its meaning.
"""
from __future__ import annotations

from dataclasses import field
from typing import Any, Iterator

from .diagnostics import Span
from .keptcode import dataclass

# the most digits a number has, written or in a string (docs/language.md "Bounds"): every
# number then fits a signed 64-bit integer in each target's language
MAX_DIGITS = 18


@dataclass(frozen=True, slots=True)
class VarRef:
    """`${name}` inside a string, or `${secret:NAME}`."""

    name: str
    span: Span

    @property
    def is_secret(self) -> bool:
        return self.name.startswith("secret:")


# Value and Stmt: compared and hashed by their fields, never changed once made, but not
# frozen dataclasses: the parse makes ~130,000 Values and ~90,000 Stmts at 10,000 routes, and
# a frozen __init__ (an object.__setattr__ per field) costs three times a plain one
@dataclass(slots=True, unsafe_hash=True)
class Value:
    """A literal as written. `value` is already decoded:

    string → tuple of str and VarRef parts · int → int · duration → milliseconds ·
    rate → (count, window seconds) · percent → float · size → bytes ·
    var → VarRef · list → tuple of Value · word → str (a bare keyword or name)
    """

    kind: str
    value: Any
    raw: str
    span: Span

    @property
    def text(self) -> str:
        """The string's text when it has no interpolation (else the raw source)."""
        if self.kind == "string" and all(isinstance(p, str) for p in self.value):
            return "".join(self.value)
        if self.kind == "word":
            return self.value
        return self.raw


@dataclass(slots=True, unsafe_hash=True)
class Stmt:
    kind: str
    args: dict[str, Any]
    span: Span
    body: tuple["Stmt", ...] | None = None

    def walk(self) -> Iterator["Stmt"]:
        """This statement and every one inside it, each before those inside it (in source order)."""
        stack = [self]
        while stack:
            stmt = stack.pop()
            yield stmt
            if stmt.body:
                stack += reversed(stmt.body)

    def arg_span(self, name: str) -> Span:
        value = self.args.get(name)
        return value.span if isinstance(value, Value) else self.span


@dataclass(frozen=True)
class Comment:
    text: str
    span: Span


@dataclass(frozen=True)
class Document:
    file: str
    source: str
    edge: Stmt
    comments: tuple[Comment, ...] = field(default=())

    def statements(self) -> Iterator[Stmt]:
        return self.edge.walk()
