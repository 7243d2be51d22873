"""Helpers for the language tests: run the CLI as a user would, lower source to IR."""
from __future__ import annotations

import json
import subprocess
import sys

from ..conftest import ROOT


def edgec(*args, cwd=None, stdin=None):
    return subprocess.run([sys.executable, "-m", "edgec", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd or ROOT, input=stdin)


def ir_json(source: str, env: str | None = None):
    """The IR of one env as JSON data, or None when the source has errors."""
    from edgec.ir import to_json
    from edgec.pipeline import analyse
    result = analyse(source, "test.edge", env=env)
    return json.loads(json.dumps(to_json(result.edge))) if result.edge is not None else None
