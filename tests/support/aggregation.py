"""An aggregation part's timeout through a real gateway: one deadline over connecting to the
part's upstream and its answer. The parts' servers take about a second to take a connection
(tests/support/slow_accept.py); every target's test drives the same edge and requests.

    with aggregation.slow_parts() as (slow, quick):
        source = aggregation.slow_edge(slow.address, quick.address)   # build and start it, then
        assert aggregation.deadline_failures(base_url, slow, quick) == []
"""
from __future__ import annotations

import json

from .slow_accept import SlowToAccept, ask, slow_pair

DEADLINE_S = 3  # the parts' timeout


def slow_edge(slow: str, quick: str, listen: str = "") -> str:
    """Two aggregate routes, each with one part on a server slow to connect to (slow_parts)."""
    return f'''edge "slow_parts" {{
  {listen}
  upstream slow {{
    server "{slow}"
  }}
  upstream quick {{
    server "{quick}"
  }}
  route slow {{
    match path exact "/slow"
    aggregate {{
      part = get slow "/part" timeout {DEADLINE_S}s
    }}
  }}
  route quick {{
    match path exact "/quick"
    aggregate {{
      part = get quick "/part" timeout {DEADLINE_S}s
    }}
  }}
}}
'''


def slow_parts(slow_port: int = 0, quick_port: int = 0):
    """Two servers that take about a second to connect to (slow_accept.slow_pair)."""
    return slow_pair(DEADLINE_S, slow_port, quick_port)


def deadline_failures(base_url: str, slow: SlowToAccept, quick: SlowToAccept) -> list[str]:
    """A part whose connection and answer each fit in its timeout but not together is a timed
    out part (504) answered at the deadline, not when the server answers; one whose sum fits is
    merged (first: a gateway that starts cold warms up; a JVM's first part may connect late)."""
    out = []
    for path, server, status in (("/quick", quick, 200), ("/slow", slow, 504)):
        got, body, timing = ask(base_url, path, server, DEADLINE_S, gives_up=status == 504, cold=status == 200)
        out += timing
        expected = {"part": None} if status == 200 else \
            {"part": None, "errors": {"part": {"error": "timeout", "status": 504}}}
        try:
            merged = json.loads(body)
        except ValueError:
            merged = body
        if (got, merged) != (status, expected):
            out.append(f"{path}: {got} {merged!r}, expected {status} {expected!r}")
    return out
