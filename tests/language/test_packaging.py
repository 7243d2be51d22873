"""The package as users get it: a wheel built from the repository, installed into a fresh
venv (its dependencies come from the test interpreter's site-packages), run from another directory.
Also the pre-commit hooks this repository offers."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

from ..conftest import ROOT, env_with_temp_dir
from ..support.venvs import copy_checkout, fresh_venv

SOURCES = ("pyproject.toml", "setup.py", "README.md", "edgec", "grammar", "targets", "docs")


def build_wheel(src: Path, out: Path, pyproject: str | None = None, env: dict | None = None) -> Path:
    """A wheel built from a copy of the sources in `src` (so that concurrent builds never share
    setuptools' build/ directory), with another pyproject.toml, or more environment, if given."""
    src.mkdir(exist_ok=True)
    out.mkdir(exist_ok=True)
    for name in SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, src / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(ROOT / name, src / name)
    if pyproject is not None:
        (src / "pyproject.toml").write_text(pyproject)
    run = subprocess.run([sys.executable, "-m", "pip", "wheel", ".", "--no-deps", "-q", "-w", str(out)],
                         cwd=src, capture_output=True, text=True, timeout=600, env={**os.environ, **(env or {})})
    assert run.returncode == 0, run.stdout + run.stderr
    (whl,) = out.glob("edgec-*.whl")
    return whl


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    return build_wheel(tmp_path_factory.mktemp("src"), tmp_path_factory.mktemp("wheel"))


def left_out(wheel: Path) -> list[str]:
    """The source modules, and the folders under targets/, that the wheel does not hold."""
    names = set(zipfile.ZipFile(wheel).namelist())
    mapping = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-dir"]
    missing = []
    for package, folder in mapping.items():
        for path in sorted((ROOT / folder).rglob("*.py")):
            rel = path.relative_to(ROOT / folder).as_posix()
            if "__pycache__" not in path.parts and f"{package.replace('.', '/')}/{rel}" not in names:
                missing.append(f"{folder}/{rel}")
    for target in sorted(p.name for p in (ROOT / "targets").iterdir() if p.is_dir() and p.name != "__pycache__"):
        if f"edgec/targets/{target}/__init__.py" not in names:
            missing.append(f"targets/{target}/ (a target folder that is not a package)")
    return missing


@pytest.fixture(scope="module")
def venv(wheel, tmp_path_factory) -> Path:
    env = fresh_venv(tmp_path_factory.mktemp("venv") / "v")
    run = subprocess.run([str(env / "bin" / "python"), "-m", "pip", "install", "--no-deps", "-q", str(wheel)],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    return env


def in_venv(venv: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    environ["PATH"] = f"{venv / 'bin'}{os.pathsep}{environ.get('PATH', '')}"
    return subprocess.run(list(args), cwd=cwd, env=environ, capture_output=True, text=True, timeout=120)


def test_the_wheel_holds_the_grammar_the_targets_and_their_templates(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "edgec/grammar/edge.lark" in names
    assert "edgec/targets/__init__.py" in names
    assert "edgec/docs/language.md" in names  # what `edgec lsp` shows on hover
    templates = sorted(p.relative_to(ROOT / "targets").as_posix() for p in (ROOT / "targets").rglob("*.j2"))
    assert {f"edgec/targets/{t}" for t in templates} <= names
    assert not any(n.startswith(("tests/", "samples/", "grammar/", "targets/", "docs/")) for n in names)


def test_every_module_and_target_folder_is_in_the_wheel(wheel):
    """A new target (or sub-package) is a folder and a line in pyproject.toml's packages: a
    forgotten line would ship a wheel without it."""
    assert left_out(wheel) == []


def test_a_target_left_out_of_the_packages_is_caught(tmp_path):
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert '    "edgec.targets.nginx",\n' in pyproject
    whl = build_wheel(tmp_path / "src", tmp_path / "wheel", pyproject.replace('    "edgec.targets.nginx",\n', ""))
    assert "targets/nginx/__init__.py" in left_out(whl) and "targets/nginx/emit.py" in left_out(whl)


def test_the_installed_edgec_lints_from_any_directory(venv, tmp_path):
    shutil.copy(ROOT / "samples" / "shop.edge", tmp_path / "shop.edge")
    where = in_venv(venv, str(venv / "bin" / "python"), "-c", "import edgec.parse; print(edgec.parse.__file__)",
                    cwd=tmp_path)
    assert where.stdout.startswith(str(venv)), where.stdout + where.stderr  # the wheel's, not the checkout's
    out = in_venv(venv, str(venv / "bin" / "edgec"), "lint", "shop.edge", cwd=tmp_path)
    assert (out.returncode, out.stdout, out.stderr) == (0, "", "")
    bad = tmp_path / "bad.edge"
    bad.write_text('edge "x" {\n  route r { forward nowhere }\n}\n')
    out = in_venv(venv, str(venv / "bin" / "edgec"), "lint", "bad.edge", cwd=tmp_path)
    assert out.returncode == 1 and "bad.edge:2:" in out.stdout + out.stderr


def test_the_installed_language_server_reads_the_reference(venv, tmp_path):
    out = in_venv(venv, str(venv / "bin" / "python"), "-c",
                  "from edgec.editor import langref; print(langref.lookup('upstream', 'balance')[0].text)",
                  cwd=tmp_path)
    assert out.returncode == 0 and out.stdout.startswith("`balance round_robin`"), out.stdout + out.stderr


def test_python_m_edgec_version(venv, tmp_path):
    """A wheel holds the runtime's request path compiled (setup.py), and says so."""
    out = in_venv(venv, str(venv / "bin" / "python"), "-m", "edgec", "--version", cwd=tmp_path)
    assert out.returncode == 0 and out.stdout.strip() == "edgec 0.1.0 (runtime compiled)", out.stdout + out.stderr


def compiled_modules(wheel: Path) -> list[str]:
    return sorted(n for n in zipfile.ZipFile(wheel).namelist() if n.endswith(".so"))


def test_the_wheel_compiles_the_request_path_and_keeps_its_source(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    compiled = [n.split(".")[0] for n in compiled_modules(wheel) if n.startswith("edgec/")]
    assert compiled == [f"edgec/runtime/{m}" for m in ("exchange", "h2conn", "h2fields", "http", "outbox", "plan",
                                                       "server", "timers", "upstream")]
    assert {f"{m}.py" for m in compiled} <= names


def test_without_a_c_compiler_the_wheel_is_pure_python_with_a_warning(tmp_path):
    log = tmp_path / "pip.log"  # (pip shows a build's output only when it fails)
    whl = build_wheel(tmp_path / "src", tmp_path / "wheel", env={"CC": "false", "PIP_LOG": str(log)})
    assert compiled_modules(whl) == []
    assert "WARNING: edgec's runtime is installed as pure Python, not compiled" in log.read_text()


def test_an_editable_install_stays_pure_python(tmp_path):
    """So that an edited module takes effect; nothing is built into the source tree."""
    src = copy_checkout(tmp_path / "src", ROOT)
    env = fresh_venv(tmp_path / "venv")
    run = subprocess.run([str(env / "bin" / "python"), "-m", "pip", "install", "--no-deps", "-q", "-e", str(src)],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    out = in_venv(env, str(env / "bin" / "edgec"), "--version", cwd=tmp_path)
    assert out.stdout.strip() == "edgec 0.1.0 (runtime pure Python)", out.stdout + out.stderr
    assert [p for p in src.rglob("*.so")] == []


# ---- pre-commit ---------------------------------------------------------------------------

def hooks() -> dict:
    from ruamel.yaml import YAML
    return {h["id"]: h for h in YAML(typ="safe").load((ROOT / ".pre-commit-hooks.yaml").read_text())}


def test_pre_commit_hooks_are_declared_for_edge_files():
    declared = hooks()
    assert set(declared) == {"edgec-lint", "edgec-fmt"}
    for hook in declared.values():
        assert hook["language"] == "python" and hook["files"] == r"\.edge$"
        assert hook["entry"].split()[0] == "edgec"


@pytest.mark.parametrize("hook_id", ["edgec-lint", "edgec-fmt"])
def test_each_hook_passes_on_the_samples_and_fails_on_a_bad_file(hook_id, tmp_path):
    # pre-commit runs `entry` with the staged file names appended
    entry = hooks()[hook_id]["entry"].split()
    samples = [str(p) for p in sorted((ROOT / "samples").glob("*.edge"))]
    command = [sys.executable, "-m", "edgec", *entry[1:]]
    assert subprocess.run(command + samples, capture_output=True, timeout=60).returncode == 0
    bad = tmp_path / "bad.edge"
    if hook_id == "edgec-lint":  # a problem; the layout is edgec-fmt's (lint's hook leaves it alone)
        bad.write_text('edge "x" {\n  route r {\n    forward nowhere\n  }\n}\n')
        assert subprocess.run(command + [str(bad)], capture_output=True, timeout=60).returncode == 1
        bad.write_text('edge "x" {\n  route r {   respond 200 }\n}\n')
        assert subprocess.run(command + [str(bad)], capture_output=True, timeout=60).returncode == 0
    else:
        bad.write_text('edge "x" {\n  route r {   respond 200 }\n}\n')
        subprocess.run(command + [str(bad)], capture_output=True, timeout=60)
        assert bad.read_text() != 'edge "x" {\n  route r {   respond 200 }\n}\n'


def test_the_lint_path_imports_only_what_it_needs(tmp_path):
    """`edgec lint` runs in editors and pre-commit on every save: it must not pay for the
    build and run dependencies (bench/results/compile.md has the numbers), nor, for a
    well-formed file, for lark: the parse runs on tables kept as plain data."""
    def imported_by(*args: str, kept: bool = False) -> set[str]:
        command = [sys.executable, "-X", "importtime", *args]
        # the analysis itself, unless what an earlier lint kept is asked for (edgec.analysiscache)
        env = {**env_with_temp_dir(tmp_path), "EDGEC_NO_CACHE": "0" if kept else "1"}
        out = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=60, env=env)
        return {line.split("|")[-1].strip() for line in out.stderr.splitlines() if "|" in line}

    # what the interpreter's start imports on this machine (site's .pth files may bring in
    # certifi, tempfile…) is not the lint's doing
    started = imported_by("-c", "pass")

    def imported(path, kept: bool = False) -> set[str]:
        imported_by("-m", "edgec", "lint", str(path), kept=kept)  # the parser cache made, the analysis kept
        return imported_by("-m", "edgec", "lint", str(path), kept=kept) - started

    modules = imported("samples/shop.edge")
    well_formed = {name.split(".")[0] for name in modules}
    assert "edgec" in well_formed
    heavy = {"jsonschema", "jinja2", "ruamel", "botocore", "uvloop", "httptools", "jwt", "redis",
             "prometheus_client", "asyncio", "importlib_metadata", "lark", "hashlib"}
    assert well_formed & heavy == set()
    # what only some runs need is imported by them: a target's check, --format json, a diff
    assert modules & {"tempfile", "edgec.features", "json", "difflib"} == set()
    # a lint that finds the analysis kept loads its diagnostics as plain data: no pickle, and
    # nothing the analysis does not import but the digest that names the entry
    assert imported("samples/shop.edge", kept=True) - modules == {"_blake2"}
    broken = tmp_path / "broken.edge"
    broken.write_text('edge "x" {\n  route r {\n    forward\n  }\n}\n')
    assert "lark" in {name.split(".")[0] for name in imported(broken)}  # the measurement works: a syntax error is lark's to explain
