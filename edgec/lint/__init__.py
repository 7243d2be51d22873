"""Lint rules: small classes, one per rule, run over the syntax tree and each env's IR.

A rule declares its code and yields Findings; the runner turns them into diagnostics
(name and level from the catalogue, edgec/catalogue.py), applies `# edgec: ignore[rule-name]` suppressions, and reports
unknown or unused suppressions itself.
"""
from __future__ import annotations

import re
from dataclasses import field
from functools import cached_property
from typing import ClassVar, Iterable, Iterator

from .. import ir
from ..catalogue import BY_NAME, lookup
from ..diagnostics import ERROR, WARNING, Diagnostic, Sink, Span
from ..keptcode import dataclass
from ..names import route_references
from ..syntax import Document, Stmt, Value


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
    target_names: tuple[str, ...] = ()  # the targets edgec has (the pipeline knows them, lint does not)

    @cached_property
    def route_references(self) -> list[tuple[str, Value, Stmt]]:
        """edgec.names.route_references, walked once for the rules that read it."""
        return list(route_references(self.doc))

    @cached_property
    def decls(self) -> dict[str, list[Stmt]]:
        """The statements written directly in the edge block, by kind, each in source order:
        one walk of what at 10,000 routes is 10,000 statements, where each rule walked it."""
        out: dict[str, list[Stmt]] = {}
        for stmt in self.doc.edge.body:
            out.setdefault(stmt.kind, []).append(stmt)
        return out

    @cached_property
    def named(self) -> dict[tuple[str, str], Stmt]:
        """(kind, name) → the first statement of the edge block of that kind and name (a
        route, an upstream): where a finding about it points. A walk of the declarations
        per finding made 10,000 findings about 10,000 routes quadratic."""
        out: dict[tuple[str, str], Stmt] = {}
        for stmt in self.doc.edge.body:
            value = stmt.args.get("name")
            if isinstance(value, Value):
                out.setdefault((stmt.kind, value.value), stmt)
        return out

    def alone(self, env: str | None) -> LintContext:
        """The context of the same file with only `env` lowered; what is read from the syntax
        tree alone is shared."""
        one = LintContext(self.doc, self.envs, {env: self.edges[env]},
                          {env: self.used_variables[env]} if env in self.used_variables else {},
                          self.target_names)
        for shared in ("route_references", "decls", "named"):
            if shared in self.__dict__:
                setattr(one, shared, getattr(self, shared))
        return one


class Rule:
    code: ClassVar[str]
    name: ClassVar[str]  # these three are the catalogue's, filled in by @rule
    severity: ClassVar[str]
    summary: ClassVar[str]
    # what a rule reads, which says how its findings for each env alone are had (run(alone=)):
    # "file": the syntax tree only (not ctx.edges nor ctx.used_variables): the same findings
    #   whichever envs are lowered;
    # "env": each env's IR on its own: over several envs, each one's findings in their order;
    # "envs": several envs together (a union over them, or what one env found holding back
    #   another's): run over every env, and again over each alone. The default: always right.
    scope: ClassVar[str] = "envs"

    def check(self, ctx: LintContext) -> Iterable[Finding]:
        raise NotImplementedError


RULES: list[type[Rule]] = []


def rule(cls: type[Rule]) -> type[Rule]:
    entry = lookup(cls.code)
    cls.name, cls.severity, cls.summary = entry.name, entry.level, entry.summary
    RULES.append(cls)
    return cls


def all_rules() -> list[type[Rule]]:
    from . import routing_rules, rules  # noqa: F401  (registers the rules)
    return sorted(RULES, key=lambda r: r.code)


_SUPPRESSION = re.compile(r"#\s*edgec:\s*ignore\b(?:\[([^\]]*)\])?")

# what to do instead, for warnings a suppression cannot silence
INSTEAD = {"not-formatted": "run `edgec fmt`, or lint with --no-fmt-check",
           "unknown-suppression": "remove the comment", "unused-suppression": "remove the comment",
           "import-not-carried-over": "it is about the configuration an import read, not this file: remove the comment"}


