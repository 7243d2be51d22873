"""edgec build FILE --target NAME|all --env E -o DIR: compile to a product's files."""
from __future__ import annotations

import os
import sys

from ._common import EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE, add_env, add_no_cache, compile_or_report, print_diagnostics
from ._held import keep_until_exit


def add_arguments(parser) -> None:
    parser.add_argument("file", metavar="FILE")
    parser.add_argument("--target", "-t", required=True, help="target name, or 'all'")
    add_env(parser)
    add_no_cache(parser)
    parser.add_argument("-o", "--output", required=True, metavar="DIR",
                        help="output directory (with --target all, one sub-directory per target)")
    parser.add_argument("--option", "-O", action="append", default=[], metavar="KEY=VALUE",
                        help="target option, e.g. -O nginx_version=1.25 (see `edgec targets`)")
    parser.add_argument("--strict", action="store_true", help="approximations are errors")
    parser.add_argument("--secrets-dir", default=os.environ.get("EDGEC_SECRETS_DIR"),
                        help="directory of secret files (default: $EDGEC_SECRETS_DIR); "
                             "a secret is read from the environment variable of its name first")
    parser.add_argument("--format", choices=("text", "json", "sarif"), default="text",
                        help="diagnostics format")


def run(args) -> int:
    from ..diagnostics import Sink
    from ..pipeline import emit, secret_resolver
    from ..targets import UnknownTarget, get, names
    from ..writer import write_tree

    target_names = names() if args.target == "all" else [args.target]
    try:
        targets = [get(n) for n in target_names]
    except UnknownTarget as err:
        print(f"edgec build: {err}", file=sys.stderr)
        return EXIT_USAGE
    options = {}
    for opt in args.option:
        key, sep, value = opt.partition("=")
        known = {k for t in targets for k in t.options}
        if not sep or key not in known:
            print(f"edgec build: unknown option '{opt}'; options: {', '.join(sorted(known)) or 'none'}",
                  file=sys.stderr)
            return EXIT_USAGE
        options[key] = value
    result = compile_or_report(args.file, args.env, args.format, schema=True)
    if result is None:
        return EXIT_PROBLEMS
    sink = Sink(args.file)
    out = emit(result.edge, targets, sink, options, secret_resolver(args.secrets_dir), args.strict)
    diagnostics = result.diagnostics + sink.items
    print_diagnostics(diagnostics, {args.file: result.source}, args.format)
    if not out.built:  # nothing is written unless a target compiled
        return EXIT_PROBLEMS
    # with --target all, each target that can express the file is written whole; the others
    # write nothing and are named, each with its first error
    written = write_tree(args.output, out.files, frozenset(out.executable), frozenset(out.private))
    if args.format == "text":
        for path in written:
            print(f"wrote {os.path.relpath(path)}", file=sys.stderr)
        for note in out.notes:
            print(note, file=sys.stderr)
        for name, first in out.refused.items():
            print(f"edgec build: target {name} refused this file ({first.code} at line {first.line}: see above); "
                  f"nothing written for it", file=sys.stderr)
    keep_until_exit(result, out)
    return EXIT_PROBLEMS if out.refused else EXIT_OK
