"""Every sample × env × implementation profile: the gateway-api target either writes
manifests that kubectl-validate accepts against the pinned CRDs (schema and CEL rules),
pinned as a golden file, or reports exactly the E401 errors pinned here."""
from __future__ import annotations

import pytest

from edgec.pipeline import analyse

from ..conftest import sample_envs
from .support import build, validate

IMPLS = ("generic", "envoy-gateway")


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("path,env", sample_envs())
def test_sample(path, env, impl, tmp_path, crd_dir, file_regression, data_regression):
    result = analyse(path.read_text(encoding="utf-8"), str(path), env=env)
    assert result.edge is not None, [d.message for d in result.diagnostics]
    files, diagnostics = build(result.edge, {"impl": impl})
    if files is None:
        data_regression.check([{"code": d.code, "message": d.message} for d in diagnostics
                               if d.severity == "error"])
        assert {d.code for d in diagnostics if d.severity == "error"} == {"E401"}
        return
    file_regression.check(files["manifests.yaml"], extension=".yaml")
    (tmp_path / "manifests.yaml").write_text(files["manifests.yaml"], encoding="utf-8")
    verdict = validate(tmp_path / "manifests.yaml", crd_dir)
    assert verdict["ok"], verdict["output"]


def test_output_is_deterministic():
    """Same input, same bytes (two builds of every sample that builds)."""
    built = 0
    for param in sample_envs():
        path, env = param.values
        edge = analyse(path.read_text(encoding="utf-8"), str(path), env=env).edge
        for impl in IMPLS:
            first, _ = build(edge, {"impl": impl})
            second, _ = build(edge, {"impl": impl})
            assert first == second
            built += first is not None
    assert built
