"""edgec import nginx|ingress FILE... [-o OUT] [--verify]: write the .edge file that behaves as another
product's configuration did."""
from __future__ import annotations

import sys
from pathlib import Path

from ._common import EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE, print_diagnostics


def add_arguments(parser) -> None:
    parser.add_argument("source", choices=["nginx", "ingress"],
                        help="what the files are: nginx (an nginx.conf), ingress (Kubernetes Ingress YAML, "
                             "as ingress-nginx serves it)")
    parser.add_argument("files", nargs="+", metavar="FILE",
                        help="nginx: the file nginx is started with; ingress: one or more YAML files")
    parser.add_argument("-o", "--output", metavar="OUT", help="write the .edge file here (default: standard output)")
    parser.add_argument("--name", help="the edge's name (default: from OUT, else from the first FILE)")
    parser.add_argument("--verify", action="store_true",
                        help="nginx: run the original and the imported file side by side in nginx; ingress: ask "
                             "ingress-nginx's documented routing and edgec's; print every request answered "
                             "differently (exit 1 if any)")


def run(args) -> int:
    from ..importers.check import checked, ingress_mismatches
    if args.source == "nginx" and len(args.files) != 1:
        print("edgec import nginx: give the one file nginx is started with (it includes the others)",
              file=sys.stderr)
        return EXIT_USAGE
    name = args.name or Path(args.output or args.files[0]).stem.split(".")[0] or "imported"
    out_name = args.output or f"{name}.edge"
    if args.source == "nginx":
        from ..importers.nginx import import_nginx
        result = import_nginx(args.files[0], name)
        edge, diags = checked(result, out_name, args.files[0])
    else:
        from ..importers.ingress import import_ingress
        result = import_ingress(args.files, name)
        edge, diags = checked(result, out_name, args.files[0], ingress_mismatches)
    print_diagnostics(diags, dict(result.sources, **{out_name: result.text or ""}))
    if edge is None:
        return EXIT_PROBLEMS
    if args.output:
        from ..writer import write_atomically
        write_atomically(args.output, result.text)
    else:
        sys.stdout.write(result.text)
    if not args.verify:
        return EXIT_OK
    if args.source == "nginx":
        from ..importers.verify import verify_nginx
        return verify_nginx(args.files[0], edge, result.servers)
    from ..importers.check import ingress_requests
    wrong = ingress_mismatches(edge, result.servers, limit=None)
    for line in wrong:
        sys.stdout.write(f"DIFF {line}\n")
    asked = sum(1 for _ in ingress_requests(result.servers))
    sys.stdout.write(f"verify: {asked} requests, {len(wrong)} routed differently from ingress-nginx's documented "
                     "routing\n")
    return EXIT_PROBLEMS if wrong else EXIT_OK
