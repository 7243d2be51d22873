"""Prometheus metrics. The request path only bumps plain dict counters; the prometheus_client
collector turns them into metric families when /metrics is scraped."""
from __future__ import annotations

import bisect

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily

BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    def __init__(self):
        self.requests: dict[tuple[str, int], int] = {}
        self.latency: dict[str, list] = {}  # route → [bucket counts..., +Inf count, sum]
        self.upstream_failures: dict[tuple[str, str], int] = {}
        self.gateway = None  # the Gateway whose upstream health is reported
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(self)

    def observe(self, route: str, status: int, seconds: float) -> None:
        key = (route, status)
        self.requests[key] = self.requests.get(key, 0) + 1
        h = self.latency.get(route)
        if h is None:
            h = self.latency[route] = [0] * (len(BUCKETS) + 1) + [0.0]
        h[bisect.bisect_left(BUCKETS, seconds)] += 1
        h[-1] += seconds

    def upstream_failed(self, upstream: str, server: str) -> None:
        key = (upstream, server)
        self.upstream_failures[key] = self.upstream_failures.get(key, 0) + 1

    def collect(self):
        c = CounterMetricFamily("edge_requests", "Requests answered, by route and status",
                                labels=["route", "status"])
        for (route, status), n in sorted(self.requests.items()):
            c.add_metric([route, str(status)], n)
        yield c
        h = HistogramMetricFamily("edge_request_duration_seconds", "Time from request head to response end",
                                  labels=["route"])
        for route, counts in sorted(self.latency.items()):
            cumulative, buckets = 0, []
            for bound, n in zip((*map(str, BUCKETS), "+Inf"), counts[:-1]):
                cumulative += n
                buckets.append((bound, cumulative))
            h.add_metric([route], buckets, counts[-1])
        yield h
        f = CounterMetricFamily("edge_upstream_failures", "Failed attempts (connect, reset, timeout) by server",
                                labels=["upstream", "server"])
        for (up, server), n in sorted(self.upstream_failures.items()):
            f.add_metric([up, server], n)
        yield f
        g = GaugeMetricFamily("edge_upstream_up", "1 when a server may receive traffic (health checks, ejection)",
                              labels=["upstream", "server"])
        if self.gateway is not None:
            for up, states in sorted(self.gateway.upstream_states().items()):
                for state, up_now in states:
                    g.add_metric([up, state], 1 if up_now else 0)
        yield g

    def render(self) -> bytes:
        return generate_latest(self.registry)
