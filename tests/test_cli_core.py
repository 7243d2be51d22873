"""The CLI skeleton: usage errors, the schema command, and build's all-or-nothing output."""
from __future__ import annotations

import json
import subprocess
import sys

from .conftest import ROOT


def edgec(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "edgec", *args], capture_output=True, text=True,
                          cwd=cwd or ROOT)


def test_schema_is_a_valid_draft_2020_12_schema():
    import jsonschema
    out = edgec("schema")
    assert out.returncode == 0
    schema = json.loads(out.stdout)
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_every_sample_ir_validates_against_the_schema():
    from edgec.ir import to_json
    from edgec.lower import environments
    from edgec.parse import parse
    from edgec.pipeline import analyse
    from edgec.schema import validate_ir
    for path in sorted((ROOT / "samples").glob("*.edge")):
        text = path.read_text()
        for env in environments(parse(text, str(path))) or [None]:
            result = analyse(text, str(path), env=env)
            assert result.ok, [d.message for d in result.diagnostics]
            assert validate_ir(to_json(result.edge)) == []


def test_unknown_target_is_a_usage_error(tmp_path):
    out = edgec("build", "samples/shop.edge", "--env", "dev", "--target", "nosuch", "-o", str(tmp_path / "o"))
    assert out.returncode == 2
    assert "unknown target 'nosuch'" in out.stderr
    assert not (tmp_path / "o").exists()


def test_no_command_is_a_usage_error():
    assert edgec().returncode == 2


def test_build_without_env_names_the_environments(tmp_path):
    out = edgec("ir", "samples/shop.edge")
    assert out.returncode == 1
    assert "E103" in out.stderr and "dev, prod" in out.stderr
