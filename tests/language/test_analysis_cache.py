"""The analysis kept between commands (edgec/analysiscache.py): every command prints and writes
the same bytes and exits the same with the cache off, filling it, and reading it; a change of
any input is a new analysis; a damaged, cut or foreign entry is analysed afresh; the directory
stays bounded."""
from __future__ import annotations

import os
import pathlib
import pickle
import shutil
import subprocess
import sys
import time

import pytest

from edgec import analysiscache, cli, pipeline, usercache
from edgec.lower import environments
from edgec.parse import parse

from ..conftest import cache_in_temp_dir

ROOT = pathlib.Path(__file__).parents[2]
SAMPLES = sorted(ROOT.joinpath("samples").glob("*.edge"))
# the samples, and a file whose envs each lint differently alone than together
FILES = [*SAMPLES, ROOT / "tests" / "language" / "data" / "envs_apart.edge"]


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """A cache directory of this test's own."""
    cache_in_temp_dir(monkeypatch, tmp_path / "tmp")
    (tmp_path / "tmp").mkdir()
    monkeypatch.delenv("EDGEC_NO_CACHE", raising=False)
    monkeypatch.setattr(analysiscache, "disabled", False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def entries(cache) -> list[pathlib.Path]:
    return sorted(cache.glob("tmp/edgec-*/analysis-*"))


def run(argv: list[str], capsys, out: pathlib.Path | None = None) -> tuple:
    """What a command shows: exit code, stdout, stderr, and the files it wrote."""
    if out is not None and out.exists():
        shutil.rmtree(out)
    code = cli.main(list(argv))
    printed = capsys.readouterr()
    files = {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()} \
        if out is not None and out.exists() else {}
    analysiscache.disabled = False  # a --no-cache run's choice ends with it
    return code, printed.out, printed.err, files


def commands(sample: pathlib.Path, env: str) -> list[tuple[list[str], str | None]]:
    s = str(sample)
    return [
        (["lint", s], None),
        (["lint", s, "--env", env, "--format", "json"], None),
        (["lint", s, "--target", "all", "--strict"], None),  # a target's check: nothing kept
        (["build", s, "--env", env, "--target", "all", "-o", "out"], "out"),
        (["ir", s, "--env", env, "--format", "json"], None),
        (["explain", s, "GET", "http://localhost/api/v1/users/1", "--env", env], None),
        (["graph", s, "--env", env, "--format", "mermaid"], None),
        (["diff", s, "--env", "dev", "--env", "prod"], None),
    ]


def sample_envs():
    return [pytest.param(p, env, id=f"{p.stem}-{env}")
            for p in FILES for env in environments(parse(p.read_text(), str(p))) or [None]]


@pytest.mark.parametrize("sample, env", sample_envs())
def test_every_command_is_the_same_without_filling_and_reading_the_cache(sample, env, cache, capsys,
                                                                         monkeypatch):
    colds = {}
    for argv, out in commands(sample, env):
        colds[tuple(argv)] = run([*argv, "--no-cache"], capsys, cache / out if out else None)
        assert entries(cache) == []  # --no-cache keeps nothing
    # the pre-commit order: a lint (of every env, or of this one) fills what the commands
    # that read the IR of one env then read, without analysing again
    for lint in (["lint", str(sample)], ["lint", str(sample), "--env", env]):
        run(lint, capsys)
        with monkeypatch.context() as patch:
            patch.setattr(pipeline, "_analyse", _never)
            for argv, out in commands(sample, env):
                if argv[0] != "lint" and (argv[0] != "diff" or "--env" not in lint):
                    assert run(argv, capsys, cache / out if out else None) == colds[tuple(argv)], (lint, argv)
        for entry in entries(cache):
            entry.unlink()
    for argv, out in commands(sample, env):
        where = cache / out if out else None
        cold = colds[tuple(argv)]
        filling = run(argv, capsys, where)
        with monkeypatch.context() as patch:
            if "--target" not in argv or argv[0] != "lint":
                assert entries(cache), f"{argv} kept nothing"
                patch.setattr(pipeline, "_analyse", _never)  # reading: nothing is analysed again
            else:
                assert entries(cache) == []
            reading = run(argv, capsys, where)
        assert filling == cold and reading == cold, argv
        for entry in entries(cache):
            entry.unlink()


def _never(*args, **kwargs):
    raise AssertionError("analysed again: the kept analysis was not used")


BROKEN = 'edge "x" {\n  route r { match path prefix "/a" forward nowhere }\n}\n'


def test_an_edited_byte_is_analysed_again(cache, capsys):
    path = cache / "app.edge"
    path.write_text(BROKEN)
    first = run(["lint", "app.edge"], capsys)
    assert first[0] == 1 and "nowhere" in first[1]
    path.write_text(BROKEN.replace("nowhere", "nowhera"))
    second = run(["lint", "app.edge"], capsys)
    assert "nowhera" in second[1] and "nowhere" not in second[1]
    assert second == run(["lint", "app.edge", "--no-cache"], capsys)


def test_a_build_after_a_lint_of_other_bytes_analyses_again(cache, capsys, monkeypatch):
    path = cache / "app.edge"
    shop = (ROOT / "samples" / "shop.edge").read_text()
    path.write_text(shop)
    run(["lint", "app.edge"], capsys)
    path.write_text(shop.replace('"/api/v1', '"/api/v2'))
    argv = ["build", "app.edge", "--env", "prod", "--target", "nginx", "-o", "out"]
    cold = run([*argv, "--no-cache"], capsys, cache / "out")
    analysed = []
    real = pipeline._analyse
    monkeypatch.setattr(pipeline, "_analyse", lambda *a: analysed.append(1) or real(*a))
    assert run(argv, capsys, cache / "out") == cold and analysed == [1]
    assert b"/api/v2" in cold[3]["nginx.conf"]


def test_each_choice_is_its_own_entry(cache, capsys):
    shop = str(ROOT / "samples" / "shop.edge")
    for argv in (["lint", shop], ["lint", shop, "--env", "dev"], ["lint", shop, "--env", "prod"],
                 ["lint", shop, "--strict"], ["lint", shop, "--no-fmt-check"]):
        before = len(entries(cache))
        run(argv, capsys)
        assert len(entries(cache)) > before, argv
    # the same text under another name: diagnostics name the file, so another entry
    shutil.copy(shop, cache / "copy.edge")
    before = len(entries(cache))
    run(["lint", "copy.edge"], capsys)
    assert len(entries(cache)) > before


def test_a_lint_of_one_env_keeps_its_analysis_beside_every_env_s(cache, capsys, monkeypatch):
    """A lint of one env keeps that env's analysis under its own entry: the entry a lint of
    every env kept is still there for a build of another env, and a build of the env linted
    reads its own."""
    shop = str(ROOT / "samples" / "shop.edge")
    builds = [["build", shop, "--env", env, "--target", "nginx", "-o", "out"] for env in ("prod", "dev")]
    cold = [run([*argv, "--no-cache"], capsys, cache / "out") for argv in builds]
    run(["lint", shop], capsys)
    run(["lint", shop, "--env", "dev"], capsys)
    assert len([p for p in entries(cache) if p.suffix == ".pickle"]) == 2
    with monkeypatch.context() as patch:
        patch.setattr(pipeline, "_analyse", _never)
        assert [run(argv, capsys, cache / "out") for argv in builds] == cold
    for entry in entries(cache):
        entry.unlink()
    # without the lint of every env, the env linted is read and the other analysed once
    run(["lint", shop, "--env", "dev"], capsys)
    analysed = []
    real = pipeline._analyse
    with monkeypatch.context() as patch:
        patch.setattr(pipeline, "_analyse", lambda *a: analysed.append(a[2]) or real(*a))
        assert [run(argv, capsys, cache / "out") for argv in builds] == cold
    assert analysed == ["prod"]


def test_another_edgec_is_another_key(cache, capsys, monkeypatch):
    shop = str(ROOT / "samples" / "shop.edge")
    run(["lint", shop], capsys)
    code = usercache.code_stamp()
    monkeypatch.setattr(usercache, "code_stamp", lambda: code + "\nedgec/lint/rules.py 1 2")
    with monkeypatch.context() as patch:
        analysed = []
        real = pipeline._analyse
        patch.setattr(pipeline, "_analyse", lambda *a: analysed.append(1) or real(*a))
        run(["lint", shop], capsys)
    assert analysed == [1]


def test_the_code_stamp_follows_every_file_of_a_package(tmp_path):
    """A file edited, added or removed anywhere in a package changes what is stamped."""
    package = tmp_path / "pkg"
    (package / "sub").mkdir(parents=True)
    (package / "a.py").write_text("x = 1\n")
    (package / "sub" / "b.j2").write_text("{{ x }}\n")
    first = usercache._files(str(package))
    os.utime(package / "sub" / "b.j2", ns=(1, 1))
    touched = usercache._files(str(package))
    (package / "c.py").write_text("")
    added = usercache._files(str(package))
    assert len({tuple(first), tuple(touched), tuple(added)}) == 3
    assert any("edgec/lint/rules.py" in line for line in usercache.code_stamp().splitlines())
    assert any("edge.lark" in line for line in usercache.code_stamp().splitlines())


@pytest.mark.parametrize("filled_by", ["build", "lint"])
@pytest.mark.parametrize("damage", ["truncated", "garbage", "foreign", "renamed", "other shape", "empty"])
def test_a_damaged_or_foreign_entry_is_analysed_again(damage, filled_by, cache, capsys):
    shop = str(ROOT / "samples" / "shop.edge")
    argv = ["build", shop, "--env", "prod", "--target", "nginx", "-o", "out"]
    cold = run([*argv, "--no-cache"], capsys, cache / "out")
    run(argv if filled_by == "build" else ["lint", shop], capsys, cache / "out")
    kept = [p for p in entries(cache) if p.suffix == ".pickle"]
    assert kept
    for entry in kept:
        data = entry.read_bytes()
        if damage == "truncated":
            entry.write_bytes(data[:len(data) // 2])
        elif damage == "garbage":
            entry.write_bytes(b"\x80\x05not a pickle at all" * 10)
        elif damage == "foreign":
            entry.write_bytes(pickle.dumps({"what": "someone else's"}))
        elif damage == "renamed":  # a whole entry, but another one's
            name, value = pickle.loads(data)
            entry.write_bytes(pickle.dumps(("0" * 40, value)))
        elif damage == "other shape":  # its own name, holding what no edgec keeps
            name, value = pickle.loads(data)
            entry.write_bytes(pickle.dumps((name, {"prod": "not an analysis", None: 1})))
        else:
            entry.write_bytes(b"")
    assert run(argv, capsys, cache / "out") == cold
    lint = ["lint", shop]
    cold = run([*lint, "--no-cache"], capsys)
    run(lint, capsys)
    for entry in entries(cache):
        if entry.suffix == ".marshal":
            entry.write_bytes(entry.read_bytes()[:3])
    assert run(lint, capsys) == cold


def test_a_diagnostic_kept_is_every_field_of_it():
    """lint keeps Diagnostic's fields as the dataclass has them: a field added to it is kept too."""
    import dataclasses
    import marshal
    from edgec.commands.lint import _diagnostics, _fields
    from edgec.diagnostics import Diagnostic, Span
    values = {"code": "W301", "severity": "warning", "message": "m", "file": "f.edge",
              "span": Span(2, 3, 4, 5), "hint": "h", "rule": "unused-upstream", "mask": True}
    every = Diagnostic(**{f.name: values[f.name] for f in dataclasses.fields(Diagnostic)})
    assert all(getattr(every, name) != f.default for name, f in Diagnostic.__dataclass_fields__.items())
    kept = marshal.loads(marshal.dumps([_fields(every), _fields(dataclasses.replace(every, span=None))]))
    assert _diagnostics(kept) == [every, dataclasses.replace(every, span=None)]


@pytest.mark.parametrize("shape", ["a field fewer", "a field more", "another span", "not a list"])
def test_an_entry_of_another_diagnostic_shape_is_analysed_again(shape, cache, capsys, monkeypatch):
    """A lint entry written when Diagnostic had other fields is not taken for today's."""
    import marshal
    path = cache / "app.edge"
    path.write_text(BROKEN)
    cold = run(["lint", "app.edge", "--no-cache"], capsys)
    run(["lint", "app.edge"], capsys)
    (entry,) = [p for p in entries(cache) if p.suffix == ".marshal"]
    name, (each_env, kept) = marshal.loads(entry.read_bytes())
    assert kept
    if shape == "a field fewer":
        kept = [fields[:-1] for fields in kept]
    elif shape == "a field more":
        kept = [(*fields, None) for fields in kept]
    elif shape == "another span":
        kept = [tuple(v[:2] if isinstance(v, tuple) else v for v in fields) for fields in kept]
    else:
        kept = {"diagnostics": kept}
    entry.write_bytes(marshal.dumps((name, (each_env, kept))))
    analysed = []
    real = pipeline._analyse
    monkeypatch.setattr(pipeline, "_analyse", lambda *a: analysed.append(1) or real(*a))
    assert run(["lint", "app.edge"], capsys) == cold
    assert analysed == [1]


def test_a_lint_that_finds_its_diagnostics_kept_keeps_each_env_s_analysis_as_long(cache, capsys, monkeypatch):
    """Pruning goes by last use: a lint that reads its diagnostics marks each env's analysis
    used too, and when that was pruned alone it analyses again and keeps it, so that the build
    after it reads it rather than analysing again."""
    shop = (ROOT / "samples" / "shop.edge").read_text()
    (cache / "app.edge").write_text(shop)
    lint, build = ["lint", "app.edge"], ["build", "app.edge", "--env", "prod", "--target", "nginx", "-o", "out"]
    cold = run([*lint, "--no-cache"], capsys), run([*build, "--no-cache"], capsys, cache / "out")
    run(lint, capsys)
    (each_env,) = [p for p in entries(cache) if p.suffix == ".pickle"]
    os.utime(each_env, (1, 1))
    with monkeypatch.context() as patch:
        patch.setattr(pipeline, "_analyse", _never)
        assert run(lint, capsys) == cold[0]
    assert each_env.stat().st_mtime > 1  # used now, as the diagnostics were
    each_env.unlink()
    analysed = []
    real = pipeline._analyse
    with monkeypatch.context() as patch:
        patch.setattr(pipeline, "_analyse", lambda *a: analysed.append(1) or real(*a))
        assert run(lint, capsys) == cold[0] and analysed == [1]
    assert each_env.exists()
    with monkeypatch.context() as patch:
        patch.setattr(pipeline, "_analyse", _never)
        assert run(build, capsys, cache / "out") == cold[1]


def test_a_lint_of_a_file_that_does_not_parse_reads_its_diagnostics_kept(cache, capsys, monkeypatch):
    """Nothing of each env is kept for a file with a syntax error: its lint entry says so, and
    a lint of it again reads the diagnostics without looking for one."""
    (cache / "app.edge").write_text('edge "x" {\n  route r { match path prefix "/a" forward\n}\n')
    cold = run(["lint", "app.edge", "--no-cache"], capsys)
    assert cold[0] == 1
    run(["lint", "app.edge"], capsys)
    assert [p.suffix for p in entries(cache)] == [".marshal"]
    with monkeypatch.context() as patch:
        patch.setattr(pipeline, "_analyse", _never)
        assert run(["lint", "app.edge"], capsys) == cold


def test_what_cannot_be_kept_is_left_out(cache):
    name = analysiscache.key("test", "f.edge", "text")
    analysiscache.keep_objects(name, lambda: None)  # a function defined here does not pickle
    assert entries(cache) == [] and analysiscache.load_objects(name) is None


def test_the_environment_variable_turns_it_off(cache, capsys, monkeypatch):
    monkeypatch.setenv("EDGEC_NO_CACHE", "1")
    run(["lint", str(SAMPLES[0])], capsys)
    assert entries(cache) == []


@pytest.mark.skipif(not hasattr(os, "getuid"), reason="ownership and modes are POSIX")
def test_a_directory_others_can_write_to_is_not_used(cache, capsys):
    directory = cache / "tmp" / f"edgec-{os.getuid()}"
    directory.mkdir(mode=0o700)
    directory.chmod(0o777)
    shop = str(ROOT / "samples" / "shop.edge")
    cold = run([*(argv := ["lint", shop]), "--no-cache"], capsys)
    assert run(argv, capsys) == cold
    assert entries(cache) == []


@pytest.mark.skipif(not hasattr(os, "getuid"), reason="ownership and modes are POSIX")
def test_the_directory_is_the_one_the_environment_names(tmp_path, monkeypatch):
    """EDGEC_CACHE_DIR, else edgec/ in XDG_CACHE_HOME, else edgec-<uid> in the temp dir; each
    made private to the user, and none used when others can write to it."""
    cache_in_temp_dir(monkeypatch, tmp_path / "tmp")
    assert usercache.path("f") == str(tmp_path / "tmp" / f"edgec-{os.getuid()}" / "f")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert usercache.path("f") == str(tmp_path / "xdg" / "edgec" / "f")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("EDGEC_CACHE_DIR", "named")  # relative to where edgec was started
    assert usercache.path("f") == str(tmp_path / "named" / "f")
    assert (tmp_path / "named").stat().st_mode & 0o777 == 0o700
    (tmp_path / "named").chmod(0o770)
    assert usercache.path("f") is None


def test_the_edgec_a_test_starts_keeps_its_cache_in_the_session_s_own(tmp_path):
    """The test session's cache is not the user's (tests/conftest.py): not in the temp dir."""
    session = pathlib.Path(os.environ["EDGEC_CACHE_DIR"])
    before = set(session.glob("analysis-*"))
    (tmp_path / "app.edge").write_text((ROOT / "samples" / "shop.edge").read_text() + "\n# this test's\n")
    subprocess.run([sys.executable, "-m", "edgec", "lint", "app.edge"], capture_output=True, cwd=tmp_path,
                   timeout=120, env={**os.environ, "EDGEC_NO_CACHE": "0", "TMPDIR": str(tmp_path)})
    assert set(session.glob("analysis-*")) - before
    assert not list(tmp_path.glob("edgec-*"))


def test_pruning_drops_what_was_not_used_for_a_week_then_the_oldest_over_the_bound(tmp_path, monkeypatch):
    now = time.time()
    day = 86_400
    files = {"old.pickle": 8 * day, "recent.pickle": day // 2, "older-but-read.marshal": 3 * day,
             "x.pickle.123.tmp": 2 * 3600, "fresh.tmp": 60}
    for name, age in files.items():
        (tmp_path / name).write_bytes(b"x" * 100)
        os.utime(tmp_path / name, (now - age, now - age))
    # read yesterday, written ten days ago: it is used
    os.utime(tmp_path / "older-but-read.marshal", (now - day, now - 10 * day))
    usercache.prune(str(tmp_path), now)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fresh.tmp", "older-but-read.marshal", "recent.pickle"]
    monkeypatch.setattr(usercache, "MAX_BYTES", 250)  # three files of 100 bytes: the least recently used goes
    usercache.prune(str(tmp_path), now)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fresh.tmp", "recent.pickle"]


def test_pruning_runs_once_a_day_when_something_is_written(tmp_path, monkeypatch):
    cache_in_temp_dir(monkeypatch, tmp_path)
    pruned = []
    monkeypatch.setattr(usercache, "prune", lambda directory, now: pruned.append(now))
    now = time.time()
    usercache.prune_now_and_then(now)
    usercache.prune_now_and_then(now + 3600)
    assert len(pruned) == 1
    usercache.prune_now_and_then(now + usercache.PRUNE_EVERY_S + 1)
    assert len(pruned) == 2




def test_large_files_prune_once_they_add_up_to_an_eighth_of_the_bound(tmp_path, monkeypatch):
    """Listing a directory of thousands of entries after each large one costs a lint of 10,000
    routes ~45 ms: the directory may pass its bound by an eighth of it between prunings."""
    cache_in_temp_dir(monkeypatch, tmp_path)
    pruned = []
    monkeypatch.setattr(usercache, "prune", lambda directory, now: pruned.append(now))
    usercache.prune_now_and_then()  # the day's pruning
    assert len(pruned) == 1
    each = 4 * usercache.LARGE_BYTES
    for _ in range(usercache.MAX_BYTES // 8 // each - 1):
        usercache.prune_now_and_then(written=each)
        usercache.prune_now_and_then(written=usercache.LARGE_BYTES - 1)  # a small file is not counted
    assert len(pruned) == 1
    usercache.prune_now_and_then(written=each)
    assert len(pruned) == 2
    usercache.prune_now_and_then(written=each)  # counted from nothing again
    assert len(pruned) == 2


def test_a_lint_with_a_target_reads_the_keys_file_again(cache, capsys):
    """nginx reads an API-key auth's keys file when it checks: not a thing to keep."""
    keys = cache / "keys.txt"
    source = (ROOT / "samples" / "public-api.edge").read_text().replace("/run/secrets/api-keys.txt", str(keys))
    assert str(keys) in source
    (cache / "api.edge").write_text(source)
    argv = ["lint", "api.edge", "--env", "prod", "--target", "nginx"]
    missing = run(argv, capsys)
    assert "cannot read the keys file" in missing[1]
    keys.write_text("k1\n")
    readable = run(argv, capsys)
    assert "cannot read the keys file" not in readable[1]
    assert readable == run([*argv, "--no-cache"], capsys)


def test_a_large_file_written_prunes_at_once(tmp_path, monkeypatch):
    """A day of edits to a large file (each a new entry of megabytes) stays under the bound."""
    cache_in_temp_dir(monkeypatch, tmp_path)
    monkeypatch.setattr(usercache, "MAX_BYTES", 3 * usercache.LARGE_BYTES)
    for n in range(6):
        usercache.write(usercache.path(f"analysis-{n}.pickle"), lambda f: f.write(b"x" * usercache.LARGE_BYTES))
        time.sleep(0.01)  # one after another in time: the oldest goes first
    (directory,) = tmp_path.glob("edgec-*")
    assert sorted(p.name for p in directory.glob("analysis-*")) == [f"analysis-{n}.pickle" for n in (3, 4, 5)]
    usercache.write(usercache.path("small"), lambda f: f.write(b"x"))  # a small one waits for the day
    assert len(list(directory.glob("analysis-*"))) == 3


def test_the_text_is_not_kept_with_the_analysis(cache, capsys):
    """Whoever loads an entry has just read the file to name it: the Results kept hold no copy
    of it (the commands that read them print the same lines of it: see the first test)."""
    (cache / "app.edge").write_text((ROOT / "samples" / "shop.edge").read_text())
    run(["lint", "app.edge"], capsys)
    run(["ir", "app.edge", "--env", "prod"], capsys)  # reads each env's, keeps nothing more
    run(["ir", "app.edge", "--env", "nope"], capsys)  # analysed, and kept
    kept = [pickle.loads(p.read_bytes())[1] for p in entries(cache) if p.suffix == ".pickle"]
    assert len(kept) == 2
    results = [r for value in kept for r in (value.values() if isinstance(value, dict) else [value])]
    assert {type(r) for r in results} == {pipeline.Result} and len(results) > 2
    assert all(r.source is None for r in results)
