"""A finished command run as the program ends without freeing what it built (edgec/cli.py):
what it prints, its exit code and what its exit handlers keep are those of the interpreter's
own exit."""
from __future__ import annotations

import os
import subprocess
import sys

from .conftest import ROOT, env_with_temp_dir

# the same command called from Python code, which returns its code to an ordinary sys.exit
CALLED = "import sys; from edgec.cli import main; sys.exit(main(sys.argv[1:]))"


def _lint(tmp_path, how, *args):
    cache = tmp_path / how  # a cache of its own: each run compiles the kept code and saves it
    cache.mkdir(parents=True)
    env = env_with_temp_dir(cache)
    start = ["-m", "edgec"] if how == "program" else ["-c", CALLED]
    proc = subprocess.run([sys.executable, *start, "lint", *args], env=env, capture_output=True,
                          text=True, cwd=ROOT, timeout=120)
    kept = sorted(p.name for p in cache.glob("edgec-*/dataclasses-*.marshal"))
    return proc.returncode, proc.stdout, proc.stderr, kept


def test_a_lint_ends_as_the_interpreter_would_end_it(tmp_path):
    # warnings (exit 1) on stdout, a pipe: what is still buffered when the process ends
    args = ("--target", "nginx", "samples/shop.edge")
    program, called = _lint(tmp_path, "program", *args), _lint(tmp_path, "called", *args)
    assert program == called
    code, out, _, kept = program
    assert code == 1 and out.endswith("0 error(s), 5 warning(s)\n")
    assert any(name.startswith("dataclasses-edgec.ir-") for name in kept)  # saved by an exit handler


def test_a_clean_lint_exits_0_and_a_missing_file_as_before(tmp_path):
    for n, args in enumerate([("samples/shop.edge",), ("no-such.edge",)]):
        program, called = _lint(tmp_path / str(n), "program", *args), _lint(tmp_path / str(n), "called", *args)
        assert program[:3] == called[:3]
        assert (program[0] == 0) == (n == 0)
