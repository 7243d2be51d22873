"""Parsing a changed file again (edgec.reparse): whenever it reuses the statements a change
left alone, the document is the one a whole parse gives, spans and all; edits it cannot
confine are left to a whole parse."""
from __future__ import annotations

import random
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edgec.diagnostics import CompileError
from edgec.parse import parse
from edgec.reparse import reparse

from ..conftest import ROOT, SAMPLES

sys.path.insert(0, str(ROOT / "bench"))
from compile import generate  # noqa: E402

TEXTS = [p.read_text() for p in SAMPLES] + [generate(30)]


def _whole(text: str):
    try:
        return parse(text, "t.edge")
    except CompileError:  # a syntax error: reparse must then leave it to the whole parse
        return None


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(TEXTS), st.randoms(use_true_random=False), st.sampled_from(["word", "delete", "insert", "line"]))
def test_a_reparsed_document_is_the_whole_parse(text, rnd: random.Random, edit):
    old = parse(text, "t.edge")
    lines = text.split("\n")
    i = rnd.randrange(len(lines))
    line = lines[i]
    j = rnd.randrange(len(line) + 1)
    if edit == "word":
        lines[i] = line[:j] + rnd.choice(["x", "route", "}", "{", '"', "5s", "GET", "${host}", " "]) + line[j:]
    elif edit == "delete":
        lines[i] = line[:j] + line[j + 1:]
    elif edit == "insert":
        lines.insert(i, "  upstream extra { server \"127.0.0.1:9\" }")
    else:
        lines[i] = ""
    new = "\n".join(lines)
    got = reparse(old, new)
    whole = _whole(new)
    if whole is None:
        assert got is None
    elif got is not None:
        assert got == whole
        assert got.edge.body and all(any(s is t for t in old.edge.body) for s in got.edge.body[:1])


def test_an_edit_inside_one_route_reuses_every_other_statement():
    text = generate(50)
    old = parse(text, "t.edge")
    new = text.replace("route r7 {", "route r7x {", 1)
    got = reparse(old, new)
    assert got == parse(new, "t.edge")
    kept = [s for s in got.edge.body if any(s is t for t in old.edge.body)]
    assert len(kept) == len(old.edge.body) - 1


@pytest.mark.parametrize("lines", ["\n", "\n\n\n  # a comment\n"])
def test_lines_added_or_removed_move_the_statements_after(lines):
    text = generate(50)
    old = parse(text, "t.edge")
    longer = text.replace("route r7 {", "route r7 {" + lines, 1)
    assert reparse(old, longer) == parse(longer, "t.edge")
    assert reparse(parse(longer, "t.edge"), text) == old  # and removed again


@pytest.mark.parametrize("edit", [
    lambda t: t.replace("route r7 {", "route r7 {{", 1),  # a syntax error
    lambda t: t.replace('edge "', 'edge  "', 1),  # the edge block's own line
])
def test_what_it_cannot_confine_is_left_to_a_whole_parse(edit):
    text = generate(20)
    assert reparse(parse(text, "t.edge"), edit(text)) is None
