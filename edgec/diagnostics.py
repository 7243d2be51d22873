"""Diagnostics: one shape for every problem edgec reports, and its three printers."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Iterable

ERROR = "error"
WARNING = "warning"
INFO = "info"


@dataclass(frozen=True, slots=True)
class Span:
    """Where something is in a source file. Lines and columns count from 1."""

    line: int
    column: int
    end_line: int
    end_column: int

    @staticmethod
    def point(line: int, column: int) -> "Span":
        return Span(line, column, line, column + 1)


@dataclass(frozen=True)
class Diagnostic:
    code: str
    severity: str
    message: str
    file: str = "<input>"
    span: Span | None = None
    hint: str | None = None
    rule: str | None = None

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

    def report(self, code: str, severity: str, message: str, span: Span | None = None,
               hint: str | None = None, rule: str | None = None) -> None:
        self.items.append(Diagnostic(code, severity, message, self.file, span, hint, rule))

    def error(self, code: str, message: str, span: Span | None = None, hint: str | None = None,
              rule: str | None = None) -> None:
        self.report(code, ERROR, message, span, hint, rule)

    def warning(self, code: str, message: str, span: Span | None = None, hint: str | None = None,
                rule: str | None = None) -> None:
        self.report(code, WARNING, message, span, hint, rule)

    @property
    def has_errors(self) -> bool:
        return any(d.severity == ERROR for d in self.items)

    def raise_if_errors(self) -> None:
        if self.has_errors:
            raise CompileError(self.items)


def sort_key(d: Diagnostic):
    return (d.file, d.line, d.column, d.code)


def render_text(diagnostics: list[Diagnostic], sources: dict[str, str], color: bool = False) -> str:
    """Compiler-style text: location, code, message, the source line, a caret, the hint."""
    out = []
    for d in sorted(diagnostics, key=sort_key):
        out.append(f"{d.file}:{d.line}:{d.column}: {d.severity}[{d.code}] {d.message}")
        text = sources.get(d.file)
        if text is not None and d.span is not None:
            lines = text.splitlines()
            if 1 <= d.line <= len(lines):
                src = lines[d.line - 1].expandtabs(1)
                width = (d.span.end_column - d.span.column) if d.span.end_line == d.line else len(src) - d.column + 1
                width = max(1, min(width, max(1, len(src) - d.column + 1)))
                gutter = f"{d.line:>4} | "
                out.append(gutter + src)
                out.append(" " * (len(gutter) + d.column - 1) + "^" * width)
        if d.hint:
            out.append(f"  = hint: {d.hint}")
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
    return json.dumps(envelope, indent=2) + "\n"


def render_sarif(diagnostics: list[Diagnostic], rules_doc: dict[str, str]) -> str:
    level = {ERROR: "error", WARNING: "warning", INFO: "note"}
    codes = sorted({d.code for d in diagnostics})
    run = {
        "tool": {"driver": {
            "name": "edgec",
            "rules": [{"id": c, "shortDescription": {"text": rules_doc.get(c, c)}} for c in codes],
        }},
        "results": [{
            "ruleId": d.code,
            "level": level.get(d.severity, "note"),
            "message": {"text": d.message + (f" (hint: {d.hint})" if d.hint else "")},
            "locations": [{"physicalLocation": {
                "artifactLocation": {"uri": d.file},
                "region": {"startLine": d.line, "startColumn": d.column,
                           "endLine": (d.span or Span(1, 1, 1, 1)).end_line,
                           "endColumn": (d.span or Span(1, 1, 1, 1)).end_column},
            }}],
        } for d in sorted(diagnostics, key=sort_key)],
    }
    sarif = {"$schema": "https://json.schemastore.org/sarif-2.1.0.json", "version": "2.1.0", "runs": [run]}
    return json.dumps(sarif, indent=2) + "\n"


def did_you_mean(name: str, candidates: Iterable[str]) -> str | None:
    import difflib
    close = difflib.get_close_matches(name, sorted(set(candidates)), n=1, cutoff=0.6)
    return close[0] if close else None
