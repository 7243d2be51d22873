"""Passive ejection counting answers: which outlier detection rule carries the statuses, and
the warning when Envoy's rule counts more of them than the file wrote."""
from __future__ import annotations

import pytest
import yaml

from edgec.pipeline import analyse

from .support import build


def _built(on: str):
    result = analyse(f'edge "e" {{ upstream u {{ server "127.0.0.1:1" passive max_fails 3 fail_timeout 5s {on} }}'
                     ' route r { forward u } }', "e.edge")
    files, diagnostics = build(result.edge, {"validate": "off"})
    cluster = next(c for c in yaml.safe_load(files["envoy.yaml"])["static_resources"]["clusters"] if c["name"] == "u")
    return cluster["outlier_detection"], [d.message for d in diagnostics if d.severity == "warning"]


@pytest.mark.parametrize("on,rule,warned", [
    ("", "consecutive_local_origin_failure", False),
    ("on 502 503 504", "consecutive_gateway_failure", False),
    ("on 5xx", "consecutive_5xx", True),
    ("on 500", "consecutive_5xx", True),
])
def test_the_statuses_choose_the_rule(on, rule, warned):
    detection, warnings = _built(on)
    enforced = {k.removeprefix("enforcing_") for k, v in detection.items() if k.startswith("enforcing_") and v}
    assert enforced == {rule} and detection[rule] == 3
    assert detection["split_external_local_origin_errors"] is (not on)
    assert any("counts every 5xx" in w for w in warnings) is warned
