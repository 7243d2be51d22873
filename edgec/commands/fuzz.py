"""edgec fuzz [--targets runtime,nginx,envoy] [--time 10m | --configs N] [--seed S] [--out DIR]:
generated edge files served by the real gateways on loopback, every answer compared with
the routing specification; a divergence is shrunk and written as a corpus case."""
from __future__ import annotations

import re
import sys
from pathlib import Path

from ._common import EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE

_DURATION = re.compile(r"^(\d+)(s|m|h)$")


def add_arguments(parser) -> None:
    parser.add_argument("--targets", default="runtime,nginx",
                        help="comma-separated: runtime, nginx, envoy, spring (default: runtime,nginx)")
    limit = parser.add_mutually_exclusive_group()
    limit.add_argument("--time", metavar="DURATION", help="run this long (30s, 10m, 1h)")
    limit.add_argument("--configs", type=int, metavar="N", help="generate N edge files (default: 20)")
    parser.add_argument("--seed", type=int, default=0, help="the same seed generates the same files and requests")
    parser.add_argument("--requests", type=int, default=20, metavar="N", help="requests per edge file (default: 20)")
    parser.add_argument("--out", metavar="DIR", help="write each shrunk divergence here as NAME.edge + NAME.yaml")
    parser.add_argument("--format", choices=("text", "json"), default="text")


def run(args) -> int:
    import json

    from ..fuzz import session
    targets = tuple(t.strip() for t in args.targets.split(",") if t.strip())
    unknown = [t for t in targets if t not in session.TARGETS]
    if unknown or not targets:
        print(f"edgec fuzz: unknown target {', '.join(unknown) or '(none)'} (targets: {', '.join(session.TARGETS)})",
              file=sys.stderr)
        return EXIT_USAGE
    problem = session.missing(targets)
    if problem:
        print(f"edgec fuzz: {problem}", file=sys.stderr)
        return EXIT_USAGE
    seconds = None
    if args.time:
        m = _DURATION.match(args.time)
        if not m:
            print(f"edgec fuzz: --time '{args.time}' is not a duration (30s, 10m, 1h)", file=sys.stderr)
            return EXIT_USAGE
        seconds = int(m.group(1)) * {"s": 1, "m": 60, "h": 3600}[m.group(2)]
    configs = args.configs if args.configs is not None or seconds is not None else 20
    if configs is not None and configs < 1 or args.requests < 1:
        print("edgec fuzz: --configs and --requests take a number above 0", file=sys.stderr)
        return EXIT_USAGE

    def progress(tally) -> None:
        if args.format == "text":
            print(f"\r{tally.configs} files, " + ", ".join(f"{t} {tally.compared[t]}" for t in targets)
                  + f" requests compared, {len(tally.divergences)} divergences", end="", file=sys.stderr, flush=True)

    tally, written = session.run(targets, args.seed, configs, seconds, args.requests,
                                 Path(args.out) if args.out else None, progress)
    if args.format == "text":
        print(file=sys.stderr)
    report = session.report(tally, targets, written)
    if args.format == "json":
        sys.stdout.write(json.dumps(report, indent=2) + "\n")
    else:
        sys.stdout.write(session.render(report))
    return EXIT_PROBLEMS if tally.divergences else EXIT_OK
