"""Which of Envoy's outlier-detection counters ejects a server, for the targets whose data
plane is Envoy (envoy, and gateway-api through Envoy Gateway): each names the counter in its
own configuration language.

Without statuses a failure is one the gateway sees itself (connect errors, timeouts, resets:
what routing counts), Envoy's local-origin failures. With statuses Envoy counts the answers
too, and its own failures as the 503 or 504 it makes of them: 502 503 504 are its gateway
failures; for any other list only its every-5xx counter comes near (the targets say so).
"""
from __future__ import annotations

from typing import Literal

from edgec import ir

GATEWAY_FAILURES = (502, 503, 504)

Counter = Literal["local_origin", "gateway", "5xx"]


def counter(p: ir.PassiveCheck) -> Counter:
    if not p.statuses:
        return "local_origin"
    return "gateway" if p.statuses == GATEWAY_FAILURES else "5xx"
