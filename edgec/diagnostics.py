"""Diagnostics: one shape for every problem edgec reports, and its three printers."""
from __future__ import annotations

from dataclasses import field
from functools import partial
from typing import Iterable, NamedTuple

from .catalogue import ERROR, INFO, WARNING, lookup
from .keptcode import dataclass


class Span(NamedTuple):
    """Where something is in a source file. Lines and columns count from 1.

    A tuple (compared and hashed as its four numbers) rather than a frozen dataclass: the
    parse makes one for most tokens and nodes, over 200,000 at 10,000 routes, through
    `span_of` (no Python frame), a sixth of what a frozen dataclass's __init__ costs."""

    line: int
    column: int
    end_line: int
    end_column: int

    @staticmethod
    def point(line: int, column: int) -> "Span":
        return Span(line, column, line, column + 1)


# the Span of a (line, column, end line, end column) tuple, made in C
span_of = partial(tuple.__new__, Span)


@dataclass(frozen=True)
class Diagnostic:
    code: str
    severity: str
    message: str
    file: str = "<input>"
    span: Span | None = None
    hint: str | None = None
    rule: str | None = None
    mask: bool = False  # the span holds a credential: never echo it in the source excerpt

    @property
    def line(self) -> int:
        return self.span.line if self.span else 1

    @property
    def column(self) -> int:
        return self.span.column if self.span else 1

    def to_json(self) -> dict:
        span = self.span or Span(1, 1, 1, 1)
        return {
            "code": self.code,
            "rule": self.rule,
            "severity": self.severity,
            "message": self.message,
            "file": self.file,
            "range": {
                "start": {"line": span.line, "column": span.column},
                "end": {"line": span.end_line, "column": span.end_column},
            },
            "hint": self.hint,
        }


def diagnostic(code: str, message: str, file: str = "<input>", span: Span | None = None,
               hint: str | None = None, mask: bool = False) -> Diagnostic:
    """A diagnostic of a catalogued code: its level and rule name come from edgec/catalogue.py."""
    entry = lookup(code)
    return Diagnostic(code, entry.level, message, file, span, hint, entry.name, mask)


class CompileError(Exception):
    """Raised to stop a stage when it cannot go on; carries every diagnostic found so far."""

    def __init__(self, diagnostics: Iterable[Diagnostic]):
        self.diagnostics = list(diagnostics)
        super().__init__("; ".join(d.message for d in self.diagnostics))


@dataclass
class Sink:
    """Collects diagnostics for one file; stages report into it and never print."""

    file: str = "<input>"
    items: list[Diagnostic] = field(default_factory=list)

    def report(self, code: str, message: str, span: Span | None = None, hint: str | None = None,
               mask: bool = False) -> None:
        self.items.append(diagnostic(code, message, self.file, span, hint, mask))

    def error(self, code: str, message: str, span: Span | None = None, hint: str | None = None,
              mask: bool = False) -> None:
        self._expect(code, ERROR)
        self.report(code, message, span, hint, mask)

    def warning(self, code: str, message: str, span: Span | None = None, hint: str | None = None) -> None:
        self._expect(code, WARNING)
        self.report(code, message, span, hint)

    @staticmethod
    def _expect(code: str, level: str) -> None:
        if lookup(code).level != level:
            raise ValueError(f"{code} is not an {level} (see edgec/catalogue.py)")

    @property
    def has_errors(self) -> bool:
        return any(d.severity == ERROR for d in self.items)

    def raise_if_errors(self) -> None:
        if self.has_errors:
            raise CompileError(self.items)


def sort_key(d: Diagnostic):
    return (d.file, d.line, d.column, d.code)


def printable(text: str, limit: int | None = None) -> str:
    """Text safe to print on a terminal: control characters escaped, optionally cut short."""
    cut = text if limit is None else text[:limit]
    out = "".join(c if c.isprintable() or c == " " else
                  (f"\\x{ord(c):02x}" if ord(c) < 256 else f"\\u{ord(c):04x}") for c in cut)
    return out + ("..." if limit is not None and len(text) > limit else "")


