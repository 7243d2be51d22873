"""Every sample × env: the envoy target either builds a bootstrap that the real
`envoy --mode validate` accepts, pinned as a golden file, or reports exactly the E401
errors pinned here (a feature the capability table refuses, or a value Envoy cannot carry)."""
from __future__ import annotations

import pytest

from edgec.pipeline import analyse
from tests.nginx.support import certificate

from ..conftest import sample_envs
from .support import build, localise, prepare, validate, write


@pytest.fixture(scope="module")
def certs():
    return certificate()


@pytest.mark.parametrize("path,env", sample_envs())
def test_sample(path, env, tmp_path, certs, file_regression, data_regression):
    result = analyse(path.read_text(encoding="utf-8"), str(path), env=env)
    assert result.edge is not None, [d.message for d in result.diagnostics]
    files, diagnostics = build(localise(result.edge))
    if files is None:
        data_regression.check([{"code": d.code, "message": d.message} for d in diagnostics
                               if d.severity == "error"])
        assert {d.code for d in diagnostics if d.severity == "error"} == {"E401"}
        return
    file_regression.check(files["envoy.yaml"], extension=".yaml")
    prepare(tmp_path, certs)
    res = validate(write(files, tmp_path))
    assert res.returncode == 0, res.stdout + res.stderr


def test_output_is_deterministic():
    """Same input, same bytes (two builds of every sample that builds)."""
    for param in sample_envs():
        path, env = param.values
        edge = analyse(path.read_text(encoding="utf-8"), str(path), env=env).edge
        first, _ = build(localise(edge), {"validate": "off"})
        second, _ = build(localise(edge), {"validate": "off"})
        assert first == second
