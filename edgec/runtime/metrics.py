"""Prometheus metrics. The request path only bumps plain dict counters; the prometheus_client
collector turns them into metric families when /metrics is scraped. Under `--workers N` a
scrape reports the sum over the workers (shared_metrics.py)."""
from __future__ import annotations

import bisect
import os

from .shared_metrics import PUBLISH_EVERY_S

BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Counts:
    """The counters, and their plain-data (JSON) form that workers exchange."""

    def __init__(self):
        self.requests: dict[tuple[str, int], int] = {}
        self.latency: dict[str, list] = {}  # route → [bucket counts..., +Inf count, sum]
        self.upstream_latency: dict[str, list] = {}  # upstream → the same, per attempt answered
        self.upstream_failures: dict[tuple[str, str], int] = {}

    def counts(self) -> dict:
        return {"requests": [[route, status, n] for (route, status), n in self.requests.items()],
                "latency": {route: list(h) for route, h in self.latency.items()},
                "upstream_latency": {up: list(h) for up, h in self.upstream_latency.items()},
                "failures": [[up, server, n] for (up, server), n in self.upstream_failures.items()]}

    def add(self, counts: dict) -> None:
        for route, status, n in counts["requests"]:
            key = (route, status)
            self.requests[key] = self.requests.get(key, 0) + n
        # a worker started before upstream_latency existed publishes none
        for mine, theirs in ((self.latency, counts["latency"]),
                             (self.upstream_latency, counts.get("upstream_latency", {}))):
            for key, h in theirs.items():
                if key not in mine:
                    mine[key] = list(h)
                else:
                    for i, n in enumerate(h):
                        mine[key][i] += n
        for up, server, n in counts["failures"]:
            key = (up, server)
            self.upstream_failures[key] = self.upstream_failures.get(key, 0) + n


class Metrics(Counts):
    def __init__(self):
        super().__init__()
        self.gateway = None  # the Gateway whose upstream health is reported
        self.shared = None  # this worker's shared_metrics.Slot under --workers N
        self._published: dict | None = None
        self._next_publish = 0.0
        self._registry = None  # see registry(): an edge without /metrics never imports prometheus_client

    def observe(self, route: str, status: int, seconds: float) -> None:
        key = (route, status)
        self.requests[key] = self.requests.get(key, 0) + 1
        _bump(self.latency, route, seconds)

    def upstream_answered(self, upstream: str, seconds: float) -> None:
        """An attempt's time, from asking for a connection to the end of the server's answer."""
        _bump(self.upstream_latency, upstream, seconds)

    def upstream_failed(self, upstream: str, server: str) -> None:
        key = (upstream, server)
        self.upstream_failures[key] = self.upstream_failures.get(key, 0) + 1

    def _up(self) -> dict[tuple[str, str], int]:
        if self.gateway is None:
            return {}
        return {(up, state): 1 if up_now else 0
                for up, states in self.gateway.upstream_states().items() for state, up_now in states}

    # ---- --workers N ----------------------------------------------------------------------------
    def share(self, slot, clock) -> None:
        """Count on from what this worker slot last published (a replaced worker's numbers),
        and publish from the clock. Before the first request: nothing is counted twice."""
        last = slot.last()
        if last is not None:
            self.add(last)
        self.shared = slot
        self._publish()
        clock.sweepers.append(self._sweep)

    def _sweep(self, now: float) -> None:
        if now >= self._next_publish:
            self._next_publish = now + PUBLISH_EVERY_S
            self._publish()

    def _publish(self) -> dict | None:
        if self.gateway is None or self.gateway.metrics_path is None:
            return None  # nobody can scrape this config
        snapshot = {"pid": os.getpid(), **self.counts(), "up": [[*key, v] for key, v in self._up().items()]}
        if snapshot != self._published and self.shared.publish(snapshot):
            self._published = snapshot
        return snapshot

    def _totals(self) -> tuple[Counts, dict[tuple[str, str], int]]:
        # edge_upstream_up is the max over the workers, prometheus_client's "livemax": each
        # worker health-checks and ejects on its own, and a server may receive traffic while
        # any worker may send it some. A dead worker's view is gone once its replacement
        # publishes (its slot's file is overwritten), as "live" modes drop dead processes.
        own = self._publish()
        total, up = Counts(), {}
        for snapshot in (own, *self.shared.others()):
            if snapshot is None:
                continue
            total.add(snapshot)
            for upstream, server, v in snapshot["up"]:
                up[(upstream, server)] = max(v, up.get((upstream, server), 0))
        return total, up

    def collect(self):
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
        counts, up = self._totals() if self.shared is not None else (self, self._up())
        c = CounterMetricFamily("edge_requests", "Requests answered, by route and status",
                                labels=["route", "status"])
        for (route, status), n in sorted(counts.requests.items()):
            c.add_metric([route, str(status)], n)
        yield c
        yield _histogram("edge_request_duration_seconds", "Time from request head to response end", "route",
                         counts.latency)
        yield _histogram("edge_upstream_duration_seconds",
                         "Time of an attempt answered by a server, from asking for a connection to the answer's end",
                         "upstream", counts.upstream_latency)
        f = CounterMetricFamily("edge_upstream_failures", "Failed attempts (connect, reset, timeout, answers passive ... on counts) by server",
                                labels=["upstream", "server"])
        for (upstream, server), n in sorted(counts.upstream_failures.items()):
            f.add_metric([upstream, server], n)
        yield f
        g = GaugeMetricFamily("edge_upstream_up", "1 when a server may receive traffic (health checks, ejection)",
                              labels=["upstream", "server"])
        for (upstream, server), v in sorted(up.items()):
            g.add_metric([upstream, server], v)
        yield g

    def registry(self):
        """prometheus_client's registry of this collector, made (and the library imported) once."""
        if self._registry is None:
            from prometheus_client import CollectorRegistry
            self._registry = CollectorRegistry(auto_describe=False)
            self._registry.register(self)
        return self._registry

    def render(self) -> bytes:
        from prometheus_client import generate_latest
        return generate_latest(self.registry())


def _bump(histograms: dict[str, list], key: str, seconds: float) -> None:
    h = histograms.get(key)
    if h is None:
        h = histograms[key] = [0] * (len(BUCKETS) + 1) + [0.0]
    h[bisect.bisect_left(BUCKETS, seconds)] += 1
    h[-1] += seconds


def _histogram(name: str, text: str, label: str, histograms: dict[str, list]):
    from prometheus_client.core import HistogramMetricFamily
    out = HistogramMetricFamily(name, text, labels=[label])
    for key, h in sorted(histograms.items()):
        cumulative, buckets = 0, []
        for bound, n in zip((*map(str, BUCKETS), "+Inf"), h[:-1]):
            cumulative += n
            buckets.append((bound, cumulative))
        out.add_metric([key], buckets, h[-1])
    return out
