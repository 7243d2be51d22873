"""What each statement does, as docs/language.md says it: the editor's hover and completion
show the reference's own text, so it is written once.

The reference describes a statement in a table row (`| \\`balance least_conn\\` | meaning |
default |`) or a paragraph that opens with its syntax (`**\\`forward UPSTREAM ...\\`** sends
...`), under the section of the block it is written in (## Upstreams, ### Matches...).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

# a section's heading → the block its statements are written in
SECTIONS = {"The edge block": "edge", "Environments and variables": "edge", "Listeners": "listen",
            "Upstreams": "upstream", "Authentication": "auth", "Routes": "route", "Matches": "match",
            "Policies": "route", "Actions": "route", "Operations": "edge"}
_HEADING = re.compile(r"^(#{2,4}) (.+)$")
_ROW = re.compile(r"^\|(.+)\|\s*$")
_CELL = re.compile(r"(?<!\\)\|")
_OPENS = re.compile(r"^(?:- |\*\*|An |A )?`([a-z_0-9]+)")
# the statements a row is about: `limits { max_body SIZE }` is about limits and max_body,
# `allow "CIDR" ...` / `deny "CIDR" ...` about allow and deny
_SYNTAX = re.compile(r"`([a-z_0-9]+)(?: \{ ([a-z_0-9]+))?")


@dataclass(frozen=True)
class Entry:
    block: str  # the block of the section it is written in
    keyword: str  # the statement's first word
    text: str  # Markdown


def lookup(block: str, keyword: str) -> list[Entry]:
    """What the reference says of `keyword` written in `block`: its entries in that block's
    sections, else those of the block the keyword opens (`upstream` → ## Upstreams), else
    any entry of that keyword."""
    found = [e for e in entries() if e.keyword == keyword and e.block == block]
    return found or [e for e in entries() if e.keyword == keyword and e.block == keyword] or \
        [e for e in entries() if e.keyword == keyword]


@lru_cache(maxsize=1)
def entries() -> tuple[Entry, ...]:
    return tuple(parse(resources.files("edgec.docs").joinpath("language.md").read_text(encoding="utf-8")))


def parse(text: str) -> list[Entry]:
    out: list[Entry] = []
    block, columns, in_code = "edge", None, False
    paragraph: list[str] = []

    def flush() -> None:
        m = _OPENS.match(paragraph[0]) if paragraph else None
        if m:
            out.append(Entry(block, m.group(1), " ".join(paragraph)))
        paragraph.clear()

    for line in text.split("\n"):
        if line.startswith("```"):
            in_code = not in_code
            flush()
            continue
        heading = _HEADING.match(line)
        row = _ROW.match(line)
        if in_code:
            continue
        if heading:
            flush()
            block = SECTIONS.get(heading.group(2).strip(), block) if len(heading.group(1)) <= 3 else block
            columns = None
        elif row:
            flush()
            cells = [c.strip().replace("\\|", "|") for c in _CELL.split(row.group(1))]
            if columns is None:
                columns = cells
            elif not set("".join(cells)) <= set("-: "):
                out += _row(block, columns, cells)
        elif not line.strip():
            flush()
            columns = None
        else:
            if line.startswith("- "):  # each item of a list is a paragraph of its own
                flush()
            paragraph.append(line.strip())
    flush()
    return out


def _row(block: str, columns: list[str], cells: list[str]) -> list[Entry]:
    if not _SYNTAX.match(cells[0]):
        return []
    lines = [cells[0]] + [f"{name}: {cell}" if i > 1 else cell
                          for i, (name, cell) in enumerate(zip(columns, cells)) if i and cell]
    keywords = dict.fromkeys(k for m in _SYNTAX.finditer(cells[0]) for k in m.groups() if k)
    return [Entry(block, keyword, "\n\n".join(lines)) for keyword in keywords]