@dataclass
class Suppression:
    rule: str | None  # None: the comment names no rule
    line: int  # the line it silences
    span: Span
    used: bool = False


def suppressions(doc: Document) -> list[Suppression]:
    out = []
    lines = None  # the file's lines, as the parser counts them: split at the first suppression
    for comment in doc.comments:
        m = _SUPPRESSION.search(comment.text)
        if not m:
            continue
        if lines is None:
            lines = doc.source.split("\n")
        line_no = comment.span.line
        before = lines[line_no - 1][:comment.span.column - 1] if line_no <= len(lines) else ""
        target_line = line_no if before.strip() else _next_code_line(lines, line_no)
        if m.group(1) is None:
            col = comment.span.column + m.start()
            out.append(Suppression(None, target_line, Span(line_no, col, line_no, col + len(m.group()))))
            continue
        offset = m.start(1)
        for name in m.group(1).split(","):
            col = comment.span.column + offset + (len(name) - len(name.lstrip()))
            offset += len(name) + 1
            name = name.strip()
            out.append(Suppression(name, target_line, Span(line_no, col, line_no, col + max(1, len(name)))))
    return out


def _next_code_line(lines: list[str], line: int) -> int:
    for i in range(line, len(lines)):
        text = lines[i].strip()
        if text and not text.startswith("#"):
            return i + 1
    return line


def apply_suppressions(doc: Document, diagnostics: list[Diagnostic]) -> list[Diagnostic]:
    """The diagnostics not suppressed, plus one for each unknown or unused suppression."""
    from ..diagnostics import did_you_mean
    sink = Sink(doc.file)
    sups = suppressions(doc)
    kept = []
    for d in diagnostics:
        hit = None
        if d.span is not None and d.rule in BY_NAME and BY_NAME[d.rule].suppressible:
            hit = next((s for s in sups if s.rule == d.rule and s.line == d.span.line), None)
        if hit:
            hit.used = True
            continue
        kept.append(d)
    for s in sups:
        if s.rule is None:
            sink.warning("W308", "a suppression names the rule it silences", s.span,
                         hint="write: # edgec: ignore[rule-name]")
        elif s.rule not in BY_NAME:
            guess = did_you_mean(s.rule, BY_NAME)
            sink.warning("W308", f"unknown rule '{s.rule}' in suppression", s.span,
                         hint=f"did you mean '{guess}'?" if guess else "see docs/lint.md for rule names")
        elif not BY_NAME[s.rule].suppressible:
            sink.warning("W308", f"'{s.rule}' cannot be suppressed", s.span,
                         hint=INSTEAD.get(s.rule, "it reports errors, which leave nothing to build: fix the "
                                          "cause instead"))
        elif not s.used:
            sink.warning("W309", f"suppression of '{s.rule}' silences nothing here", s.span,
                         hint="remove the comment")
    return kept + sink.items


def run(ctx: LintContext, sink: Sink, alone: dict[str | None, Sink] | None = None) -> None:
    """Report what the rules find over ctx's envs into `sink`; with `alone` (an env of
    ctx.edges → a Sink), also what they find over that env alone, as when it is the only one
    lowered (a build's analysis), into its sink. Each rule runs as few times as its scope
    allows: a file rule once, an env rule once per env."""
    if not alone:
        for cls in all_rules():
            _report(cls.code, cls().check(ctx), (sink,))
        return
    one = {env: ctx.alone(env) for env in ctx.edges}
    every = (sink, *alone.values())
    for cls in all_rules():
        if cls.scope == "file":
            _report(cls.code, cls().check(ctx), every)
            continue
        if cls.scope != "env":
            _report(cls.code, cls().check(ctx), (sink,))
        for env, env_ctx in one.items():
            into = (alone[env], sink) if cls.scope == "env" else (alone[env],)
            _report(cls.code, cls().check(env_ctx), into)


def _report(code: str, findings: Iterable[Finding], sinks: tuple[Sink, ...]) -> None:
    for finding in findings:
        for sink in sinks:
            sink.report(code, finding.message, finding.span, finding.hint)


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
