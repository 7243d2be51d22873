"""edgec build FILE --target NAME|all --env E -o DIR: compile to a product's files."""
from __future__ import annotations

import os
import sys

from ._common import EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE, add_env, print_diagnostics


def add_arguments(parser) -> None:
    parser.add_argument("file", metavar="FILE")
    parser.add_argument("--target", "-t", required=True, help="target name, or 'all'")
    add_env(parser)
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
    from ..ir import to_json
    from ..pipeline import analyse, read_source, secret_resolver
    from ..schema import validate_ir
    from ..targets import BuildContext, UnknownTarget, get, names
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
    source, problem = read_source(args.file)
    if problem:
        print_diagnostics([problem], {}, args.format)
        return EXIT_PROBLEMS
    result = analyse(source, args.file, env=args.env)
    diagnostics = list(result.diagnostics)
    if not result.ok:
        print_diagnostics(diagnostics, {args.file: source}, args.format)
        return EXIT_PROBLEMS
    problems = validate_ir(to_json(result.edge))
    if problems:
        print("edgec: internal error: the IR does not match its schema:\n  " + "\n  ".join(problems), file=sys.stderr)
        return EXIT_PROBLEMS
    outputs: dict[str, str] = {}
    executable: set[str] = set()
    private: set[str] = set()
    sink = Sink(args.file)
    for target in targets:
        ctx = BuildContext(result.edge, sink, {k: v for k, v in options.items() if k in target.options},
                           secret_resolver(args.secrets_dir))
        target.check(ctx, strict=args.strict)
        if sink.has_errors:
            continue
        files = target.emit(ctx)
        prefix = f"{target.name}/" if len(targets) > 1 else ""
        for rel, content in files.items():
            outputs[prefix + rel] = content
        executable |= {prefix + rel for rel in target.executables(files)}
        private |= {prefix + rel for rel in target.private_files(files)}
    diagnostics += sink.items
    print_diagnostics(diagnostics, {args.file: source}, args.format)
    if any(d.severity == "error" for d in diagnostics):
        return EXIT_PROBLEMS
    written = write_tree(args.output, outputs, frozenset(executable), frozenset(private))
    if args.format == "text":
        for path in written:
            print(f"wrote {os.path.relpath(path)}", file=sys.stderr)
    return EXIT_OK
