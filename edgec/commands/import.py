"""edgec import nginx FILE [-o OUT] [--verify]: write the .edge file that behaves as an nginx configuration."""
from __future__ import annotations

import sys
from pathlib import Path

from ._common import EXIT_OK, EXIT_PROBLEMS, print_diagnostics


def add_arguments(parser) -> None:
    parser.add_argument("source", choices=["nginx"], help="what the file is: nginx (an nginx.conf)")
    parser.add_argument("file", metavar="FILE", help="the configuration (nginx: the file nginx is started with)")
    parser.add_argument("-o", "--output", metavar="OUT", help="write the .edge file here (default: standard output)")
    parser.add_argument("--name", help="the edge's name (default: from OUT, else from FILE)")
    parser.add_argument("--verify", action="store_true",
                        help="run the original and the imported file side by side in nginx and print every "
                             "request they answer differently (exit 1 if any)")


def run(args) -> int:
    from ..importers.check import checked
    from ..importers.nginx import import_nginx
    name = args.name or Path(args.output or args.file).stem.split(".")[0] or "imported"
    result = import_nginx(args.file, name)
    out_name = args.output or f"{name}.edge"
    edge, diags = checked(result, out_name, args.file)
    print_diagnostics(diags, dict(result.sources, **{out_name: result.text or ""}))
    if edge is None:
        return EXIT_PROBLEMS
    if args.output:
        from ..writer import write_atomically
        write_atomically(args.output, result.text)
    else:
        sys.stdout.write(result.text)
    if args.verify:
        from ..importers.verify import verify_nginx
        return verify_nginx(args.file, edge, result.servers)
    return EXIT_OK
