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


REQUEST_ID_EDGE = '''edge "ids" {
  upstream app {
    server "127.0.0.1:9001"
  }
  route a {
    match path prefix "/a"
    forward app
  }
  route b {
    match path prefix "/b"
    forward app
  }
}
'''


@pytest.mark.parametrize("name, options, differs", [
    ("nginx", {}, False), ("spring", {}, False), ("envoy", {}, False),
    ("aws", {}, "ALB neither checks nor makes a request id"),
    ("aws", {"gateway": "apigw"}, "neither API Gateway nor the load balancer checks or makes an X-Request-Id"),
    ("gateway-api", {}, "implementation-specific"),
    ("gateway-api", {"impl": "envoy-gateway"}, "replacing a client's sane one too"),
])
def test_a_target_that_treats_request_ids_otherwise_says_so_once_for_every_file(name, options, differs):
    """Every request meets the request id rule (a sane id kept, another replaced, one made when
    none is sent), not only one with a malformed id: a target whose row is approximate warns once
    per file, at the edge block, and --strict cannot make that an error (nothing in the file
    asks for it); one that keeps the rule says nothing."""
    from edgec.diagnostics import Sink
    from edgec.pipeline import analyse
    from edgec.targets import BuildContext
    edge = analyse(REQUEST_ID_EDGE, "ids.edge").edge
    for strict in (False, True):
        sink = Sink("ids.edge")
        get(name).check(BuildContext(edge, sink, dict(options), target=name, strict=strict))
        said = [d for d in sink.items if "[request.header.request_id]" in d.message]
        if not differs:
            assert said == []
            continue
        assert [(d.code, d.line, d.column) for d in said] == [("W402", 1, 1)], said
        assert differs in said[0].message
