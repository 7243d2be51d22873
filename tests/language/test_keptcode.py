"""Dataclasses made from kept code (edgec/keptcode.py, edgec/usercache.py): the class is the
one @dataclass makes; a second run makes it without compiling, a damaged file is compiled
again and replaced, and a file that someone else could have written is never loaded."""
from __future__ import annotations

import dataclasses
import inspect
import os
import subprocess
import sys

import pytest

from edgec import keptcode

from ..conftest import cache_in_temp_dir, env_with_temp_dir


def _make(monkeypatch, codes=None):
    """A class of this module made as edgec's are, in a run whose kept code is `codes`."""
    codes = codes or keptcode._Codes(__name__)
    monkeypatch.setattr(keptcode, "_codes", lambda module: codes)

    @keptcode.dataclass(frozen=True)
    class Pair:
        left: int
        right: str = "r"
    codes.save()  # as the end of the run does
    return Pair


@pytest.fixture
def temp_dir(tmp_path, monkeypatch):
    cache_in_temp_dir(monkeypatch, tmp_path)
    return tmp_path


def _kept(temp_dir):
    return list(temp_dir.glob("edgec-*/dataclasses-*.marshal"))


def _no_compiling(monkeypatch):
    monkeypatch.setattr(keptcode, "compile", lambda *a, **k: pytest.fail("compiled again"), raising=False)


def test_the_class_is_the_one_dataclass_makes(temp_dir, monkeypatch):
    made = _make(monkeypatch)

    @dataclasses.dataclass(frozen=True)
    class Pair:
        left: int
        right: str = "r"
    assert inspect.signature(made) == inspect.signature(Pair)
    assert made.__doc__ == Pair.__doc__ == "Pair(left: 'int', right: 'str' = 'r')"
    assert made(1) == made(1, "r") != made(2) and hash(made(1)) == hash(made(1, right="r"))
    assert repr(made(2, right="x")).endswith("Pair(left=2, right='x')")
    with pytest.raises(dataclasses.FrozenInstanceError):
        made(1).left = 2
    assert dataclasses.replace(made(1), right="s") == made(1, "s")


def test_a_second_run_loads_what_the_first_compiled(temp_dir, monkeypatch):
    first = _make(monkeypatch)
    (kept,) = _kept(temp_dir)
    _no_compiling(monkeypatch)
    second = _make(monkeypatch)
    assert second(1) == second(1, "r") and first(1) != second(1)  # two classes, each its own methods
    assert _kept(temp_dir) == [kept]


def test_the_file_keeps_what_the_last_compiling_run_used(temp_dir, monkeypatch):
    codes = keptcode._Codes(__name__)
    codes.code("x = 1\n")
    codes.save()
    _make(monkeypatch)
    texts = keptcode._Codes(__name__)._load()
    assert "x = 1\n" not in texts and any("def __init__(self,left:_type_left" in t for t in texts)


def test_a_damaged_file_is_compiled_again_and_replaced(temp_dir, monkeypatch):
    _make(monkeypatch)
    (kept,) = _kept(temp_dir)
    kept.write_bytes(kept.read_bytes()[:100])
    assert _make(monkeypatch)(3).left == 3
    _no_compiling(monkeypatch)
    assert _make(monkeypatch)(4).left == 4


@pytest.mark.skipif(not hasattr(os, "getuid"), reason="ownership and modes are POSIX")
def test_a_directory_others_can_write_to_is_not_used(temp_dir, monkeypatch):
    directory = temp_dir / f"edgec-{os.getuid()}"
    directory.mkdir(mode=0o777)
    directory.chmod(0o777)
    assert _make(monkeypatch)(5).right == "r"
    assert not list(directory.iterdir())


def test_edgec_starts_with_and_without_kept_code(tmp_path):
    """The IR in a fresh interpreter: the first run writes the files as it exits, the next
    loads them and makes the same classes."""
    env = env_with_temp_dir(tmp_path)
    check = "from edgec import ir; print(ir.Route.__init__.__qualname__, ir.Tls('c', 'k'))"
    runs = [subprocess.run([sys.executable, "-c", check], env=env, capture_output=True, text=True, timeout=60)
            for _ in range(2)]
    assert [r.stdout for r in runs] == ["Route.__init__ Tls(cert='c', key='k', min_version='1.2')\n"] * 2
    assert any(p.name.startswith("dataclasses-edgec.ir-") for p in _kept(tmp_path))


def test_a_frozen_class_is_the_one_dataclass_makes(temp_dir, monkeypatch):
    monkeypatch.setattr(keptcode, "_codes", lambda module: keptcode._Codes(module))

    def pair(make):
        class Pair:
            left: int
            right: tuple = ()
        return make(Pair)
    made, twin = pair(keptcode.frozen), pair(dataclasses.dataclass(frozen=True, eq=False, repr=False))
    assert inspect.signature(made) == inspect.signature(twin)
    assert made.__doc__ == twin.__doc__ == "Pair(left: 'int', right: 'tuple' = ())"
    assert made.__init__.__qualname__ == twin.__init__.__qualname__ and made.__match_args__ == twin.__match_args__
    assert vars(made(1, (2,))) == vars(twin(1, (2,))) == {"left": 1, "right": (2,)}
    assert dataclasses.replace(made(1), right=(3,)).right == (3,)
    for change in (lambda p: setattr(p, "left", 2), lambda p: delattr(p, "left"), lambda p: setattr(p, "other", 1)):
        with pytest.raises(dataclasses.FrozenInstanceError):
            change(made(1))


def test_a_frozen_class_of_fields_it_cannot_write_is_refused():
    class Listed:
        items: list = dataclasses.field(default_factory=list)
    with pytest.raises(TypeError, match="plain fields"):
        keptcode.frozen(Listed)
