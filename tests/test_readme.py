"""README.md works as written, on a copy of the repository in a fresh virtualenv: the quickstart,
every example of the commands table, and the pre-commit snippet (the `pre-commit` tool from
PyPI, against a clone of this repository with the tag the snippet names). The sample matrix is
what the builds give."""
from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .conftest import ROOT
from .support import sample_matrix
from .support.venvs import copy_checkout, fresh_venv

README = (ROOT / "README.md").read_text()


def test_the_sample_matrix_is_what_the_builds_give():
    assert sample_matrix.in_readme() == sample_matrix.table(), \
        "regenerate the table: python -m tests.support.sample_matrix"


def _quickstart_install() -> str:
    return re.search(r"```sh\n(pip install \. && edgec build [^\n]+)\n```", README).group(1)


def _table_examples() -> list[str]:
    start = README.index("| command | what it does | example")
    rows = README[start:README.index("\n\n", start)].splitlines()[2:]
    return [re.findall(r"`([^`]+)`", row.rsplit(" | ", 1)[1])[0] for row in rows]


def _mentioned_runs() -> list[str]:
    """The long-running commands the quickstart's prose gives."""
    prose = re.sub(r"```.*?```", "", README[README.index("## Quickstart"):README.index("Install what the tests need")],
                   flags=re.S)
    return [c for c in re.findall(r"`([^`]+)`", prose) if c.startswith(("nginx -p", "edgec run"))]


@pytest.fixture(scope="module")
def checkout(tmp_path_factory) -> Path:
    """The repository's files (as they are now) in a fresh directory, as a git repository tagged
    with the snippet's rev, like a fresh clone of a release."""
    root = copy_checkout(tmp_path_factory.mktemp("fresh") / "edgec", ROOT)
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com"]
    for argv in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "release"],
                 ["tag", re.search(r"rev: (\S+)", README).group(1)]):
        subprocess.run(git + argv, cwd=root, check=True, capture_output=True)
    return root


@pytest.fixture(scope="module")
def shell(checkout, tmp_path_factory):
    """Runs a README line with bash in the checkout, a fresh virtualenv first on PATH (its
    dependencies are the test interpreter's, so `pip install .` needs no download)."""
    venv = fresh_venv(tmp_path_factory.mktemp("venv") / "v")
    environ = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    environ["PATH"] = f"{venv / 'bin'}{os.pathsep}{environ['PATH']}"

    def run(line: str, background: bool = False, timeout: float = 600):
        argv = ["bash", "-c", line]
        if background:
            return subprocess.Popen(argv, cwd=checkout, env=environ, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, text=True, start_new_session=True)
        return subprocess.run(argv, cwd=checkout, env=environ, capture_output=True, text=True, timeout=timeout)
    run.environ = environ
    return run


def _wait_port(port: int, proc, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"exited {proc.returncode}: {proc.stderr.read()}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"nothing listens on {port}")


def _stop(proc, sig=signal.SIGTERM) -> int:
    os.killpg(proc.pid, sig)
    return proc.wait(timeout=60)


def test_the_quickstart_works_as_written(shell, checkout):
    install = shell(_quickstart_install())
    assert install.returncode == 0, install.stdout + install.stderr
    assert (checkout / "out" / "nginx.conf").is_file()
    runs = _mentioned_runs()
    assert runs == ["nginx -p out/ -c nginx.conf -g 'daemon off;'", "edgec run samples/shop.edge --env dev"]
    for line, port in zip(runs, (8080, 8443)):
        proc = shell(line, background=True)
        try:
            _wait_port(port, proc)
        finally:
            assert _stop(proc, signal.SIGQUIT if line.startswith("nginx") else signal.SIGTERM) == 0


# the exit codes the README gives: diff says 1 when the environments differ
# diff exits 1 when the environments differ; `--target all` when a target refused the file
# (storefront: gateway-api, as the README's samples section says), having written the others
EXPECTED_EXIT = {"edgec diff": 1, "edgec build samples/storefront.edge --env prod --target all": 1}


def test_every_example_of_the_commands_table_works_as_written(shell, checkout):
    examples = _table_examples()
    assert len(examples) == 13
    for line in examples:
        if line.startswith("edgec run"):
            proc = shell(line, background=True)
            try:
                _wait_port(8443, proc)
            finally:
                assert _stop(proc) == 0
            continue
        done = shell(line)
        expected = next((code for prefix, code in EXPECTED_EXIT.items() if line.startswith(prefix)), 0)
        assert done.returncode == expected, (line, done.stdout[-2000:], done.stderr[-2000:])
        assert "Traceback" not in done.stderr, line
    written = {p.name for p in (checkout / "out").iterdir()}
    assert written >= {"aws", "envoy", "nginx", "spring"} and "gateway-api" not in written


def test_the_pre_commit_snippet_works_as_written(checkout, tmp_path):
    """pre-commit installs the hooks from a clone at the snippet's rev; on an unformatted file
    edgec-fmt rewrites it and edgec-lint passes in the same run, and the next run passes."""
    snippet = re.search(r"```yaml\n(repos:\n.*?)```", README, re.S).group(1)
    project = tmp_path / "project"
    project.mkdir()
    (project / ".pre-commit-config.yaml").write_text(snippet.replace("<this repository's URL>", str(checkout)))
    text = (ROOT / "samples" / "canary.edge").read_text()
    (project / "app.edge").write_text(text.replace("  listen http 8080", "  listen   http 8080"))
    environ = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "cache"), "GIT_AUTHOR_NAME": "t",
               "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}
    for argv in (["git", "init", "-q"], ["git", "add", "-A"]):
        subprocess.run(argv, cwd=project, check=True, env=environ)
    pre_commit = [sys.executable, "-m", "pre_commit", "run", "--all-files"]
    first = subprocess.run(pre_commit, cwd=project, env=environ, capture_output=True, text=True, timeout=900)
    assert first.returncode == 1, first.stdout + first.stderr
    assert re.search(r"edgec fmt\.+Failed", first.stdout) and "files were modified by this hook" in first.stdout
    assert re.search(r"edgec lint\.+Passed", first.stdout), first.stdout
    assert (project / "app.edge").read_text() == text
    second = subprocess.run(pre_commit, cwd=project, env=environ, capture_output=True, text=True, timeout=300)
    assert second.returncode == 0, second.stdout + second.stderr
