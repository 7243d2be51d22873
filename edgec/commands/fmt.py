"""edgec fmt FILE... [--check] [--diff]: rewrite files in the canonical layout."""
from __future__ import annotations

import sys

from ._common import EXIT_OK, EXIT_PROBLEMS, print_diagnostics


def add_arguments(parser) -> None:
    parser.add_argument("files", nargs="+", metavar="FILE", help=".edge files ('-' for standard input)")
    parser.add_argument("--check", action="store_true",
                        help="change nothing; name each file that would change and exit 1 if any would")
    parser.add_argument("--diff", action="store_true", help="change nothing; print what would change as a diff")


def run(args) -> int:
    from ..diagnostics import CompileError
    from ..fmt import format_source, unified_diff
    from ..pipeline import read_source
    from ..writer import write_atomically
    status = EXIT_OK
    for path in args.files:
        stdin = path == "-"
        source, problem = (sys.stdin.read(), None) if stdin else read_source(path)
        if problem:
            print_diagnostics([problem], {})
            status = EXIT_PROBLEMS
            continue
        name = "<stdin>" if stdin else path
        try:
            formatted = format_source(source, name)
        except CompileError as err:
            print_diagnostics(err.diagnostics, {name: source})
            status = EXIT_PROBLEMS
            continue
        changed = formatted != source
        if args.diff and changed:
            sys.stdout.write(unified_diff(source, formatted, name))
        if args.check:
            if changed:
                print(f"would reformat {name}", file=sys.stderr)
                status = EXIT_PROBLEMS
        elif stdin and not args.diff:
            sys.stdout.write(formatted)
        elif changed and not args.diff:
            write_atomically(path, formatted)
            print(f"reformatted {path}", file=sys.stderr)
    return status
