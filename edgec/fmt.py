"""The canonical layout: one statement per line, two-space indent, single spaces, comments kept.

The formatter never re-spells a token. It lays out the code tokens of each statement as
written (only the whitespace between them changes, and a list's trailing comma goes), so
the formatted file lexes to the same tokens and means the same thing.

Comments stay where a reader expects them: a comment after code on its line stays at the
end of the output line holding that code; a comment on a line of its own stays on a line
of its own, just before the code that followed it (inside the block when a `}` followed
it). One blank line between statements is kept where the source had at least one, never
right after `{`, before `}`, or at either end of the file.
"""
from __future__ import annotations

import bisect
import re
from dataclasses import field
from itertools import accumulate

from .diagnostics import Diagnostic, Span, diagnostic
from .keptcode import dataclass
from .syntax import Comment, Document, Stmt

INDENT = "  "
# code tokens as edge's lexer sees them, comments excepted; a string or ${var} is one token
_TOKEN = re.compile(r'"[^"\\\n]*(?:\\.[^"\\\n]*)*"|\$\{[^}\n]*\}|[,\[\]{}=]|[^\s"#,\[\]{}=$]+|\$')
# a line's code as _TOKEN reads it when none of its tokens is spaced apart from the others
# (no `,[]{}`, no lone `-` of a status range `200 - 399`), each one space from the next:
# what _join makes of those tokens. A statement's line, or a block's head with its `{`
# after one space.
_PLAIN = r'(?:"[^"\\\n]*(?:\\.[^"\\\n]*)*"|\$\{[^}\n]*\}|=|(?!-(?: |$))[^\s"#,\[\]{}=$]+|\$)'
_PLAIN_LINE = re.compile(f"{_PLAIN}(?: {_PLAIN})*")
_PLAIN_HEAD = re.compile(f"{_PLAIN}(?: {_PLAIN})* {{")


@dataclass(slots=True)
class _Line:
    indent: int
    text: str
    first: int  # source line where its code starts
    last: int  # source line where its code ends
    kind: str = "stmt"  # stmt | open | close | comment
    trailing: str | None = None
    before: list["_Line"] = field(default_factory=list)  # comments moved above it


@dataclass
class _Tok:
    start: int
    end: int
    text: str


_TIGHT = frozenset(",[]-{}")


def _join(tokens: list[str]) -> str:
    # a block's head (`route r1 {`) spaces its last `{` as any word: no need of the loop below
    if _TIGHT.isdisjoint(tokens) or (tokens[-1] == "{" and _TIGHT.isdisjoint(tokens[:-1])):
        return " ".join(tokens)
    out: list[str] = []
    for i, tok in enumerate(tokens):
        prev = tokens[i - 1] if i else ""
        nxt = tokens[i + 1] if i + 1 < len(tokens) else ""
        if tok == "," and nxt == "]":
            continue  # a list's trailing comma
        tight = tok in (",", "]") or prev == "[" or (tok == "}" and prev == "{") or (
            # the status range of a health check, written apart: 200 - 399
            tok == "-" and prev.isdigit() and nxt.isdigit()) or (
            prev == "-" and tok.isdigit() and i > 1 and tokens[i - 2].isdigit())
        if out and not tight:
            out.append(" ")
        out.append(tok)
    return "".join(out)


def one_line(code: str) -> str:
    """A piece of code (no comments) on one line, spaced as the canonical layout spaces it."""
    return _join(_TOKEN.findall(code))


