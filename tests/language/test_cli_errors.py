"""Hostile and random input through the real command line (`edgec lint`, `ir`, `build`, `fmt`
as subprocesses): the exit status is 1 or 2, every problem is a diagnostic with a position,
there is never a traceback, a failed build creates no output directory and a failed fmt
leaves the file as it was."""
from __future__ import annotations

import random
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest

from ..conftest import ROOT, SAMPLES

POSITION = re.compile(r"^.+:\d+:\d+: (error|warning)\[[EW]\d{3}\] ", re.M)
KEYWORDS = ["edge", "route", "upstream", "match", "path", "prefix", "forward", "{", "}", "[", "]", ",", "=",
            '"x"', "${a}", "5s", "100/min", "10%", "GET", "env", "vars", "auth", "jwt", "listen", "https", "8443",
            "tls", "cert", "redirect", "respond", "aggregate", "#", "\n", " ", "'", ";", ":", "\\", '"', "${"]


def _random_inputs() -> dict[str, bytes]:
    rnd = random.Random(20261128)  # fixed: a failure can be replayed
    out = {}
    for i in range(4):
        out[f"random-bytes-{i}"] = bytes(rnd.randrange(256) for _ in range(rnd.randrange(1, 400)))
    for i in range(6):
        out[f"random-tokens-{i}"] = " ".join(rnd.choice(KEYWORDS) for _ in range(rnd.randrange(1, 300))).encode()
    shop = (ROOT / "samples" / "shop.edge").read_bytes()
    for i in range(4):
        cut = rnd.randrange(1, len(shop))
        out[f"truncated-sample-{i}"] = shop[:cut]
    return out


HOSTILE: dict[str, bytes] = {
    "empty": b"",
    "whitespace": b" \n\t\r\n ",
    "nul bytes": b"\x00" * 64,
    "not utf-8": b"edge \"x\" { route \xff\xfe { } }",
    "utf-16 with bom": "edge \"x\" {}".encode("utf-16"),
    "utf-8 bom": "\ufeffedge \"x\" {\n}\n".encode(),
    "terminal escapes": b'edge "\x1b[2J\x1b]0;pwned\x07" {\n  route r {\n    respond 200 "\x1b[31m"\n  }\n}\n',
    "huge line": b'edge "x" {\n  route r {\n    match path prefix "/' + b"a" * 2_000_000 + b'" zz\n  }\n}\n',
    "many lines": b"\n".join(b"route r%d { timeout %d }" % (i, i) for i in range(50_000)),
    "deep braces": b"{" * 200_000,
    "deep brackets": b'edge "x" {\n  vars {\n    a = ' + b"[" * 200_000,
    "deep blocks": b'edge "x" {\n' + b"route r {\n" * 20_000,
    "unicode names": 'edge "ünïcødé" {\n  route 日本 {\n    respond 200 "😀"\n  }\n}\n'.encode(),
    "right-to-left override": 'edge "x" {\n  route r\u202e {\n    respond 200\n  }\n}\n'.encode(),
    "combining marks": 'edge "x" {\n  route r {\n    match path prefix "/e\u0301\u0301\u0301" zz\n  }\n}\n'.encode(),
    "unterminated string": b'edge "x',
    "unterminated variable": b'edge "x" {\n  vars {\n    a = ${b\n',
    "unterminated block": b'edge "x" {\n  route r {\n    respond 200\n',
    "unterminated list": b'edge "x" {\n  vars {\n    a = ["x", "y"\n',
    "comment without newline": b'edge "x" {\n  route r {\n    respond 200  # the end, no newline, no }',
    "carriage returns only": b'edge "x" {\r  route r {\r    respond 200 zz\r  }\r}\r',
    "line separators": 'edge "x" {\u2028  route r {\x0c\n    zz\u0085\n  }\n}\n'.encode(),
    "huge number": b'edge "x" {\n  listen http 99999999999999999999999999999999999999\n}\n',
    "secret of nothing": b'edge "x" {\n  auth api_key k {\n    keys ${secret:}\n  }\n}\n',
    "self-referencing variable": b'edge "x" {\n  vars {\n    a = ${a}\n  }\n  listen http ${a}\n}\n',
    **_random_inputs(),
}


