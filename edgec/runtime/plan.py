"""What a request's routing decision takes, worked out once per memoised decision (Plan).

Compiled with the request path (setup.py), so that the Exchange reads a plan's fields as a
native class's, not by name."""
from __future__ import annotations

from typing import Any

from .. import routing


class Plan:
    """A routing decision and what acting on it takes: the target's path and query, the route's
    policy, whether a request goes straight to its forward (a forward whose route has no
    address list, CORS, auth or rate limit), and for a forward to one upstream that upstream,
    the first lines of the backend's request head and the attempt's timeouts."""

    __slots__ = ("decision", "path", "query", "route", "policy", "direct", "upstream", "head_start", "read_s",
                 "request_s")

    def __init__(self, d: routing.Decision, method: str, path: str, query: str, gw: Any):
        """`gw` is the gateway.Gateway whose policies and upstreams the plan takes (the
        gateway's module imports this one)."""
        self.decision = d
        self.path, self.query = path, query
        self.route = d.route or ""
        # the gateway's RoutePolicy and UpstreamRuntime: classes of an uncompiled module
        self.policy: Any = gw.policies[d.route] if d.route is not None else None
        pol = self.policy
        self.direct = (d.action == "forward" and pol is not None and pol.access is None and pol.cors is None
                       and pol.auth is None and pol.limiter is None)
        self.upstream: Any = None
        self.head_start = b""
        self.read_s = self.request_s = 0.0
        if d.action == "forward":
            self.head_start = f"{method} {d.upstream_path} HTTP/1.1\r\nHost: {d.upstream_host}\r\n".encode("latin-1")
            timeouts = d.timeouts
            assert timeouts is not None  # a forward has its route's
            self.request_s = timeouts.request_ms / 1000
            if len(d.backends) == 1 and not d.invalid_weight:
                self.upstream = up = gw.upstreams[d.backends[0][0]]
                self.read_s = routing.attempt_timeout_ms(timeouts, up.ir) / 1000