class _Formatter:
    def __init__(self, doc: Document):
        self.doc = doc
        text = doc.source
        self.starts = [0] + [m.end() for m in re.finditer("\n", text)]
        # blank lines among source lines 1..n, to ask "is there a blank line between?" in O(1)
        self.blanks_upto = [0, *accumulate(0 if ln.strip() else 1 for ln in text.split("\n"))]
        self.comments = []
        for c in doc.comments:
            start = self.offset(c.span.line, c.span.column)
            self.comments.append(_Tok(start, start + c.span.end_column - c.span.column, c.text))
        self.comment_starts = [c.start for c in self.comments]
        spans = [m.span() for m in _TOKEN.finditer(_blank_out(text, self.comments))]
        # the parser's lexer ends a token where the next statement begins (`min_version
        # 1.3http2` is a tls statement and an http2 one): cut such a token there too. Nearly
        # every statement edge is a token's edge or in the space between, so only the others
        # are looked up
        if spans:
            starts, ends = zip(*spans)
            at_edge = set(starts)
            at_edge.update(ends)
            inside = sorted(c for c in self._statement_edges() if c not in at_edge)
            if inside:
                spans = _cut(spans, starts, inside)
                starts, ends = zip(*spans)
        else:
            starts = ends = ()
        self.tok_starts, self.tok_ends = list(starts), list(ends)
        self.tok_texts = [text[start:end] for start, end in spans]
        self.braces = [i for i, t in enumerate(self.tok_texts) if t == "{"]  # token numbers of every `{`
        self.line_of_tok: list[_Line | None] = [None] * len(self.tok_starts)
        self.lines: list[_Line] = []

    def _statement_edges(self) -> set[int]:
        """The offsets where statements start and end."""
        starts, edges = self.starts, set()
        todo = [self.doc.edge]
        while todo:  # in any order: a set is made
            stmt = todo.pop()
            span = stmt.span
            edges.add(starts[span.line - 1] + span.column - 1)
            edges.add(starts[span.end_line - 1] + span.end_column - 1)
            if stmt.body:
                todo.extend(stmt.body)
        return edges

    def offset(self, line: int, column: int) -> int:
        return self.starts[line - 1] + column - 1

    def src_line(self, offset: int) -> int:
        return bisect.bisect_right(self.starts, offset)

    def tok_range(self, stmt: Stmt) -> tuple[int, int]:
        span, starts = stmt.span, self.starts
        return (bisect.bisect_left(self.tok_starts, starts[span.line - 1] + span.column - 1),
                bisect.bisect_left(self.tok_starts, starts[span.end_line - 1] + span.end_column - 1))

    def emit(self, lo: int, hi: int, indent: int, kind: str) -> _Line:
        starts, tok_starts = self.starts, self.tok_starts
        line = _Line(indent, _join(self.tok_texts[lo:hi]), bisect.bisect_right(starts, tok_starts[lo]),
                     bisect.bisect_right(starts, tok_starts[hi - 1]), kind)
        self.line_of_tok[lo:hi] = [line] * (hi - lo)
        self.lines.append(line)
        return line

    # ---- statements --------------------------------------------------------------------------
    def stmt(self, stmt: Stmt, depth: int, lo: int, hi: int) -> None:
        """Lay out `stmt`, whose code tokens are lo..hi."""
        i = bisect.bisect_left(self.braces, lo)
        if i == len(self.braces) or self.braces[i] >= hi:
            self.emit(lo, hi, depth, "stmt")
            return
        brace = self.braces[i]
        close = hi - 1
        first_inside = bisect.bisect_right(self.comment_starts, self.tok_starts[brace])
        comment_inside = first_inside < len(self.comments) and \
            self.comments[first_inside].start < self.tok_starts[close]
        if not stmt.body and close == brace + 1 and not comment_inside:
            self.emit(lo, hi, depth, "stmt")  # an empty block: `env prod {}`
            return
        self.emit(lo, brace + 1, depth, "open")
        pos = brace + 1
        for child in stmt.body or ():
            c_lo, c_hi = self.tok_range(child)
            if c_lo > pos:  # tokens between statements: never expected, but never dropped
                self.emit(pos, c_lo, depth + 1, "stmt")
            self.stmt(child, depth + 1, c_lo, c_hi)
            pos = c_hi
        if close > pos:
            self.emit(pos, close, depth + 1, "stmt")
        self.emit(close, close + 1, depth, "close")

    # ---- comments ----------------------------------------------------------------------------
    def place_comments(self) -> list[_Line]:
        tail: list[_Line] = []
        for c in self.comments:
            line_no = self.src_line(c.start)
            i = bisect.bisect_left(self.tok_starts, c.start)
            as_line = _Line(0, c.text, line_no, line_no, "comment")
            if i > 0 and self.src_line(self.tok_ends[i - 1] - 1) == line_no:
                host = self.line_of_tok[i - 1]
                if host.trailing is None:
                    host.trailing = c.text
                    continue
                nxt = host  # a second trailing comment for one output line goes above it
            elif i < len(self.tok_starts):
                nxt = self.line_of_tok[i]
            else:
                tail.append(as_line)
                continue
            as_line.indent = nxt.indent + (1 if nxt.kind == "close" else 0)  # inside the block it ends
            nxt.before.append(as_line)
        out: list[_Line] = []
        for line in self.lines:
            out.extend(line.before)
            out.append(line)
        return out + tail

    def render(self) -> str:
        self.stmt(self.doc.edge, 0, *self.tok_range(self.doc.edge))
        items = self.place_comments()
        out: list[str] = []
        prev: _Line | None = None
        for item in items:
            if prev is not None and prev.kind != "open" and item.kind != "close" \
                    and self._blank_between(prev.last, item.first):
                out.append("")
            text = INDENT * item.indent + item.text
            if item.trailing:
                text += "  " + item.trailing
            out.append(text)
            prev = item
        return "\n".join(out) + "\n"

    def _blank_between(self, after: int, before: int) -> bool:
        return before - 1 > after and self.blanks_upto[before - 1] > self.blanks_upto[after]


