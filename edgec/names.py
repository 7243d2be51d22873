"""The names a file declares and where it refers to them: upstreams, auth providers and variables.

Lint (undefined and unused names) and the language server (go to definition, find
references) read this one walk of the syntax tree, so both agree on what refers to what.
"""
from __future__ import annotations

from typing import Any, Iterator

from .diagnostics import Span
from .keptcode import dataclass
from .syntax import Document, Stmt, Value, VarRef


@dataclass(frozen=True)
class Name:
    kind: str  # upstream | auth | variable
    name: str
    span: Span  # where the name itself is written


def blocks(doc: Document, kind: str) -> list[Stmt]:
    """The statements of `kind` written directly in the edge block."""
    return [s for s in doc.edge.body if s.kind == kind]


def route_references(doc: Document) -> Iterator[tuple[str, Value, Stmt]]:
    """(kind, name value, route) for every upstream and auth provider a route names."""
    for route in blocks(doc, "route"):
        for item in route.walk():
            if item.kind == "forward":
                for name, _ in item.args["backends"]:
                    yield "upstream", name, route
            elif item.kind in ("mirror", "part"):
                yield "upstream", item.args["upstream"], route
            elif item.kind == "auth_ref":
                yield "auth", item.args["name"], route


def variable_references(doc: Document) -> Iterator[VarRef]:
    """Every `${name}` written in the file (secrets and `${env}` are no variables of the file)."""
    for stmt in doc.statements():
        for ref in _refs(stmt.args):
            if not ref.is_secret and ref.name != "env":
                yield ref


def _refs(value: Any) -> Iterator[VarRef]:
    if isinstance(value, VarRef):
        yield value
    elif isinstance(value, Value):
        if value.kind in ("var", "string", "list"):
            yield from _refs(value.value)
    elif isinstance(value, Stmt):
        yield from _refs(value.args)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _refs(item)
    elif isinstance(value, (tuple, list)):
        for item in value:
            yield from _refs(item)


def declarations(doc: Document) -> Iterator[Name]:
    """Each upstream and auth provider, and each assignment of a variable (one per env or vars block)."""
    for stmt in doc.edge.body:
        if stmt.kind in ("upstream", "auth"):
            yield Name(stmt.kind, stmt.args["name"].value, stmt.args["name"].span)
        elif stmt.kind in ("env", "vars"):
            for item in stmt.body:
                if item.kind == "assign":
                    yield Name("variable", item.args["name"].value, item.args["name"].span)


def references(doc: Document) -> Iterator[Name]:
    """Each use of an upstream, an auth provider or a variable."""
    for kind, value, _ in route_references(doc):
        yield Name(kind, value.value, value.span)
    for ref in variable_references(doc):
        yield Name("variable", ref.name, ref.span)
