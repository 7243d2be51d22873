"""The parser kept between runs (edgec/parser_cache.py): a parser loaded from the file parses
and fails exactly as one just built; a file that is damaged or could have been written by
someone else is never loaded."""
from __future__ import annotations

import os
import pathlib
import tempfile

import pytest
from hypothesis import given, settings

from edgec import parse, parser_cache

from .test_parser import _outcome
from .test_properties import mutated

SAMPLES = sorted(pathlib.Path(__file__).parents[2].joinpath("samples").glob("*.edge"))


@pytest.fixture
def temp_dir(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    return tmp_path


def _build():
    return parse._build(parse.pkgutil.get_data("edgec.grammar", "edge.lark").decode(), strict=True)


@pytest.fixture(scope="module")
def built_and_loaded(tmp_path_factory):
    """A parser just built, and one loaded from the file its build left."""
    old, tempfile.tempdir = tempfile.tempdir, str(tmp_path_factory.mktemp("cache"))
    try:
        built = parser_cache.load_or_build(_build, "grammar")
        loaded = parser_cache.load_or_build(lambda: pytest.fail("the cached parser was not used"), "grammar")
    finally:
        tempfile.tempdir = old
    assert loaded is not built
    return built, loaded


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda p: p.name)
def test_a_loaded_parser_parses_the_samples_as_a_built_one(built_and_loaded, sample):
    built, loaded = built_and_loaded
    source = sample.read_text(encoding="utf-8")
    tree = loaded.parse(source)
    assert tree == built.parse(source)
    assert _positions(tree) == _positions(built.parse(source))  # diagnostics and fmt read them


def _positions(tree):
    tokens = tree.scan_values(lambda v: v is not None)
    return ([(t.line, t.column, t.end_line, t.end_column) for t in tokens],
            [(st.meta.line, st.meta.column, st.meta.end_line, st.meta.end_column) for st in tree.iter_subtrees()
             if not st.meta.empty])


@settings(max_examples=100, deadline=None)
@given(mutated())
def test_a_loaded_parser_fails_as_a_built_one(built_and_loaded, source):
    built, loaded = built_and_loaded
    assert _outcome(loaded, source) == _outcome(built, source)


def test_a_damaged_file_is_rebuilt_and_replaced(temp_dir):
    parser_cache.load_or_build(_build, "k")
    (path,) = temp_dir.glob("edgec-*/parser-*.pickle")
    path.write_bytes(path.read_bytes()[:1000])
    rebuilt = []
    parser_cache.load_or_build(lambda: rebuilt.append(1) or _build(), "k")
    assert rebuilt == [1]
    assert parser_cache.load_or_build(lambda: pytest.fail("not replaced"), "k").parse('edge "e" { }')


def test_another_key_is_another_file(temp_dir):
    parser_cache.load_or_build(_build, "a")
    parser_cache.load_or_build(_build, "b")
    assert len(list(temp_dir.glob("edgec-*/parser-*.pickle"))) == 2


@pytest.mark.skipif(not hasattr(os, "getuid"), reason="ownership and modes are POSIX")
def test_a_directory_others_can_write_to_is_not_used(temp_dir):
    directory = temp_dir / f"edgec-{os.getuid()}"
    directory.mkdir(mode=0o777)
    directory.chmod(0o777)
    built = []
    parser_cache.load_or_build(lambda: built.append(1) or _build(), "k")
    parser_cache.load_or_build(lambda: built.append(1) or _build(), "k")
    assert built == [1, 1] and not list(directory.iterdir())
