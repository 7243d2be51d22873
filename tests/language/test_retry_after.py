"""Retry-After of a rate limit's refusals: the whole seconds until its bucket lets one request
through again, the same number on every target."""
from __future__ import annotations

import pytest

from edgec import ir
from edgec.features import used_features
from edgec.pipeline import analyse


@pytest.mark.parametrize("count,window_s,seconds", [
    (1, 60, 60), (2, 60, 30), (7, 60, 9), (100, 60, 1), (3, 1, 1), (1, 3600, 3600), (5, 86400, 17280)])
def test_one_requests_share_of_the_window_rounded_up(count, window_s, seconds):
    assert ir.RateLimit(count, window_s, ir.RateLimitKey("client_ip"), burst=0).retry_after_s == seconds


def test_every_rate_limit_uses_it():
    edge = analyse('edge "r" {\n  upstream u {\n    server "127.0.0.1:9001"\n  }\n  route r {\n'
                   '    rate_limit 10/min by header "X-User" burst 5\n    forward u\n  }\n}\n', "r.edge").edge
    assert "rate_limit.retry_after" in {u.feature for u in used_features(edge)}
