"""The directives: each statement of the language declared once, in the block it is written in.

A declaration says how the parser builds the statement (the names of its grammar rule's
children, unless parse.py builds it itself), how it lowers into its block's IR node, which
capability-table features it can make an edge use (name → what it means; docs/targets.md is
generated from them) and which of them a lowered node does use. Lowering dispatches on the
statement's kind through this table, `edgec.features` derives the used features from it,
and the parser builds the simple statements from it: a new directive is its grammar rule,
its declaration, its IR field and what each target emits for it (docs/contributing.md).

The modules of MODULES declare the directives of one block each; their order there, then
the order of declarations in each, is the order of the features in the capability tables and
in target diagnostics, whichever module a process happens to import first.
"""
from __future__ import annotations

import importlib
from dataclasses import field
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator

from ..diagnostics import Span
from ..keptcode import dataclass

if TYPE_CHECKING:
    from ..syntax import Stmt
    from ..values import Values

Lowering = Callable[["Values", "Stmt", dict], None]


@dataclass(frozen=True)
class Directive:
    block: str  # the block it is written in: edge | listen | upstream | route
    kind: str  # the syntax statement's kind
    lower: Lowering  # (values, statement, the block's IR fields so far) → fills the fields
    args: tuple[str, ...] | None = None  # the grammar rule's children, in order ("*name": the rest)
    rule: str = ""  # the grammar rule built from `args` (default: the kind)
    once: str | Callable[["Stmt"], str] | None = None  # slot a block holds one of (None: repeatable)
    opens: str | None = None  # the block this statement opens (its IR node is what `uses` reads)
    features: dict[str, str] = field(default_factory=dict)
    # the block's IR node → the features it uses: a name, or (name, span) for a use narrower
    # than the node (one match line of a route), or (name, span, unwritten) for a use that is
    # a default of its own, which the file may not write (a setting inside a block it opens)
    uses: Callable[[Any], Iterable[Any]] | None = None
    # the node → it holds only this statement's default, which the file does not write (a target
    # that approximates such a default says so once, not at every node)
    default: Callable[[Any], bool] | None = None

    def unwritten(self, node: Any) -> bool:
        return self.default is not None and self.default(node)

    def used(self, node: Any, span: Span | None) -> Iterator[tuple[str, Span | None, bool]]:
        """(feature, where, whether it is only a default the file does not write) of each use."""
        for use in self.uses(node) if self.uses else ():
            name, at, *unwritten = (use, None) if isinstance(use, str) else use
            yield name, at or span, unwritten[0] if unwritten else self.unwritten(node)

    def slot(self, stmt: "Stmt") -> str | None:
        return self.once(stmt) if callable(self.once) else self.once


_BY_BLOCK: dict[str, dict[str, Directive]] = {}
_DECLARED: list[Directive] = []  # in the order the declarations ran
_BY_RULE: dict[str, Directive] = {}
_FEATURES: dict[str, str] = {}


def directive(block: str, kind: str, *, args: tuple[str, ...] | None = None, rule: str = "",
              once: str | Callable[["Stmt"], str] | None = None, opens: str | None = None, features: dict[str, str] | None = None,
              uses: Callable[[Any], Iterable[Any]] | None = None,
              default: Callable[[Any], bool] | None = None) -> Callable[[Lowering], Lowering]:
    """Declare the function below as the lowering of statement `kind` in `block`."""
    def register(lower: Lowering) -> Lowering:
        d = Directive(block, kind, lower, args, rule or kind, once, opens, dict(features or {}), uses, default)
        if kind in _BY_BLOCK.setdefault(block, {}):
            raise ValueError(f"directive {block}.{kind} is declared twice")
        _BY_BLOCK[block][kind] = d
        _DECLARED.append(d)
        if args is not None:
            _BY_RULE[d.rule] = d
        for name, text in d.features.items():
            if name in _FEATURES:
                raise ValueError(f"feature {name} is declared twice")
            _FEATURES[name] = text
        return lower
    return register


MODULES = ("listen", "match", "upstream", "auth", "route", "access", "actions", "operations", "variables")
_loaded = False


def _load() -> None:
    global _loaded
    if _loaded:  # lowering asks at every block, and an import statement costs even when done
        return
    for name in MODULES:
        importlib.import_module(f"{__name__}.{name}")  # each declares its statements
    # a module imported on its own earlier (edgec.values reads a hint from actions) declared its
    # statements first: put everything back in MODULES order (sorted() keeps each module's own)
    rank = {f"{__name__}.{name}": i for i, name in enumerate(MODULES)}
    declared = sorted(_DECLARED, key=lambda d: rank[d.lower.__module__])
    _BY_BLOCK.clear()
    _FEATURES.clear()
    for d in declared:
        _BY_BLOCK.setdefault(d.block, {})[d.kind] = d
        _FEATURES.update(d.features)
    _loaded = True


def of_block(block: str) -> dict[str, Directive]:
    """kind → directive, in declaration order."""
    _load()
    return _BY_BLOCK.get(block, {})


def opener(block: str) -> Directive:
    """The edge statement that opens `block` (listen, upstream, auth, route)."""
    return next(d for d in of_block("edge").values() if d.opens == block)


def by_rule(rule: str) -> Directive | None:
    """The directive whose statement the parser builds from the grammar rule `rule`."""
    _load()
    return _BY_RULE.get(rule)


def features() -> dict[str, str]:
    """Every feature name → what it means, in the capability tables' order."""
    _load()
    return _FEATURES


def lower_body(v: "Values", stmt: "Stmt", block: str, where: str, fields: dict) -> None:
    """Lower the statements of a block through their declarations. A statement whose slot the
    block already holds is reported and left out."""
    table = of_block(block)
    held: set[str] = set()
    for item in stmt.body or ():
        d = table[item.kind]
        slot = d.slot(item)
        if slot is not None:
            if slot in held:
                _twice(v, where, item, slot)
                continue
            held.add(slot)
        d.lower(v, item, fields)


def _twice(v: "Values", where: str, item: "Stmt", slot: str) -> None:
    if slot == "action":
        v.sink.error("E209", f"{where} has an action twice", item.span,
                     hint="a route has one action: forward, redirect, respond or aggregate")
    else:
        v.sink.error("E215", f"{where} has '{item.kind}' twice" if where else f"'{item.kind}' is given twice",
                     item.span, hint="keep one of them")
