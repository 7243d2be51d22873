"""Hover text: what a statement does (the language reference's words), what a `${variable}`
is in each environment, and where a route stands in decide's precedence order."""
from __future__ import annotations

from .. import ir
from ..diagnostics import Sink
from ..names import declarations, variable_references
from ..routing import first_match_order
from ..syntax import Document, Stmt, Value, VarRef
from . import at, langref

# a statement's kind → the block its own statements are written in, as the reference names it
BLOCK_OF = {"env": "edge", "vars": "edge", "limits": "edge", "cors": "route", "aggregate": "route"}


def hover(doc: Document, edges: dict[str | None, ir.Edge | None], line: int, column: int) -> str | None:
    """Markdown for the position, or None when there is nothing to say."""
    for ref in variable_references(doc):
        if at.contains(ref.span, line, column):
            return variable(doc, ref.name)
    for name in declarations(doc):
        if name.kind == "variable" and at.contains(name.span, line, column):
            return variable(doc, name.name)
    chain = at.statements(doc, line, column)
    if not chain:
        return None
    stmt = chain[-1]
    if stmt.kind == "route" and at.contains(stmt.args["name"].span, line, column):
        return route_rank(stmt.args["name"].value, edges)
    return directive(doc, chain, at.word(doc.source, line, column))


def directive(doc: Document, chain: list[Stmt], word: str | None) -> str | None:
    stmt = chain[-1]
    keyword = at.head(doc.source, stmt)
    if keyword is None or stmt.kind == "edge" and word != "edge":
        return None
    parent = chain[-2].kind if len(chain) > 1 else "edge"
    found = langref.lookup(BLOCK_OF.get(parent, parent), keyword)
    # several forms (balance least_conn, balance random...): the one naming the word, if any
    narrowed = [e for e in found if word and word != keyword and f" {word}" in e.text.split("\n")[0]]
    return "\n\n---\n\n".join(e.text for e in narrowed or found) or None


def variable(doc: Document, name: str) -> str:
    """`${name}` in each environment, as lowering resolves it."""
    from ..lower import environments, variables
    from ..values import Values
    lines = [f"`${{{name}}}`", ""]
    for env in environments(doc) or [None]:
        sink = Sink(doc.file)
        v = Values(doc, variables(doc, env, sink), sink)
        ref = VarRef(name, doc.edge.span)
        value = v.resolve(Value("var", ref, f"${{{name}}}", ref.span))
        shown = "not defined" if value is None else f"`{_shown(v, value)}`"
        lines.append(f"- {env}: {shown}" if env is not None else f"- {shown}")
    return "\n".join(lines)


def _shown(v, value: Value) -> str:
    if value.kind == "list":
        return "[" + ", ".join(_shown(v, item) for item in value.value) + "]"
    if value.kind == "string":
        text = v.string(value, "the variable")
        return value.raw if text is None else '"' + text + '"'
    if value.kind == "var":  # a secret: read where the edge is built or run
        return value.raw
    return value.raw


def route_rank(name: str, edges: dict[str | None, ir.Edge | None]) -> str:
    """The places of the route's matches in first_match_order (what `edgec graph` numbers)."""
    lines = [f"route `{name}`: place in the precedence order (1 wins first)", ""]
    for env, edge in edges.items():
        where = f"{env}: " if env is not None else ""
        if edge is None:
            lines.append(f"- {where}not known while the file has errors")
            continue
        order = first_match_order(edge)
        ranks = [f"#{i}" for i, alt in enumerate(order, 1) if alt.route.name == name]
        lines.append(f"- {where}{', '.join(ranks) or 'none'} of {len(order)}")
    return "\n".join(lines)
