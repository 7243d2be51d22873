"""edgec test FILE --env E CASES.yaml...: routing tests (request → expected route, upstream,
path, headers, status, Location) checked against the routing specification."""
from __future__ import annotations

import sys

from ._common import EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE, add_env, add_no_cache, compile_or_report


def add_arguments(parser) -> None:
    parser.add_argument("file", metavar="FILE", help="the .edge file")
    add_env(parser)
    add_no_cache(parser)
    parser.add_argument("cases", nargs="+", metavar="CASES.yaml", help="case files (format: docs/semantics.md, "
                                                                       "edgec/cases.py)")
    parser.add_argument("--format", choices=("text", "json"), default="text")
    parser.add_argument("-q", "--quiet", action="store_true", help="print only failures and the summary")


def run(args) -> int:
    import json

    from ..cases import CaseError, check, load
    files = []
    for path in args.cases:
        try:
            files.append(load(path))
        except CaseError as err:
            print(f"edgec test: {err}", file=sys.stderr)
            return EXIT_USAGE
    result = compile_or_report(args.file, args.env)
    if result is None:
        return EXIT_PROBLEMS
    report = []
    for f in files:
        for case in f.cases:
            decision, problems = check(case, result.edge)
            report.append({"file": f.path, "case": case.name, "request": f"{case.method} {case.url}",
                           "passed": not problems, "problems": problems,
                           "got": {"route": decision.route, "status": decision.status, "action": decision.action}})
    failed = [r for r in report if not r["passed"]]
    if args.format == "json":
        sys.stdout.write(json.dumps({"passed": len(report) - len(failed), "failed": len(failed), "cases": report},
                                    indent=2) + "\n")
    else:
        out = []
        for r in report:
            if r["passed"]:
                if not args.quiet:
                    out.append(f"PASS  {r['case']}")
                continue
            out.append(f"FAIL  {r['case']}  ({r['file']}: {r['request']})")
            out.extend(f"        {p}" for p in r["problems"])
        out.append(f"{len(report)} cases: {len(report) - len(failed)} passed, {len(failed)} failed")
        sys.stdout.write("\n".join(out) + "\n")
    return EXIT_PROBLEMS if failed else EXIT_OK
