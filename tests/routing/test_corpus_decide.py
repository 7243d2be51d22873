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
