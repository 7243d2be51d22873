"""`env NAME { }` and `vars { }`: the variables, read before lowering starts (edgec.values.Env)."""
from __future__ import annotations

from . import directive


@directive("edge", "env")
@directive("edge", "vars")
def variables(v, stmt, out):
    """Nothing to lower: lowering reads one environment's variables through `v`."""
