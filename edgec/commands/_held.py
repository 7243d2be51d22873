"""What a command built, held until the process ends.

`edgec` run as the program exits without freeing what the command built (edgec.cli's
_exit_now), where freeing it as the command returns takes time (the analysis, the IR and the
output text of 10,000 routes: ~70 ms). Held here, it is still referenced when the process ends.
"""
from __future__ import annotations

_HELD: list = []


def keep_until_exit(*built) -> None:
    """Hold `built` until the process ends. What one call holds is let go at the next (a lint
    of many files holds one file's at a time)."""
    _HELD[:] = built
