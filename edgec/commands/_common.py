"""What several commands share: compiling one file or saying why not, printing diagnostics, exit codes."""
from __future__ import annotations

import argparse
import sys

from ..diagnostics import Diagnostic, render_github, render_json, render_sarif, render_text

EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE = 0, 1, 2


def add_format(parser, choices=("text", "json", "sarif", "github")) -> None:
    parser.add_argument("--format", choices=choices, default="text",
                        help="output format (default: text; github: GitHub Actions annotations)")


def add_env(parser) -> None:
    parser.add_argument("--env", "-e", help="environment to use (an `env NAME { }` block of the file)")


def add_no_cache(parser) -> None:
    parser.add_argument("--no-cache", action=_NoCache,
                        help="analyse the file afresh and keep nothing for the next command "
                             "(as EDGEC_NO_CACHE=1 does)")


class _NoCache(argparse.Action):
    """--no-cache turns the analysis cache (edgec.analysiscache) off for this run."""

    def __init__(self, option_strings, dest, **kwargs):
        super().__init__(option_strings, dest, nargs=0, help=kwargs.get("help"))

    def __call__(self, parser, namespace, values, option_string=None):
        from .. import analysiscache
        analysiscache.disabled = True
        setattr(namespace, self.dest, True)


def print_diagnostics(diagnostics: list[Diagnostic], sources: dict[str, str], fmt: str = "text",
                      stream=None) -> None:
    stream = stream or (sys.stdout if fmt != "text" else sys.stderr)
    if fmt == "json":
        stream.write(render_json(diagnostics))
    elif fmt == "github":
        stream.write(render_github(diagnostics))
    elif fmt == "sarif":
        stream.write(render_sarif(diagnostics))
    elif diagnostics:
        stream.write(render_text(diagnostics, sources, color=stream.isatty()))


def compile_or_report(path: str, env: str | None, fmt: str = "text", schema: bool = False,
                      warnings: bool = False):
    """The pipeline Result of one file for one env, or None after printing why there is none
    (its diagnostics, or an IR its own schema refuses: a compiler bug, said plainly). With
    warnings, a file that compiles has its warnings printed too."""
    from ..pipeline import compile_file, schema_problems
    result = compile_file(path, env, kept=True)
    if not result.ok:
        print_diagnostics(result.diagnostics, {path: result.source}, fmt)
        return None
    problems = schema_problems(result.edge) if schema else []
    if problems:
        print("edgec: internal error: the IR does not match its schema:\n  " + "\n  ".join(problems),
              file=sys.stderr)
        return None
    if warnings:
        print_diagnostics(result.diagnostics, {path: result.source}, fmt)
    return result
