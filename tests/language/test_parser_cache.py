"""The parser kept between runs (edgec/parser_cache.py): a parser loaded from the file parses
and fails exactly as one just built; a file that is damaged or could have been written by
someone else is never loaded."""
from __future__ import annotations

import os
import pathlib

import pytest
from hypothesis import given, settings

from edgec import parse, parser_cache

from ..conftest import cache_in_temp_dir

from .test_parser import _outcome
from .test_properties import mutated

SAMPLES = sorted(pathlib.Path(__file__).parents[2].joinpath("samples").glob("*.edge"))


@pytest.fixture
def temp_dir(tmp_path, monkeypatch):
    cache_in_temp_dir(monkeypatch, tmp_path)
    return tmp_path


def _build():
    return parse._build(parse.pkgutil.get_data("edgec.grammar", "edge.lark").decode(), strict=True)


@pytest.fixture(scope="module")
def built_and_loaded(tmp_path_factory):
    """A parser just built, and one loaded from the file its build left."""
    with pytest.MonkeyPatch.context() as patch:
        cache_in_temp_dir(patch, tmp_path_factory.mktemp("cache"))
        built = parser_cache.load_or_build(_build, "grammar")
        loaded = parser_cache.load_or_build(lambda: pytest.fail("the cached parser was not used"), "grammar")
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
@pytest.mark.parametrize("kept", ["parser", "tables"])
def test_a_directory_others_can_write_to_is_not_used(temp_dir, kept):
    load, build = (parser_cache.load_or_build, _build) if kept == "parser" else (parser_cache.load_tables, _tables)
    directory = temp_dir / f"edgec-{os.getuid()}"
    directory.mkdir(mode=0o777)
    directory.chmod(0o777)
    built = []
    load(lambda: built.append(1) or build(), "k")
    load(lambda: built.append(1) or build(), "k")
    assert built == [1, 1] and not list(directory.iterdir())


# ---- the one-pass parse's tables (builtins, marshalled) ----------------------------------------
def _tables():
    from edgec.lalr import tables
    return tables(_build())


def _one_pass(data, source):
    from edgec.diagnostics import Sink
    from edgec.lalr import Driver
    return Driver(data).parse(source, parse._ToSyntax(Sink("f.edge")))


def test_the_tables_are_kept_as_built_and_a_damaged_file_is_rebuilt(temp_dir):
    built = parser_cache.load_tables(_tables, "k")
    assert parser_cache.load_tables(lambda: pytest.fail("the cached tables were not used"), "k") == built
    (path,) = temp_dir.glob("edgec-*/tables-*.marshal")
    path.write_bytes(path.read_bytes()[:1000])
    rebuilt = []
    again = parser_cache.load_tables(lambda: rebuilt.append(1) or _tables(), "k")
    assert rebuilt == [1]
    assert parser_cache.load_tables(lambda: pytest.fail("not replaced"), "k") == again
    for sample in SAMPLES:  # (lark numbers the states differently from build to build)
        source = sample.read_text(encoding="utf-8")
        assert _one_pass(again, source) == _one_pass(built, source) is not None
