"""Routing speed: compile and decide on a 10,000-route, path-only edge; lint rules at that size.

    python bench/routing.py [--routes 10000] [--decisions 200000] [--runs 5]

Prints the median of the runs. Targets (issue 3): >= 100,000 decisions/s in one process,
compile < 1 s. On a shared machine the wall-clock rate drops with the load of other
processes; the rate per CPU second of this process shows the cost of decide itself. Results are recorded in bench/results/routing.md.
"""
from __future__ import annotations

import argparse
import dataclasses
import random
import statistics
import time

from edgec import ir
from edgec.ir import DEFAULT_KEEPALIVE_CONNECTIONS, DEFAULT_KEEPALIVE_IDLE_MS, DEFAULT_PASSIVE, DEFAULT_TIMEOUTS
from edgec.routing import Request, Router


def build_edge(n: int) -> ir.Edge:
    ups = tuple(ir.Upstream(f"u{i}", (ir.Server("127.0.0.1", 9000 + i),), "round_robin", None, None, DEFAULT_PASSIVE,
                            None, ir.Keepalive(DEFAULT_KEEPALIVE_CONNECTIONS, DEFAULT_KEEPALIVE_IDLE_MS),
                            DEFAULT_TIMEOUTS) for i in range(10))
    routes = []
    for i in range(n):
        kind = "exact" if i % 4 == 0 else "prefix"
        path = f"/svc{i}/health" if kind == "exact" else f"/svc{i}/api/v{i % 3}"
        routes.append(ir.Route(f"r{i}", (ir.Match(ir.PathMatch(kind, path)),),
                               ir.Forward("forward", (ir.Backend(f"u{i % 10}", 1),))))
    routes.append(ir.Route("fallback", (ir.Match(ir.PathMatch("prefix", "/static")),),
                           ir.Forward("forward", (ir.Backend("u0", 1),))))
    return ir.Edge(1, "bench", None, (ir.Listener("http", 8080),), ups, (), tuple(routes),
                   ir.Observability(ir.AccessLog("off", "-"), None),
                   ir.Limits(1 << 20, 8192, 100, 60_000, 75_000), ())


def requests(n: int, count: int) -> list[Request]:
    rnd = random.Random(7)
    out = []
    for _ in range(count):
        i = rnd.randrange(n)
        roll = rnd.random()
        if roll < 0.1:
            path = f"/nowhere/{i}"  # 404
        elif i % 4 == 0:
            path = f"/svc{i}/health"
        else:
            path = f"/svc{i}/api/v{i % 3}/items/{rnd.randrange(1000)}"
        out.append(Request("GET", "http", "api.example.com", 8080, path, "page=2" if roll > 0.8 else "",
                           (("Accept", "application/json"), ("User-Agent", "bench"))))
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--routes", type=int, default=10_000)
    ap.add_argument("--decisions", type=int, default=200_000)
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    edge = build_edge(args.routes)
    reqs = requests(args.routes, args.decisions)
    compile_s, rates, cpu_rates, lint_s = [], [], [], []
    for _ in range(args.runs):
        copy = dataclasses.replace(edge)  # a fresh IR object: no cached router
        t = time.perf_counter()
        router = Router(copy)
        compile_s.append(time.perf_counter() - t)
        decide = router.decide
        t, c = time.perf_counter(), time.process_time()
        for r in reqs:
            decide(r)
        rates.append(len(reqs) / (time.perf_counter() - t))
        cpu_rates.append(len(reqs) / (time.process_time() - c))
        from edgec.lint.routing_rules import DuplicateMatch, RedirectLoop, ShadowedRoute
        from edgec.lint import LintContext
        ctx = LintContext(None, [], {None: copy})  # type: ignore[arg-type]
        t = time.perf_counter()
        for rule in (ShadowedRoute(), DuplicateMatch(), RedirectLoop()):
            list(rule.check(ctx))
        lint_s.append(time.perf_counter() - t)
    sample = Router(edge).decide(reqs[0])
    assert sample.action in ("forward", "not_found")
    print(f"routes: {args.routes + 1}, decisions per run: {len(reqs)}, runs: {args.runs}")
    print(f"compile (Router build): median {statistics.median(compile_s) * 1000:.0f} ms "
          f"(min {min(compile_s) * 1000:.0f}, max {max(compile_s) * 1000:.0f})")
    print(f"decide: median {statistics.median(rates):,.0f} decisions/s wall clock "
          f"(min {min(rates):,.0f}, max {max(rates):,.0f}); "
          f"{statistics.median(cpu_rates):,.0f} per CPU second of this process")
    print(f"lint W304+W305+W306: median {statistics.median(lint_s) * 1000:.0f} ms")


if __name__ == "__main__":
    main()
