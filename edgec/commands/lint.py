"""edgec lint FILE...: every diagnostic for every environment (or one with --env)."""
from __future__ import annotations

from ._common import EXIT_OK, EXIT_PROBLEMS, add_format, add_no_cache, print_diagnostics
from ._held import keep_until_exit


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
    add_no_cache(parser)


def run(args) -> int:
    from ..targets import UnknownTarget, names
    targets = tuple(names()) if "all" in args.target else tuple(args.target)
    diagnostics, sources = [], {}
    for path in args.files:
        try:
            sources[path], found = _lint_file(path, args.env, targets, args.strict, not args.no_fmt_check)
        except UnknownTarget as err:
            import sys
            print(f"edgec lint: {err}", file=sys.stderr)
            return 2
        diagnostics.extend(found)
    import sys
    print_diagnostics(diagnostics, sources, args.format, stream=None if args.format != "text" else sys.stdout)
    if not diagnostics and args.format == "text" and not args.quiet and sys.stdout.isatty():
        # a person at a terminal sees that the check ran; pre-commit and scripts see silence
        count = len(args.files)
        sys.stdout.write(f"{count} file{'s' if count != 1 else ''}, 0 problems\n")
    return EXIT_PROBLEMS if diagnostics else EXIT_OK


def _lint_file(path: str, env: str | None, targets: tuple[str, ...], strict: bool, format_check: bool):
    """The file's text (None: unreadable) and its diagnostics, the format check's after the
    analysis's: those an earlier lint of the same inputs found, when it kept them."""
    from .. import analysiscache
    from ..pipeline import analyse, keep_each_env, kept_each_env, read_source
    source, problem = read_source(path)
    if problem:
        return None, [problem]
    # a target's check reads what no key covers (the keys files the source names, the envoy
    # on PATH that validates): with --target nothing is kept
    name = None if targets else analysiscache.key("lint", path, source, env, strict, format_check)
    kept = analysiscache.load_plain(name)
    if isinstance(kept, tuple) and len(kept) == 2:
        each_env, kept = kept
        # each env's analysis is kept beside the diagnostics: when pruning took it alone, the
        # file is analysed again to keep it for the build that follows
        found = _diagnostics(kept) if not each_env or kept_each_env(path, source, env) else None
        if found is not None:
            return source, found
    # kept too: each env's analysis alone, which a build of that env reads instead of its own
    result = analyse(source, path, env=env, all_envs=env is None, targets=targets, strict=strict,
                     each_env=name is not None)
    found = list(result.diagnostics)
    if result.doc is not None and format_check:
        from ..fmt import not_formatted
        found.extend(not_formatted(result.doc))
    each_env = keep_each_env(path, source, env, result)
    analysiscache.keep_plain(name, (each_env, [_fields(d) for d in found]))
    keep_until_exit(result)
    return source, found


def _fields(d) -> tuple:
    """A diagnostic as the builtins marshal keeps: its fields in the dataclass's order, the span
    a plain tuple of its own (a Span is a named tuple, which marshal refuses)."""
    from dataclasses import astuple, fields, is_dataclass
    return tuple([astuple(v) if is_dataclass(v := getattr(d, f.name)) else tuple(v) if isinstance(v, tuple) else v
                  for f in fields(d)])


def _diagnostics(kept) -> list | None:
    """The diagnostics _fields made `kept` from, or None when it has another shape (an entry an
    edgec whose Diagnostic had other fields wrote): the file is then analysed again."""
    from dataclasses import fields
    from ..diagnostics import Diagnostic, Span
    if not isinstance(kept, list):
        return None
    names = [f.name for f in fields(Diagnostic)]
    found = []
    try:
        for values in kept:
            d = dict(zip(names, values, strict=True))
            d["span"] = d["span"] and Span(*d["span"])
            found.append(Diagnostic(**d))
    except (TypeError, ValueError):
        return None
    return found
