"""edgec schema: the JSON Schema (draft 2020-12) every IR is validated against."""
from __future__ import annotations

import json
import sys


def add_arguments(parser) -> None:
    pass


def run(args) -> int:
    from ..schema import ir_schema
    sys.stdout.write(json.dumps(ir_schema(), indent=2) + "\n")
    return 0
