"""edgec ir FILE --env E [--format json|yaml]: the IR of one environment."""
from __future__ import annotations

import sys

from ._common import EXIT_OK, EXIT_PROBLEMS, add_env, add_no_cache, compile_or_report


def add_arguments(parser) -> None:
    parser.add_argument("file", metavar="FILE")
    add_env(parser)
    add_no_cache(parser)
    parser.add_argument("--format", choices=("json", "yaml"), default="json")


def run(args) -> int:
    from ..ir import to_json
    result = compile_or_report(args.file, args.env, schema=True, warnings=True)
    if result is None:
        return EXIT_PROBLEMS
    sys.stdout.write(dump(to_json(result.edge), args.format))
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
