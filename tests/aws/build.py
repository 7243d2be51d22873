"""Compiling an .edge file for the aws target the way `edgec build` does."""
from __future__ import annotations

from pathlib import Path

from edgec.diagnostics import Sink
from edgec.pipeline import analyse
from edgec.targets import BuildContext, get

from ..conftest import ROOT


def build(path: Path, env: str | None, source: str | None = None):
    """(diagnostics, files): files is empty when there is an error."""
    name = str(path.relative_to(ROOT)) if path.is_absolute() and path.is_relative_to(ROOT) else str(path)
    text = path.read_text() if source is None else source
    result = analyse(text, name, env=env, targets=("aws",))
    if not result.ok:
        return result.diagnostics, {}
    sink = Sink(name)
    target = get("aws")
    ctx = BuildContext(result.edge, sink, target="aws")
    target.check(ctx)
    assert not sink.has_errors, [d.message for d in sink.items]
    return result.diagnostics + sink.items, target.emit(ctx)


def errors(diagnostics) -> list[dict]:
    return [{"code": d.code, "line": d.line, "column": d.column, "message": d.message}
            for d in diagnostics if d.severity == "error"]


def plan_of(path: Path, env: str | None, source: str | None = None):
    """The aws target's plan for a file that builds."""
    from edgec.targets.aws import plan as planner
    from edgec.targets.aws.settings import file_values
    text = path.read_text() if source is None else source
    result = analyse(text, str(path), env=env)
    assert result.edge is not None, errors(result.diagnostics)
    return planner.build(result.edge, file_values(result.edge, Sink(str(path))))
