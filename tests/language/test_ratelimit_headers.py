"""The refusal headers of a rate limit: Retry-After and the IETF draft's RateLimit fields, one
rule every target reads (ir.RateLimit.refusal_headers)."""
from __future__ import annotations

import pytest

from edgec import ir


@pytest.mark.parametrize("count,window_s,expected", [
    (100, 60, (("Retry-After", "1"), ("RateLimit-Policy", '"api";q=100;w=60'), ("RateLimit", '"api";r=0;t=1'))),
    (2, 60, (("Retry-After", "30"), ("RateLimit-Policy", '"api";q=2;w=60'), ("RateLimit", '"api";r=0;t=30'))),
    (5, 3600, (("Retry-After", "720"), ("RateLimit-Policy", '"api";q=5;w=3600'), ("RateLimit", '"api";r=0;t=720'))),
])
def test_refusal_headers(count, window_s, expected):
    assert ir.RateLimit(count, window_s, ir.RateLimitKey("client_ip"), burst=0).refusal_headers("api") == expected
