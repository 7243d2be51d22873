"""The capability table is the one place that says what a target can do: it must be complete,
and docs/targets.md must be what `edgec targets --format markdown` prints."""
from __future__ import annotations

import pytest

from edgec.features import FEATURES
from edgec.targets import APPROXIMATE, NATIVE, UNSUPPORTED, UnknownTarget, get, names
from edgec.targets_matrix import matrix, render

from .conftest import ROOT


@pytest.mark.parametrize("name", names())
def test_capability_table_covers_every_feature(name):
    target = get(name)
    assert set(target.capabilities) == set(FEATURES), (
        f"missing: {sorted(set(FEATURES) - set(target.capabilities))}; "
        f"unknown: {sorted(set(target.capabilities) - set(FEATURES))}")
    for feature, cap in target.capabilities.items():
        assert cap.level in (NATIVE, APPROXIMATE, UNSUPPORTED)
        if cap.level != NATIVE:
            assert cap.note, f"{name}: {feature} is {cap.level} without saying why"


def test_unknown_target_suggests_the_closest_name():
    if "nginx" not in names():
        pytest.skip("no nginx target yet")
    with pytest.raises(UnknownTarget, match="did you mean 'nginx'"):
        get("ngnix")


def test_docs_targets_is_generated_from_the_tables():
    expected = render(matrix(), "markdown")
    doc = ROOT / "docs" / "targets.md"
    assert doc.read_text() == expected, "regenerate: edgec targets --format markdown > docs/targets.md"
