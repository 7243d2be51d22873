"""edgec fmt FILE... [--check] [--diff]: rewrite files in the canonical layout."""
from __future__ import annotations

import sys

from ._common import EXIT_OK, EXIT_PROBLEMS, print_diagnostics


def add_arguments(parser) -> None:
    parser.add_argument("files", nargs="+", metavar="FILE", help=".edge files ('-' for standard input)")
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if a file would change")
    parser.add_argument("--diff", action="store_true", help="print a diff instead of writing")


def run(args) -> int:
    from ..diagnostics import CompileError
    from ..fmt import format_source, unified_diff
    from ..pipeline import read_source
    from ..writer import write_atomically
    status = EXIT_OK
    for path in args.files:
        if path == "-":
            source, problem = sys.stdin.read(), None
        else:
            source, problem = read_source(path)
        if problem:
            print_diagnostics([problem], {})
            status = EXIT_PROBLEMS
            continue
        try:
            formatted = format_source(source, path)
        except CompileError as err:
            print_diagnostics(err.diagnostics, {path: source})
            status = EXIT_PROBLEMS
            continue
        if formatted == source:
            if path == "-" and not (args.check or args.diff):
                sys.stdout.write(formatted)
            continue
        if args.check or args.diff:
            if args.diff:
                sys.stdout.write(unified_diff(source, formatted, path))
            else:
                print(f"would reformat {path}", file=sys.stderr)
            status = EXIT_PROBLEMS
        elif path == "-":
            sys.stdout.write(formatted)
        else:
            write_atomically(path, formatted)
            print(f"reformatted {path}", file=sys.stderr)
    return status
