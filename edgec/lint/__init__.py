"""Lint rules: small classes, one per rule, run over the syntax tree and each env's IR.

A rule yields Findings; the runner turns them into diagnostics with the rule's code,
severity and name, applies `# edgec: ignore[rule-name]` suppressions, and reports
unknown or unused suppressions itself.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import ClassVar, Iterable, Iterator

from .. import ir
from ..diagnostics import ERROR, WARNING, Diagnostic, Sink, Span
from ..syntax import Document


@dataclass(frozen=True)
class Finding:
    message: str
    span: Span | None
    hint: str | None = None


@dataclass
class LintContext:
    doc: Document
    envs: list[str]  # every env the file defines ([] when it defines none)
    # env name (None when the file has no envs) → its IR, or None where lowering failed
    edges: dict[str | None, ir.Edge | None] = field(default_factory=dict)
    # env name → the variables lowering used in it
    used_variables: dict[str | None, set[str]] = field(default_factory=dict)


class Rule:
    code: ClassVar[str]
    name: ClassVar[str]
    severity: ClassVar[str]
    summary: ClassVar[str]

    def check(self, ctx: LintContext) -> Iterable[Finding]:
        raise NotImplementedError


RULES: list[type[Rule]] = []


def rule(cls: type[Rule]) -> type[Rule]:
    RULES.append(cls)
    return cls


def all_rules() -> list[type[Rule]]:
    from . import rules  # noqa: F401  (registers the rules)
    return sorted(RULES, key=lambda r: r.code)


_SUPPRESSION = re.compile(r"#\s*edgec:\s*ignore\[([^\]]*)\]")

@dataclass
class Suppression:
    rule: str
    line: int  # the line it silences
    span: Span
    used: bool = False


def suppressions(doc: Document) -> list[Suppression]:
    out = []
    lines = doc.source.splitlines()
    for comment in doc.comments:
        m = _SUPPRESSION.search(comment.text)
        if not m:
            continue
        before = lines[comment.span.line - 1][:comment.span.column - 1] if comment.span.line <= len(lines) else ""
        target_line = comment.span.line if before.strip() else _next_code_line(lines, comment.span.line)
        for name in m.group(1).split(","):
            name = name.strip()
            col = comment.span.column + comment.text.find(name) if name else comment.span.column
            out.append(Suppression(name, target_line, Span(comment.span.line, col, comment.span.line,
                                                           col + max(1, len(name)))))
    return out


def _next_code_line(lines: list[str], line: int) -> int:
    for i in range(line, len(lines)):
        text = lines[i].strip()
        if text and not text.startswith("#"):
            return i + 1
    return line


def apply_suppressions(doc: Document, diagnostics: list[Diagnostic]) -> list[Diagnostic]:
    """The diagnostics not suppressed, plus one for each unknown or unused suppression."""
    sink = Sink(doc.file)
    known = {r.name for r in all_rules()} | {d.rule for d in diagnostics if d.rule}
    known |= KNOWN_RULE_NAMES
    sups = suppressions(doc)
    kept = []
    for d in diagnostics:
        hit = next((s for s in sups if s.rule == d.rule and d.span and s.line == d.span.line), None)
        if hit:
            hit.used = True
            continue
        kept.append(d)
    for s in sups:
        if s.rule not in known:
            from ..diagnostics import did_you_mean
            guess = did_you_mean(s.rule, known)
            sink.warning("W308", f"unknown rule '{s.rule}' in suppression", s.span,
                         hint=f"did you mean '{guess}'?" if guess else "see docs/lint.md for rule names",
                         rule="unknown-suppression")
        elif not s.used:
            sink.warning("W309", f"suppression of '{s.rule}' silences nothing here", s.span,
                         hint="remove the comment", rule="unused-suppression")
    return kept + sink.items


# rule names reported by stages other than the lint rules (lowering, targets); they can be
# suppressed too when they are warnings
KNOWN_RULE_NAMES = {"target-approximation", "target-capability", "not-formatted"}


def run(ctx: LintContext, sink: Sink) -> None:
    for cls in all_rules():
        r = cls()
        for finding in r.check(ctx):
            sink.report(r.code, r.severity, finding.message, finding.span, finding.hint, rule=r.name)


def dedupe(diagnostics: list[Diagnostic]) -> list[Diagnostic]:
    seen = set()
    out = []
    for d in diagnostics:
        key = (d.code, d.span, d.message)
        if key not in seen:
            seen.add(key)
            out.append(d)
    return out


def edges(ctx: LintContext) -> Iterator[tuple[str | None, ir.Edge]]:
    for env, edge in ctx.edges.items():
        if edge is not None:
            yield env, edge


__all__ = ["Finding", "LintContext", "Rule", "rule", "all_rules", "run", "ERROR", "WARNING"]
