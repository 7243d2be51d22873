"""What several commands share: reading a file, printing diagnostics, exit codes."""
from __future__ import annotations

import sys

from ..diagnostics import Diagnostic, render_github, render_json, render_sarif, render_text

EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE = 0, 1, 2


def add_format(parser, choices=("text", "json", "sarif", "github")) -> None:
    parser.add_argument("--format", choices=choices, default="text",
                        help="output format (default: text; github: GitHub Actions annotations)")


def add_env(parser) -> None:
    parser.add_argument("--env", "-e", help="environment to use (an `env NAME { }` block of the file)")


def print_diagnostics(diagnostics: list[Diagnostic], sources: dict[str, str], fmt: str = "text",
                      stream=None) -> None:
    stream = stream or (sys.stdout if fmt != "text" else sys.stderr)
    if fmt == "json":
        stream.write(render_json(diagnostics))
    elif fmt == "github":
        stream.write(render_github(diagnostics))
    elif fmt == "sarif":
        from ..lint import all_rules
        stream.write(render_sarif(diagnostics, {r.code: r.summary for r in all_rules()}))
    elif diagnostics:
        stream.write(render_text(diagnostics, sources, color=stream.isatty()))


def compile_file(path: str, env: str | None, targets: tuple[str, ...] = (), strict: bool = False):
    """Read and analyse one file for one env. Returns the pipeline Result."""
    from ..pipeline import Result, analyse, read_source
    source, problem = read_source(path)
    if problem:
        return Result(path, "", [problem])
    return analyse(source, path, env=env, targets=targets, strict=strict)
