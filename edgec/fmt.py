"""The canonical layout: one statement per line, two-space indent, single spaces, comments kept.

The formatter never re-spells a token: it re-flows the tokens of each statement as
written, so the formatted file has the same token sequence and therefore the same
meaning. Blank lines between statements are kept (at most one).
"""
from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from .diagnostics import Diagnostic, Span
from .syntax import Comment, Document, Stmt

INDENT = "  "
_TOKEN = re.compile(r'"(?:[^"\\\n]|\\.)*"|#[^\n]*|\$\{[^}\n]*\}|[,\[\]{}=]|[^\s"#,\[\]{}=$]+|\$')
_TIGHT_BEFORE = {",", "]"}
_TIGHT_AFTER = {"["}


class _Source:
    def __init__(self, text: str):
        self.text = text
        self.starts = [0]
        for i, ch in enumerate(text):
            if ch == "\n":
                self.starts.append(i + 1)

    def offset(self, line: int, column: int) -> int:
        return self.starts[line - 1] + column - 1

    def slice(self, span: Span) -> str:
        return self.text[self.offset(span.line, span.column):self.offset(span.end_line, span.end_column)]

    def line_of(self, offset: int) -> int:
        import bisect
        return bisect.bisect_right(self.starts, offset)


def _tokens(text: str) -> list[str]:
    return [t for t in _TOKEN.findall(text) if not t.startswith("#")]


def _join(tokens: list[str]) -> str:
    out = ""
    for tok in tokens:
        if out and tok not in _TIGHT_BEFORE and out[-1] not in _TIGHT_AFTER:
            out += " "
        out += tok
    return out


def _split_header(text: str) -> tuple[list[str], bool]:
    """Tokens before the statement's own '{', and whether it has one."""
    toks = _tokens(text)
    if "{" in toks:
        return toks[:toks.index("{")], True
    return toks, False


@dataclass
class _Slot:
    leading: list[Comment]
    trailing: list[Comment]


class _Formatter:
    def __init__(self, doc: Document):
        self.doc = doc
        self.src = _Source(doc.source)
        self.lines: list[str] = []
        self.comments = sorted(doc.comments, key=lambda c: (c.span.line, c.span.column))
        self.taken: set[int] = set()

    # comments ---------------------------------------------------------------------------------
    def _take(self, pred) -> list[Comment]:
        out = []
        for i, c in enumerate(self.comments):
            if i not in self.taken and pred(c):
                self.taken.add(i)
                out.append(c)
        return out

    def _before(self, line: int, column: int) -> list[Comment]:
        return self._take(lambda c: (c.span.line, c.span.column) < (line, column))

    def _on_line_after(self, line: int, column: int) -> list[Comment]:
        return self._take(lambda c: c.span.line == line and c.span.column >= column)

    def _emit_comments(self, comments: list[Comment], depth: int) -> None:
        prev_line = None
        for c in comments:
            if prev_line is not None and c.span.line > prev_line + 1:
                self.lines.append("")
            self.lines.append(INDENT * depth + c.text)
            prev_line = c.span.line

    # statements --------------------------------------------------------------------------------
    def stmt(self, stmt: Stmt, depth: int) -> None:
        self._emit_comments(self._before(stmt.span.line, stmt.span.column), depth)
        text = self.src.slice(stmt.span)
        header, has_block = _split_header(text)
        pad = INDENT * depth
        if not has_block:
            # comments inside a multi-line statement move above it
            self._emit_comments(self._take(lambda c: (stmt.span.line, stmt.span.column) <= (c.span.line, c.span.column)
                                           < (stmt.span.end_line, stmt.span.end_column)), depth)
            line = pad + _join(header)
            trailing = self._on_line_after(stmt.span.end_line, stmt.span.end_column)
            self.lines.append(line + ("  " + trailing[0].text if trailing else ""))
            self._emit_comments(trailing[1:], depth)
            return
        brace = self._brace_offset(stmt)
        brace_line = self.src.line_of(brace)
        brace_col = brace - self.src.starts[brace_line - 1] + 1
        head_comments = self._take(lambda c: (stmt.span.line, stmt.span.column) <= (c.span.line, c.span.column)
                                   < (brace_line, brace_col))
        self._emit_comments(head_comments, depth)
        trailing = self._on_line_after(brace_line, brace_col)
        children = stmt.body or ()
        if not children and not self._inside(stmt, brace):
            self.lines.append(pad + _join(header) + " {}" + ("  " + trailing[0].text if trailing else ""))
            self._emit_comments(trailing[1:], depth + 1)
            return
        self.lines.append(pad + _join(header) + " {" + ("  " + trailing[0].text if trailing else ""))
        self._emit_comments(trailing[1:], depth + 1)
        prev_end = brace_line
        for child in children:
            first_line = min([child.span.line] + [c.span.line for i, c in enumerate(self.comments)
                                                  if i not in self.taken and prev_end < c.span.line < child.span.line])
            if first_line > prev_end + 1 and self._blank_between(prev_end, first_line):
                self.lines.append("")
            self.stmt(child, depth + 1)
            prev_end = child.span.end_line
        end_line, end_col = stmt.span.end_line, stmt.span.end_column - 1
        rest = self._before(end_line, end_col)
        if rest:
            if rest[0].span.line > prev_end + 1 and self._blank_between(prev_end, rest[0].span.line):
                self.lines.append("")
            self._emit_comments(rest, depth + 1)
        self.lines.append(pad + "}")

    def _inside(self, stmt: Stmt, brace: int) -> bool:
        """True when comments sit between the braces of an empty block."""
        end = self.src.offset(stmt.span.end_line, stmt.span.end_column)
        return "#" in re.sub(r'"(?:[^"\\\n]|\\.)*"', "", self.doc.source[brace:end])

    def _brace_offset(self, stmt: Stmt) -> int:
        start = self.src.offset(stmt.span.line, stmt.span.column)
        text = self.src.slice(stmt.span)
        for m in _TOKEN.finditer(text):
            if m.group() == "{":
                return start + m.start()
        raise AssertionError("block without '{'")

    def _blank_between(self, after_line: int, before_line: int) -> bool:
        lines = self.doc.source.split("\n")
        return any(not lines[i - 1].strip() for i in range(after_line + 1, before_line))

    def run(self) -> str:
        self.stmt(self.doc.edge, 0)
        trailing = self._take(lambda c: True)
        self._emit_comments(trailing, 0)
        return "\n".join(self.lines) + "\n"


def format_document(doc: Document) -> str:
    return _Formatter(doc).run()


def format_source(source: str, file: str = "<input>") -> str:
    """Raises CompileError when the source does not parse."""
    from .parse import parse
    return format_document(parse(source, file))


def not_formatted(doc: Document) -> list[Diagnostic]:
    """A W307 warning at the first line that differs from the canonical layout, or nothing."""
    formatted = format_document(doc)
    if formatted == doc.source:
        return []
    old, new = doc.source.splitlines(), formatted.splitlines()
    line = next((i + 1 for i, (a, b) in enumerate(zip(old, new)) if a != b), min(len(old), len(new)) + 1)
    line = max(1, min(line, max(1, len(old))))
    width = len(old[line - 1]) if line <= len(old) else 1
    return [Diagnostic("W307", "warning", f"file is not formatted (first difference on line {line})", doc.file,
                       Span(line, 1, line, max(2, width + 1)), hint=f"run: edgec fmt {doc.file}",
                       rule="not-formatted")]


def unified_diff(old: str, new: str, file: str) -> str:
    return "".join(difflib.unified_diff(old.splitlines(True), new.splitlines(True), f"{file}", f"{file} (formatted)"))