def _width(text: str) -> int:
    """Terminal columns of text (wide East Asian characters take two, combining marks none)."""
    import unicodedata
    return sum(0 if unicodedata.combining(c) else 2 if unicodedata.east_asian_width(c) in "WF" else 1
               for c in text)


# as compilers stop after so many errors: past this the first ones are what the reader needs, and the
# rest would cost a source excerpt each (--format json and sarif still list every diagnostic)
MAX_SHOWN_PER_FILE = 100
SOURCE_WINDOW = 120  # longest source excerpt shown; longer lines are cut around the span


def _columns(span: Span, line_text: str) -> tuple[int, int]:
    """The span's part of its first line, as string indexes."""
    start = min(max(span.column - 1, 0), len(line_text))
    end = span.end_column - 1 if span.end_line == span.line else len(line_text)
    return start, min(max(end, start + 1), max(len(line_text), start + 1))


def _excerpt(d: Diagnostic, line_text: str, masks: list[Span]) -> tuple[str, str]:
    """The source line as shown (credentials masked, cut, control characters replaced) and its caret line."""
    start, end = _columns(d.span, line_text)
    for mask in masks:
        m_start, m_end = _columns(mask, line_text)
        m_end = min(m_end, len(line_text))
        line_text = line_text[:m_start] + "*" * (m_end - m_start) + line_text[m_end:]
    lead = ""
    if len(line_text) > SOURCE_WINDOW:
        first = max(0, start - SOURCE_WINDOW // 3)
        lead = "..." if first else ""
        end = min(end, first + SOURCE_WINDOW)
        tail = "..." if first + SOURCE_WINDOW < len(line_text) else ""
        line_text, start, end = line_text[first:first + SOURCE_WINDOW] + tail, start - first, end - first
    clean = "".join(c if c.isprintable() else " " if c == "\t" else "?" for c in line_text)
    caret = " " * (_width(lead) + _width(clean[:start])) + "^" * max(1, _width(clean[start:end]))
    return lead + clean, caret


def render_text(diagnostics: list[Diagnostic], sources: dict[str, str], color: bool = False) -> str:
    """Compiler-style text: location, code, message, the source line, a caret, the hint."""
    out = []
    lines_of: dict[str, list[str]] = {}
    masks: dict[tuple[str, int], list[Span]] = {}
    noted: set[str] = set()
    for d in diagnostics:
        if d.mask and d.span is not None:
            masks.setdefault((d.file, d.span.line), []).append(d.span)
    per_file: dict[str, int] = {}
    for d in sorted(diagnostics, key=sort_key):
        per_file[d.file] = per_file.get(d.file, 0) + 1
        if per_file[d.file] > MAX_SHOWN_PER_FILE:
            continue
        out.append(f"{printable(d.file)}:{d.line}:{d.column}: {d.severity}[{d.code}] {printable(d.message)}")
        text = sources.get(d.file)
        if text is not None and d.span is not None:
            lines = lines_of.get(d.file)
            if lines is None:  # split once per file, not once per diagnostic shown (2 MB at 10,000 routes)
                lines = lines_of[d.file] = text.split("\n")  # lines as the parser counts them
            if 1 <= d.line <= len(lines):
                shown, caret = _excerpt(d, lines[d.line - 1].rstrip("\r"), masks.get((d.file, d.line), []))
                gutter = f"{d.line:>4} | "
                out.append(gutter + shown)
                out.append(" " * len(gutter) + caret)
        if d.hint:
            out.append(f"  = hint: {printable(d.hint)}")
        if d.rule and d.span is not None and d.rule not in noted and lookup(d.code).suppressible:
            noted.add(d.rule)  # once per rule: the name is what the reader needs
            out.append(f"  = note: `# edgec: ignore[{d.rule}]` silences this warning on its line")
    for file, count in per_file.items():
        if count > MAX_SHOWN_PER_FILE:
            out.append(f"{printable(file)}: {count - MAX_SHOWN_PER_FILE:,} more not shown")
    errors = sum(d.severity == ERROR for d in diagnostics)
    warnings = sum(d.severity == WARNING for d in diagnostics)
    if diagnostics:
        out.append(f"{errors} error(s), {warnings} warning(s)")
    return "\n".join(out) + ("\n" if out else "")


def render_json(diagnostics: list[Diagnostic]) -> str:
    errors = sum(d.severity == ERROR for d in diagnostics)
    envelope = {
        "format_version": 1,
        "valid": errors == 0,
        "error_count": errors,
        "warning_count": sum(d.severity == WARNING for d in diagnostics),
        "diagnostics": [d.to_json() for d in sorted(diagnostics, key=sort_key)],
    }
    import json  # only for --format json and sarif: lint's text output goes without
    return json.dumps(envelope, indent=2) + "\n"


def _github_escape(text: str, prop: bool = False) -> str:
    """GitHub workflow-command escaping (data: % CR LF; properties also : and ,)."""
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    return text.replace(":", "%3A").replace(",", "%2C") if prop else text


def render_github(diagnostics: list[Diagnostic]) -> str:
    """GitHub Actions annotations: one `::error file=…,line=…::message` line per diagnostic."""
    level = {ERROR: "error", WARNING: "warning", INFO: "notice"}
    out = []
    for d in sorted(diagnostics, key=sort_key):
        span = d.span or Span(1, 1, 1, 2)
        props = {"file": d.file, "line": span.line, "col": span.column, "endLine": span.end_line,
                 "endColumn": span.end_column, "title": f"{d.code} {d.rule or ''}".strip()}
        head = ",".join(f"{k}={_github_escape(str(v), prop=True)}" for k, v in props.items())
        message = d.message + (f" (hint: {d.hint})" if d.hint else "")
        out.append(f"::{level.get(d.severity, 'notice')} {head}::{_github_escape(message)}")
    return "".join(line + "\n" for line in out)


SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"


def _uri(path: str) -> str:
    """A file path as a SARIF artifact URI: relative paths stay relative references."""
    import os
    from urllib.parse import quote
    if os.path.isabs(path):
        return "file://" + quote(path.replace(os.sep, "/"))
    return quote(path.replace(os.sep, "/"))


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version
    try:
        return version("edgec")
    except PackageNotFoundError:
        return "0+unknown"


def render_sarif(diagnostics: list[Diagnostic]) -> str:
    """SARIF 2.1.0: one run, a reporting descriptor per code seen (from the catalogue), one result
    per diagnostic."""
    level = {ERROR: "error", WARNING: "warning", INFO: "note"}
    ordered = sorted(diagnostics, key=sort_key)
    codes = sorted({d.code for d in ordered})
    rules = []
    for code in codes:
        entry = lookup(code)
        rules.append({"id": code, "name": entry.name, "shortDescription": {"text": entry.summary},
                      "help": {"text": f"see {entry.docs}"},
                      "defaultConfiguration": {"level": level[entry.level]}})
    results = []
    for d in ordered:
        span = d.span or Span(1, 1, 1, 2)
        results.append({
            "ruleId": d.code,
            "ruleIndex": codes.index(d.code),
            "level": level.get(d.severity, "note"),
            "message": {"text": d.message + (f" (hint: {d.hint})" if d.hint else "")},
            "locations": [{"physicalLocation": {
                "artifactLocation": {"uri": _uri(d.file)},
                "region": {"startLine": span.line, "startColumn": span.column,
                           "endLine": span.end_line, "endColumn": max(span.end_column, span.column)},
            }}],
        })
    run = {
        "tool": {"driver": {"name": "edgec", "version": _version(), "rules": rules}},
        "columnKind": "unicodeCodePoints",
        "results": results,
    }
    sarif = {"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [run]}
    import json
    return json.dumps(sarif, indent=2) + "\n"


def did_you_mean(name: str, candidates: Iterable[str]) -> str | None:
    import difflib
    close = difflib.get_close_matches(name, sorted(set(candidates)), n=1, cutoff=0.6)
    return close[0] if close else None