# ir and build share lint's front end: they get one case of each kind, lint and fmt get all
PER_COMMAND = ["not utf-8", "terminal escapes", "deep blocks", "unterminated block", "huge number",
               "random-tokens-0"]


def run(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "edgec", *map(str, args)], capture_output=True, text=True,
                          cwd=ROOT, timeout=120)


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory):
    """lint and fmt over every hostile file at once, ir and build over a few, side by side."""
    base = tmp_path_factory.mktemp("hostile")
    paths = {}
    for i, (name, data) in enumerate(HOSTILE.items()):
        paths[name] = base / f"case{i}.edge"
        paths[name].write_bytes(data)
    jobs = {"lint": ("lint", *paths.values()), "fmt": ("fmt", *paths.values())}
    for name in PER_COMMAND:
        jobs[("ir", name)] = ("ir", paths[name], "--env", "dev")
        jobs[("build", name)] = ("build", paths[name], "--target", "nginx", "--env", "dev", "-o",
                                 base / f"{paths[name].stem}-out")
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = dict(zip(jobs, pool.map(lambda args: run(*args), jobs.values())))
    return base, paths, results


def _check(proc: subprocess.CompletedProcess, path, what) -> None:
    text = proc.stdout + proc.stderr
    assert "Traceback" not in text and "internal error" not in text, (what, text[-3000:])
    assert proc.returncode in (1, 2), (what, proc.returncode, text[-3000:])
    assert re.search(rf"^{re.escape(str(path))}:\d+:\d+: (error|warning)\[[EW]\d{{3}}\] ", text, re.M), \
        (what, text[-3000:])


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_input_gets_positioned_diagnostics_and_no_traceback(name, outcomes):
    base, paths, results = outcomes
    path = paths[name]
    _check(results["lint"], path, "lint")
    if name in PER_COMMAND:
        _check(results[("ir", name)], path, "ir")
        _check(results[("build", name)], path, "build")
        assert not (base / f"{path.stem}-out").exists(), "a failed build leaves no output directory"
    fmt = results["fmt"]
    assert "Traceback" not in fmt.stderr and fmt.returncode == 1
    if re.search(rf"^{re.escape(str(path))}:\d+:\d+: error\[E0\d\d\] ", fmt.stdout + fmt.stderr, re.M):
        assert path.read_bytes() == HOSTILE[name], "a failed fmt leaves the file as it was"
    else:  # it parses (the problems are in its values): fmt formats it, and lint said why it is wrong
        assert f"reformatted {path}" in fmt.stderr or path.read_bytes() == HOSTILE[name]


def test_the_samples_still_pass_through_every_command(tmp_path):
    """The other side of the hostile table: good files exit 0 through the same commands."""
    sample = SAMPLES[0]
    for args in (("lint", sample), ("ir", sample, "--env", "dev"), ("fmt", "--check", sample)):
        proc = run(*args)
        assert proc.returncode == 0, (args, proc.stdout + proc.stderr)


def test_usage_errors_exit_2_without_a_traceback(tmp_path):
    path = tmp_path / "x.edge"
    path.write_text('edge "x" {\n  route r {\n    respond 200\n  }\n}\n')
    for args in (("lint",), ("lint", path, "--format", "xml"), ("build", path, "--target", "nginxx", "-o", tmp_path),
                 ("build", path), ("ir",), ("nonsense",), ("lint", path, "--target", "nope")):
        proc = run(*args)
        assert proc.returncode == 2, (args, proc.stderr)
        assert "Traceback" not in proc.stderr and proc.stderr.strip(), args


def test_a_directory_or_missing_file_is_a_positioned_diagnostic(tmp_path):
    for target in (tmp_path, tmp_path / "missing.edge"):
        for args in (("lint", target), ("ir", target), ("build", target, "--target", "nginx", "-o", tmp_path / "o"),
                     ("fmt", target)):
            proc = run(*args)
            text = proc.stdout + proc.stderr
            assert proc.returncode == 1 and POSITION.search(text) and "Traceback" not in text, (args, text)
    assert not (tmp_path / "o").exists()
