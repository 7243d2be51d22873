"""`edgec` command line: one module per command in edgec/commands/, imported on demand."""
from __future__ import annotations

import argparse
import importlib
import sys

# command → one-line description; the module edgec.commands.<command> does the work
COMMANDS = {
    "lint": "check files for errors and problems (all environments unless --env)",
    "fmt": "print files in the one canonical layout",
    "ir": "print the IR of one environment as JSON or YAML",
    "schema": "print the JSON Schema of the IR",
    "build": "compile to a target's files (`edgec targets` lists the targets)",
    "targets": "print what each target can express (the capability matrix)",
    "run": "serve the edge with the built-in gateway (reverse proxy, API gateway, load balancer)",
    "explain": "show which route takes a request, why, and what the backend receives",
    "test": "check routing test cases (request → route, upstream, path, headers, status)",
    "diff": "show what differs between two environments' IR",
    "lsp": "serve the language server protocol on stdin/stdout (diagnostics, formatting, symbols)",
    "import": "write the .edge file that behaves as an nginx.conf or Ingress objects did (--verify compares)",
    "graph": "draw listeners, hosts, routes in precedence order and upstreams (dot, mermaid, svg, png)",
    "fuzz": "serve generated edge files with real gateways and compare every answer with `edgec explain`",
}


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # usage errors exit 2, as argparse does, but say where to look
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}: error: {message}\n")


def _command_module(name: str):
    return importlib.import_module(f"edgec.commands.{name}")


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    parser = _Parser(prog="edgec", description="A compiler for the edge of a service.")
    parser.add_argument("--version", action=_VersionAction)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    # with a command chosen only its sub-parser is made: each costs ~0.1 ms of gettext
    # lookups, and the others are needed only to list them (`edgec --help`, a misspelt command)
    for name, help_text in COMMANDS.items():
        if only is None or only == name:
            cmd = sub.add_parser(name, help=help_text, description=help_text)
            _command_module(name).add_arguments(cmd)
    return parser


class _VersionAction(argparse.Action):
    """--version, looked up only when asked for: importlib.metadata costs ~10 ms at every start."""

    def __init__(self, option_strings, dest, **kwargs):
        super().__init__(option_strings, dest, nargs=0, help="show the version and exit")

    def __call__(self, parser, namespace, values, option_string=None):
        sys.stdout.write(f"edgec {_version()} ({_runtime_build()})\n")
        parser.exit()


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version
    try:
        return version("edgec")
    except PackageNotFoundError:
        return "0+unknown"


def _runtime_build() -> str:
    """Whether the runtime's request path runs compiled (setup.py builds it in a wheel) or as
    pure Python (an editable install, a machine without a C compiler); found, not imported."""
    from importlib.machinery import EXTENSION_SUFFIXES
    from importlib.util import find_spec
    compiled = find_spec("edgec.runtime.server").origin.endswith(tuple(EXTENSION_SUFFIXES))
    return "runtime compiled" if compiled else "runtime pure Python"


# commands that serve until stopped; every other one runs once and exits
LONG_RUNNING = {"run", "lsp"}

def main(argv: list[str] | None = None) -> int:
    as_program = argv is None  # the process entry point, not a call from Python code
    argv = list(sys.argv[1:] if argv is None else argv)
    # only the chosen command's module is imported, which keeps `edgec lint` quick to start
    chosen = next((a for a in argv if a in COMMANDS), None)
    parser = build_parser(only=chosen)
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help(sys.stderr)
        return 2
    if as_program and args.command not in LONG_RUNNING:
        # a run that exits soon gains nothing from the cyclic GC's passes over everything a
        # compile built (~10% of linting 10,000 routes, bench/results/compile.md)
        import gc
        gc.disable()
    try:
        code = _command_module(args.command).run(args)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
    if as_program and args.command not in LONG_RUNNING:
        _exit_now(code)
    return code


def _exit_now(code) -> None:
    """End a finished command as the interpreter would, without freeing what it built (at
    10,000 routes the analysis, the IR and the output text take ~70 ms to free; the command
    holds them in edgec.commands._held): the exit handlers run (the kept code is saved in
    one), the output is flushed and the process exits. A flush that fails returns, and the
    interpreter's own exit reports it as before."""
    if code is not None and not isinstance(code, int):
        return  # sys.exit prints any other value
    import atexit
    import os
    atexit._run_exitfuncs()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except Exception:
        return
    os._exit(code or 0)


if __name__ == "__main__":
    sys.exit(main())
