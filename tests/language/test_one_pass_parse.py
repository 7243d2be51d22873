"""The one-pass parse (edgec.lalr) against lark's parse tree walked by the syntax builder:
the same syntax tree, spans and diagnostics for every well-formed file, and a syntax error
always left to edgec.syntax_errors."""
from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings

from edgec.diagnostics import Sink
from edgec.parse import _driver, _ToSyntax, parser
from edgec.syntax_errors import parse_tree

from .test_properties import mutated

ROOT = Path(__file__).resolve().parents[2]
FILES = sorted(p for pattern in ("samples/**/*.edge", "tests/**/*.edge", "examples/**/*.edge")
               for p in ROOT.glob(pattern))


def _both(source: str):
    tree_sink, own_sink = Sink("f.edge"), Sink("f.edge")
    tree = parse_tree(parser(), source, tree_sink)
    by_tree = None if tree is None else _ToSyntax(tree_sink).transform(tree)
    one_pass = _driver().parse(source, _ToSyntax(own_sink))
    return (by_tree, tree_sink.items if tree is not None else None), (one_pass, own_sink.items), tree is None


def test_the_grammar_has_only_shapes_the_one_pass_parse_reproduces():
    from edgec.lalr import _plan
    builder = _ToSyntax(Sink("f.edge"))
    for rule in parser().rules:
        size, origin, include, nones_after, passthrough, inline, name = _plan(rule)  # raises on a `?rule` it
        if not (passthrough or inline):  # could not pass through as lark does
            builder.callback(name)  # raises for a rule the syntax builder has nothing for


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_file_parses_in_one_pass_as_through_the_tree(path):
    by_tree, one_pass, failed = _both(path.read_text(encoding="utf-8"))
    assert not failed
    assert one_pass == by_tree


def test_a_statement_keeps_the_span_of_its_keywords_and_a_string_its_own():
    source = 'edge "x" {\n  route r {\n    match path prefix "/a"\n    forward u\n  }\n}\n'
    by_tree, (doc, _), _ = _both(source)
    route = doc.body[0]
    assert (route.span.line, route.span.column, route.span.end_line, route.span.end_column) == (2, 3, 5, 4)
    assert doc == by_tree[0]


@settings(max_examples=300, deadline=None)
@given(mutated())
def test_mutated_sources_parse_in_one_pass_exactly_when_lark_finds_no_error(source):
    by_tree, (one_pass, items), failed = _both(source)
    if failed:
        assert one_pass is None
    else:
        assert (one_pass, items) == by_tree


def test_text_with_a_syntax_error_is_left_to_the_error_reporting_parse():
    assert _driver().parse('edge "x" {\n  route r {\n    forward\n  }\n}\n', _ToSyntax(Sink("f"))) is None
    assert _driver().parse('edge "x" {\n  route r { € }\n}\n', _ToSyntax(Sink("f"))) is None


@pytest.mark.parametrize("source", ['edge "x" { }\n', 'edge "x" {\n  route r { forward }\n}\n'])
def test_the_collector_is_left_as_the_parse_found_it(source):
    import gc
    was = gc.isenabled()
    try:
        for enabled in (True, False):
            (gc.enable if enabled else gc.disable)()
            _driver().parse(source, _ToSyntax(Sink("f")))
            assert gc.isenabled() is enabled
    finally:
        (gc.enable if was else gc.disable)()
