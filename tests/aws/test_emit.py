"""The aws target's output for every sample × env and for the test edges: pinned scripts
(or the pinned errors that say what ALB cannot express), and clean for bash and shellcheck."""
from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from ..conftest import ROOT, sample_envs
from .build import build, errors

EDGES = sorted((ROOT / "tests" / "aws" / "edges").glob("*.edge"))


def edge_envs():
    return sample_envs() + [pytest.param(p, "prod", id=f"{p.stem}-prod") for p in EDGES]


def shell_problems(files: dict[str, str], tmp_path) -> list[str]:
    out = []
    for name, text in files.items():
        path = tmp_path / name
        path.write_text(text)
        syntax = subprocess.run(["bash", "-n", str(path)], capture_output=True, text=True)
        if syntax.returncode:
            out.append(f"bash -n {name}: {syntax.stderr}")
        check = subprocess.run(["shellcheck", "--severity=style", str(path)], capture_output=True, text=True)
        if check.returncode:
            out.append(f"shellcheck {name}:\n{check.stdout}{check.stderr}")
    return out


@pytest.mark.parametrize("script", ["deploy.sh", "destroy.sh"])
@pytest.mark.parametrize("path,env", edge_envs())
def test_golden(path, env, script, file_regression, data_regression, tmp_path):
    diagnostics, files = build(path, env)
    stem = f"{path.stem}-{env}"
    if not files:
        if script == "deploy.sh":
            data_regression.check({"errors": errors(diagnostics)}, basename=f"{stem}-errors")
        return
    assert shell_problems({script: files[script]}, tmp_path) == []
    file_regression.check(files[script], basename=f"{stem}-{script[:-3]}", extension=".sh")


@pytest.mark.skipif(shutil.which("shellcheck") is None, reason="shellcheck is installed by tests/run.sh")
def test_shellcheck_finds_what_it_should(tmp_path):
    """The check above could pass vacuously if shellcheck ignored its input."""
    assert shell_problems({"bad.sh": "#!/usr/bin/env bash\necho $1\n"}, tmp_path)


def test_edgec_build_writes_executable_scripts(tmp_path):
    out = tmp_path / "out"
    run = subprocess.run(["edgec", "build", str(EDGES[0]), "--env", "prod", "--target", "aws", "-o", str(out)],
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    for name in ("deploy.sh", "destroy.sh"):
        assert os.access(out / name, os.X_OK)
        head = (out / name).read_text().splitlines()
        assert head[0] == "#!/usr/bin/env bash"
        assert "set -euo pipefail" in head and 'export AWS_PAGER=""' in head
