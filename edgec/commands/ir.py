"""edgec ir FILE --env E [--format json|yaml]: the IR of one environment."""
from __future__ import annotations

import sys

from ._common import EXIT_OK, EXIT_PROBLEMS, add_env, compile_file, print_diagnostics


def add_arguments(parser) -> None:
    parser.add_argument("file", metavar="FILE")
    add_env(parser)
    parser.add_argument("--format", choices=("json", "yaml"), default="json")


def run(args) -> int:
    from ..ir import to_json
    from ..schema import validate_ir
    result = compile_file(args.file, args.env)
    warnings = [d for d in result.diagnostics if d.severity != "error"]
    if not result.ok:
        print_diagnostics(result.diagnostics, {args.file: result.source})
        return EXIT_PROBLEMS
    data = to_json(result.edge)
    problems = validate_ir(data)
    if problems:  # the compiler built an IR its own schema refuses: a bug, said plainly
        print("edgec: internal error: the IR does not match its schema:\n  " + "\n  ".join(problems),
              file=sys.stderr)
        return EXIT_PROBLEMS
    print_diagnostics(warnings, {args.file: result.source})
    sys.stdout.write(dump(data, args.format))
    return EXIT_OK


def dump(data, fmt: str) -> str:
    if fmt == "json":
        import json
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    import io
    from ruamel.yaml import YAML
    yaml = YAML()
    yaml.default_flow_style = False
    buf = io.StringIO()
    yaml.dump(data, buf)
    return buf.getvalue()
