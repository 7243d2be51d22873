"""edgec lint FILE...: every diagnostic for every environment (or one with --env)."""
from __future__ import annotations

from ._common import EXIT_OK, EXIT_PROBLEMS, add_format, print_diagnostics


def add_arguments(parser) -> None:
    parser.add_argument("files", nargs="+", metavar="FILE", help=".edge files")
    parser.add_argument("--env", "-e", help="lint only this environment (default: every one)")
    parser.add_argument("--target", "-t", action="append", default=[],
                        help="also report what this target cannot express (repeatable, or 'all')")
    parser.add_argument("--strict", action="store_true", help="target approximations are errors")
    parser.add_argument("--no-fmt-check", action="store_true", help="do not warn about unformatted files")
    parser.add_argument("-q", "--quiet", action="store_true",
                        help="print nothing when there is no problem (the default when not on a terminal)")
    add_format(parser)


def run(args) -> int:
    from ..pipeline import compile_file
    from ..targets import UnknownTarget, names
    targets = tuple(names()) if "all" in args.target else tuple(args.target)
    diagnostics, sources = [], {}
    for path in args.files:
        try:
            result = compile_file(path, env=args.env, all_envs=args.env is None, targets=targets,
                                  strict=args.strict)
        except UnknownTarget as err:
            import sys
            print(f"edgec lint: {err}", file=sys.stderr)
            return 2
        sources[path] = result.source
        diagnostics.extend(result.diagnostics)
        if result.doc is not None and not args.no_fmt_check:
            diagnostics.extend(_format_check(result.doc))
    import sys
    print_diagnostics(diagnostics, sources, args.format, stream=None if args.format != "text" else sys.stdout)
    if not diagnostics and args.format == "text" and not args.quiet and sys.stdout.isatty():
        # a person at a terminal sees that the check ran; pre-commit and scripts see silence
        count = len(args.files)
        sys.stdout.write(f"{count} file{'s' if count != 1 else ''}, 0 problems\n")
    return EXIT_PROBLEMS if diagnostics else EXIT_OK


def _format_check(doc):
    from ..fmt import not_formatted
    return not_formatted(doc)
