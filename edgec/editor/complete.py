"""Completion: the statements the block at the cursor holds, and the names a statement refers to.

The text is read as it is being typed, usually not parsable: the block at the cursor is
found by following braces (strings and comments skipped), and what each block holds is
what the grammar's rule for its items starts with, so a new statement is offered the day
it is in the grammar. Names come from the last version of the file that parsed.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from ..names import declarations
from ..syntax import Document
from . import langref

# the block (the statement that opened it, its first words) → the grammar rule of its items
ITEMS = {("edge",): "_edge_item", ("env",): "_env_item", ("vars",): "_env_item", ("listen",): "_listen_item",
         ("upstream",): "_upstream_item", ("route",): "_route_item", ("cors",): "cors_item",
         ("limits",): "limit_item", ("auth", "jwt"): "jwt_item", ("auth", "basic"): "basic_item",
         ("auth", "api_key"): "api_key_item"}
# the block as the language reference files its statements (edgec.editor.langref)
REFERENCE_BLOCK = {"env": "edge", "vars": "edge", "limits": "edge", "cors": "route"}
_TOKEN = re.compile(r'"(?:[^"\\\n]|\\.)*"?|#[^\n]*|\$\{[^}\n]*\}?|[{}\n]|[A-Za-z_][A-Za-z0-9_-]*')
_OPEN_VARIABLE = re.compile(r"\$\{[A-Za-z0-9_-]*$")
_PARTIAL = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*$")


@dataclass(frozen=True)
class Completion:
    label: str
    kind: str  # keyword | upstream | auth | variable
    documentation: str = ""


def complete(text: str, line: int, column: int, doc: Document | None) -> list[Completion]:
    """What may be written at the position (1-based) of `text`; `doc` is the last version of
    the file that parsed (None: none did), where names are read."""
    lines = text.split("\n")
    if not 1 <= line <= len(lines):
        return []
    before = "\n".join(lines[:line - 1] + [lines[line - 1][:column - 1]])
    if _OPEN_VARIABLE.search(before):
        return _names(doc, "variable")
    opened, words = _scan(before[:len(before) - len(_PARTIAL.search(before).group())] if _PARTIAL.search(before)
                          else before)
    block = opened[-1] if opened else ()
    if not words:
        return _keywords(block)
    kind = block[:1]
    if kind == ("route",) and (words[0] == "forward" or words == ["mirror"]):
        return _names(doc, "upstream")
    if kind == ("route",) and words == ["auth"]:
        return _names(doc, "auth")
    if kind == ("aggregate",) and len(words) == 2:  # NAME = METHOD |UPSTREAM
        return _names(doc, "upstream")
    return []


def _scan(text: str) -> tuple[list[tuple[str, ...]], list[str]]:
    """The blocks open at the end of `text` (each as the first two words of the statement
    that opened it), and the words of the statement being written there."""
    opened: list[tuple[str, ...]] = []
    words: list[str] = []
    for m in _TOKEN.finditer(text):
        token = m.group()
        if token == "{":
            opened.append(tuple(words[:2]))
            words = []
        elif token == "}":
            if opened:
                opened.pop()
            words = []
        elif token == "\n":
            words = []
        elif token[0] not in '"#$':
            words.append(token)
        elif token[0] != "#":
            words.append("")  # a value: it counts as a word of the statement
    return opened, words


def _keywords(block: tuple[str, ...]) -> list[Completion]:
    rule = ITEMS.get(block[:2]) or ITEMS.get(block[:1])
    if rule is None:
        return []
    where = REFERENCE_BLOCK.get(block[0], block[0])
    return [Completion(word, "keyword", "\n\n---\n\n".join(e.text for e in langref.lookup(where, word)))
            for word in first_keywords(rule)]


@lru_cache(maxsize=None)
def first_keywords(rule: str) -> tuple[str, ...]:
    """The keywords a statement of grammar rule `rule` can start with, in the grammar's order."""
    from ..parse import parser
    from ..syntax_errors import keyword_terminals
    p = parser()
    keywords = keyword_terminals(p)
    expansions: dict[str, list] = {}
    for r in p.rules:
        expansions.setdefault(r.origin.name, []).append(r.expansion)
    out: list[str] = []

    def first(name: str, seen: frozenset) -> None:
        for expansion in expansions.get(name, ()):
            symbol = expansion[0] if expansion else None
            if symbol is None:
                continue
            if symbol.is_term:
                if symbol.name in keywords and keywords[symbol.name] not in out:
                    out.append(keywords[symbol.name])
            elif symbol.name not in seen:
                first(symbol.name, seen | {symbol.name})
    first(rule, frozenset({rule}))
    return tuple(out)


def _names(doc: Document | None, kind: str) -> list[Completion]:
    if doc is None:
        return []
    seen: dict[str, None] = {}
    for name in declarations(doc):
        if name.kind == kind:
            seen.setdefault(name.name)
    return [Completion(name, kind) for name in seen]
