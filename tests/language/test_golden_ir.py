"""Golden IR of every sample in every env, and the committed JSON Schema of the IR.

After an intended change to the IR or a sample, regenerate and review the diff:
    edgec schema > docs/ir.schema.json
    python -m pytest tests/language/test_golden_ir.py --force-regen
"""
from __future__ import annotations

import json

import pytest

from edgec.ir import to_json
from edgec.pipeline import analyse

from ..conftest import ROOT, sample_envs
from .conftest import edgec

SCHEMA = ROOT / "docs" / "ir.schema.json"


def sample_ir(path, env) -> dict:
    result = analyse(path.read_text(), str(path.relative_to(ROOT)), env=env)
    assert result.edge is not None, [f"{d.code} {d.message}" for d in result.diagnostics]
    return json.loads(json.dumps(to_json(result.edge)))


@pytest.mark.parametrize("path,env", sample_envs())
def test_golden_ir(path, env, data_regression):
    data_regression.check(sample_ir(path, env), basename=f"{path.stem}-{env}")


def test_edgec_schema_prints_the_committed_schema():
    out = edgec("schema")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == json.loads(SCHEMA.read_text()), \
        "the IR changed: regenerate with `edgec schema > docs/ir.schema.json` and review the diff"


@pytest.mark.parametrize("path,env", sample_envs())
def test_sample_ir_validates_against_the_committed_schema(path, env):
    import jsonschema
    validator = jsonschema.Draft202012Validator(json.loads(SCHEMA.read_text()))
    errors = [f"/{'/'.join(map(str, e.absolute_path))}: {e.message}"
              for e in validator.iter_errors(sample_ir(path, env))]
    assert errors == []


def test_the_schema_rejects_what_is_not_an_ir():
    import jsonschema
    validator = jsonschema.Draft202012Validator(json.loads(SCHEMA.read_text()))
    data = sample_ir(ROOT / "samples" / "shop.edge", "dev")
    data["routes"][0]["action"]["type"] = "teleport"
    assert not validator.is_valid(data)