def _cut(spans: list[tuple[int, int]], starts: tuple[int, ...], cuts: list[int]) -> list[tuple[int, int]]:
    """The token spans with each token holding one of the (sorted) cuts split there."""
    at: dict[int, list[int]] = {}  # token → the cuts inside it
    for c in cuts:
        i = bisect.bisect_right(starts, c) - 1
        if i >= 0 and starts[i] < c < spans[i][1]:
            at.setdefault(i, []).append(c)
    out = []
    for i, (start, end) in enumerate(spans):
        for c in at.get(i, ()):
            out.append((start, c))
            start = c
        out.append((start, end))
    return out


def _blank_out(text: str, comments: list[_Tok]) -> str:
    """The text with its comments replaced by spaces, so that code tokens keep their offsets."""
    parts, pos = [], 0
    for c in comments:
        parts += [text[pos:c.start], " " * (c.end - c.start)]
        pos = c.end
    return "".join(parts) + text[pos:]


def format_document(doc: Document) -> str:
    from .gcpause import paused
    with paused():
        return _Formatter(doc).render()


def format_source(source: str, file: str = "<input>") -> str:
    """Raises CompileError when the source does not parse."""
    from .parse import parse
    return format_document(parse(source, file))


class _Canonical:
    """Whether a file is laid out as _Formatter lays it out, read line by line: each
    statement on lines of its own at its depth's indent, spaced as _join spaces it, a block's
    head ending in its one `{` and its `}` alone on its last line, a comment after code two
    spaces after it, a comment on a line of its own at the indent of the code line after it
    (one deeper before a `}`), and between two lines no line or one empty line where render
    keeps one. Saying yes only when every line is certain, it spares a canonical file the
    formatter's work (lint checks every file); anything else is left to the formatter."""

    def __init__(self, lines: list[str], comments: tuple[Comment, ...]):
        self.lines = lines
        self.comments = {c.span.line: c for c in comments}  # a comment ends its line: one a line
        self.comment_lines = sorted(self.comments)
        self.next_comment = 0  # comment_lines[next_comment:] are not read yet
        self.last = 0  # the source line of the previous output line (0: none yet)
        self.last_kind = ""

    def code(self, line_no: int) -> str | None:
        """The line without its comment and the two spaces render writes before one; None
        when the comment is not placed so."""
        line = self.lines[line_no - 1]
        comment = self.comments.get(line_no)
        if comment is None:
            return line
        at = comment.span.column - 1
        if line[at:] != comment.text or line[at - 2:at] != "  ":
            return None
        return line[:at - 2]

    def item(self, line_no: int, kind: str, depth: int) -> bool:
        """The comments on lines of their own before this output line, then the line: the
        source lines from the previous output line to it are as render lays them out."""
        lines, pending = self.comment_lines, self.next_comment
        indent = INDENT * (depth + 1 if kind == "close" else depth)  # inside the block a `}` ends
        while pending < len(lines) and lines[pending] < line_no:
            if not self.own_line(lines[pending], indent):
                return False
            pending += 1
        if pending < len(lines) and lines[pending] == line_no:
            pending += 1  # the line's own comment, which code() has read
        self.next_comment = pending
        return self.after(line_no, kind)

    def after(self, line_no: int, kind: str) -> bool:
        gap, previous = line_no - self.last - 1, self.last
        self.last, self.last_kind, opened = line_no, kind, self.last_kind == "open"
        if previous == 0:
            return line_no == 1
        return gap == 0 or (gap == 1 and not opened and kind != "close" and self.lines[line_no - 2] == "")

    def stmt(self, stmt: Stmt, depth: int) -> bool:
        span, indent = stmt.span, INDENT * depth
        line = self.code(span.line)
        width = len(indent)
        if line is None or span.column != width + 1:
            return False
        plain = line.startswith(indent)  # then the tokens spaced as _PLAIN_LINE/_HEAD says need no _join
        # one line: a statement without `{`, or an empty block `env prod {}` (a comment inside
        # one puts its `}` on a line of its own)
        if not stmt.body and (span.end_line == span.line or not self.comment_between(span.line, span.end_line)):
            if span.end_line != span.line or span.end_column != len(line) + 1:
                return False
            if not (plain and _PLAIN_LINE.fullmatch(line, width)):
                tokens = _TOKEN.findall(line)
                if "{" in tokens and not (tokens[-1] == "}" and tokens.index("{") == len(tokens) - 2):
                    return False
                if line != indent + _join(tokens):
                    return False
            return self.item(span.line, "stmt", depth)
        if not (plain and _PLAIN_HEAD.fullmatch(line, width)):
            tokens = _TOKEN.findall(line)
            if "{" not in tokens or tokens.index("{") != len(tokens) - 1:
                return False
            if line != indent + _join(tokens):
                return False
        if not self.item(span.line, "open", depth):
            return False
        for child in stmt.body:
            if not self.stmt(child, depth + 1):
                return False
        close = self.code(span.end_line)
        return close == indent + "}" and span.end_column == len(close) + 1 and self.item(span.end_line, "close", depth)

    def comment_between(self, first: int, last: int) -> bool:
        """A comment on one of the lines first..last-1."""
        i = bisect.bisect_left(self.comment_lines, first)
        return i < len(self.comment_lines) and self.comment_lines[i] < last

    def tail(self) -> bool:
        """The comments after the last `}`, each on a line of its own (render puts them last)."""
        return all(self.own_line(line_no, "") for line_no in self.comment_lines[self.next_comment:])

    def own_line(self, line_no: int, indent: str) -> bool:
        """The comment of this line alone on it at `indent`, and the lines before it as render lays them out."""
        comment = self.comments[line_no]
        return (comment.span.column == len(indent) + 1 and self.lines[line_no - 1] == indent + comment.text
                and self.after(line_no, "comment"))


