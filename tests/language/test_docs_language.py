"""Every ```edge example in docs/language.md: a complete file lints clean and is formatted;
an ```edge fragment is put inside an edge block and compiles without errors."""
from __future__ import annotations

import re

import pytest

from edgec.fmt import format_source
from edgec.pipeline import analyse

from ..conftest import ROOT

DOC = ROOT / "docs" / "language.md"
_BLOCK = re.compile(r"^```edge( fragment)?\n(.*?)^```$", re.S | re.M)


def examples():
    text = DOC.read_text()
    out = []
    for m in _BLOCK.finditer(text):
        line = text.count("\n", 0, m.start()) + 1
        out.append(pytest.param(bool(m.group(1)), m.group(2), id=f"line-{line}"))
    return out


def test_the_reference_has_examples_of_both_kinds():
    kinds = [p.values[0] for p in examples()]
    assert kinds.count(True) >= 10 and kinds.count(False) >= 3


def test_no_example_is_left_unchecked():
    # an example in any other fence (```edgec, ```Edge ...) would escape the checks below
    fences = re.findall(r"^```(\S*.*)$", DOC.read_text(), re.M)
    assert {f for f in fences if f and "edge" in f.lower()} <= {"edge", "edge fragment"}


@pytest.mark.parametrize("fragment,source", examples())
def test_example(fragment, source):
    if fragment:
        source = 'edge "example" {\n' + "".join(f"  {ln}\n" if ln else "\n" for ln in source.splitlines()) + "}\n"
    result = analyse(source, "example.edge", all_envs=True)
    problems = [f"{d.line}:{d.column} {d.code} {d.message}" for d in result.diagnostics
                if d.severity == "error" or not fragment]
    assert problems == [], source
    if not fragment:
        assert format_source(source) == source, "not formatted"


def test_every_keyword_of_the_grammar_is_in_the_reference():
    from edgec.parse import parser
    code = "\n".join(re.findall(r"`[^`\n]*`|```.*?```", DOC.read_text(), re.S))
    keywords = {t.pattern.value for t in parser().terminals
                if t.pattern.type == "str" and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_-]*", t.pattern.value)}
    assert len(keywords) > 100
    missing = sorted(k for k in keywords if not re.search(rf"(?<![\w-]){re.escape(k)}(?![\w-])", code))
    assert missing == []
