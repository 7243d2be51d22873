"""Every conformance case holds against routing.decide, the executable specification."""
from __future__ import annotations

import pytest

from edgec.cases import check
from tests.conformance.corpus import case_id, cases, edge_of

CASES = cases()


@pytest.mark.parametrize("case", CASES, ids=[case_id(c) for c in CASES])
def test_case_holds_against_decide(case):
    decision, problems = check(case, edge_of(case))
    assert not problems, f"{decision}\n" + "\n".join(problems)


def test_the_corpus_is_large_enough():
    assert len(CASES) >= 150


def test_a_wrong_expectation_is_reported():
    case = next(c for c in CASES if c.expect.get("upstream") == "v1")
    wrong = dict(case.expect, upstream="v2", route="elsewhere")
    case = type(case)(**{**case.__dict__, "expect": wrong})
    _, problems = check(case, edge_of(case))
    assert any(p.startswith("upstream:") for p in problems) and any(p.startswith("route:") for p in problems)