def is_canonical(doc: Document) -> bool:
    """True only when format_document(doc) is certainly doc.source, found without formatting
    (see _Canonical); False says nothing."""
    lines = doc.source.split("\n")
    if lines[-1] != "":
        return False
    check = _Canonical(lines, doc.comments)
    return check.stmt(doc.edge, 0) and check.tail() and check.last == len(lines) - 1


def not_formatted(doc: Document) -> list[Diagnostic]:
    """A W307 warning at the first line that differs from the canonical layout, or nothing."""
    if is_canonical(doc):
        return []
    formatted = format_document(doc)
    if formatted == doc.source:
        return []
    # lines as the parser counts them (only \n ends one; str.splitlines also splits at \x0c, \u2028...)
    old, new = doc.source.replace("\r\n", "\n").split("\n"), formatted.split("\n")
    line = next((i + 1 for i, (a, b) in enumerate(zip(old, new)) if a != b), min(len(old), len(new)) + 1)
    line = max(1, min(line, max(1, len(old))))
    width = len(old[line - 1]) if line <= len(old) else 1
    return [diagnostic("W307", f"file is not formatted (first difference on line {line})", doc.file,
                       Span(line, 1, line, max(2, width + 1)), hint=f"run: edgec fmt {doc.file}")]


def unified_diff(old: str, new: str, file: str) -> str:
    import difflib  # a diff is shown only for a file that is not formatted
    return "".join(difflib.unified_diff(old.splitlines(True), new.splitlines(True), f"{file}", f"{file} (formatted)"))
