"""edgec diff FILE --env A --env B: what differs between two environments' IR, path by path.
Exit codes follow diff(1) and git: 0 no difference, 1 differences, 2 trouble (a usage error or an
environment that does not compile)."""
from __future__ import annotations

import sys

from ._common import add_no_cache, compile_or_report

EXIT_SAME, EXIT_DIFFERENT, EXIT_TROUBLE = 0, 1, 2


def add_arguments(parser) -> None:
    parser.add_argument("file", metavar="FILE")
    parser.add_argument("--env", "-e", action="append", default=[], metavar="ENV",
                        help="an environment to compare (give two)")
    parser.add_argument("--format", choices=("text", "json"), default="text")
    add_no_cache(parser)


def run(args) -> int:
    import json

    from ..diff import diff_edges, render_text
    if len(args.env) != 2:
        print("edgec diff: give exactly two environments: --env A --env B", file=sys.stderr)
        return EXIT_TROUBLE
    edges = []
    for env in args.env:
        result = compile_or_report(args.file, env)
        if result is None:
            return EXIT_TROUBLE
        edges.append(result.edge)
    changes = diff_edges(*edges)
    if args.format == "json":
        sys.stdout.write(json.dumps({"a": args.env[0], "b": args.env[1], "changes": changes}, indent=2) + "\n")
    else:
        sys.stdout.write(render_text(changes, *args.env))
    return EXIT_DIFFERENT if changes else EXIT_SAME
