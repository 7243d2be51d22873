"""edgec graph FILE --env E [--format dot|mermaid|svg|png] [-o FILE] [--route NAME]:
draw listeners → hosts → routes (in precedence order) → upstreams."""
from __future__ import annotations

import os
import sys

from ._common import EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE, add_env, add_no_cache, compile_or_report

FORMATS = ("dot", "mermaid", "svg", "png")


def add_arguments(parser) -> None:
    parser.add_argument("file", metavar="FILE")
    add_env(parser)
    add_no_cache(parser)
    parser.add_argument("--format", "-f", choices=FORMATS, default=None,
                        help="dot and mermaid are text; svg and png are drawn by Graphviz's `dot` "
                             "(default: from the -o extension, else dot)")
    parser.add_argument("-o", "--output", metavar="FILE", help="write here instead of standard output")
    parser.add_argument("--route", metavar="NAME", help="only this route and the routes it competes with")


def _format(args) -> str:
    if args.format:
        return args.format
    ext = os.path.splitext(args.output or "")[1].lstrip(".").lower()
    return {"mmd": "mermaid", "gv": "dot"}.get(ext, ext if ext in FORMATS else "dot")


def run(args) -> int:
    from ..graph import GraphvizMissing, build, render, to_dot, to_mermaid
    result = compile_or_report(args.file, args.env)
    if result is None:
        return EXIT_PROBLEMS
    edge = result.edge
    if args.route is not None and all(r.name != args.route for r in edge.routes):
        from ..diagnostics import did_you_mean
        guess = did_you_mean(args.route, [r.name for r in edge.routes])
        print(f"edgec graph: no route named '{args.route}'" + (f"; did you mean '{guess}'?" if guess else ""),
              file=sys.stderr)
        return EXIT_USAGE
    fmt = _format(args)
    graph = build(edge, focus=args.route)
    text = to_mermaid(graph) if fmt == "mermaid" else to_dot(graph)
    data = text.encode("utf-8")
    if fmt in ("svg", "png"):
        try:
            data = render(text, fmt)
        except GraphvizMissing as err:
            print(f"edgec graph: {err}", file=sys.stderr)
            return EXIT_PROBLEMS
    if args.output is None:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return EXIT_OK
    from ..writer import write_atomically
    write_atomically(args.output, data)
    return EXIT_OK

