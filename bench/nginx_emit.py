"""How long the nginx target takes to emit a config for 1,000 and 10,000 routes, and how
long the real `nginx -t` takes to read the 10,000-route output.

    python bench/nginx_emit.py [--sizes 1000,10000] [--runs 3] [--write bench/results/nginx.md]

The edge is generated as IR (compiling the source is bench/compile.py's subject): 20
upstreams; routes with prefixes and exact paths under 50 host names plus hostless ones,
every fifth with a method condition, every tenth with a header condition, every
fiftieth with a query condition, one in 500 a regex, some with rate limits, caching and
header operations. Emission is the whole target: capability check, plan, directive tree
and text. `nginx -t` runs on loopback upstream addresses with its own prefix directory.
"""
from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from edgec import ir  # noqa: E402
from edgec.diagnostics import Sink  # noqa: E402
from edgec.ir import DEFAULT_LIMITS, DEFAULT_PASSIVE, DEFAULT_TIMEOUTS  # noqa: E402
from edgec.targets import BuildContext, get  # noqa: E402

UPSTREAMS = 20
HOSTS = 50


def generate(n: int) -> ir.Edge:
    ups = tuple(ir.Upstream(f"svc{u}", (ir.Server("127.0.0.1", 9000 + u, 2), ir.Server("127.0.0.1", 9500 + u)),
                            "round_robin", None, None, DEFAULT_PASSIVE, None, ir.Keepalive(256, 60_000),
                            DEFAULT_TIMEOUTS) for u in range(UPSTREAMS))
    routes = []
    for i in range(n):
        team, svc = i % 97, i % UPSTREAMS
        path = ir.PathMatch("exact" if i % 7 == 0 else "prefix", f"/api/t{team}/r{i}")
        if i % 500 == 0:
            path = ir.PathMatch("regex", f"/re/{i}/[0-9]+")
        hosts = (f"h{i % HOSTS}.bench.example",) if i % 3 == 0 else ()
        methods = ("GET", "HEAD") if i % 5 == 0 else ()
        headers = (ir.ValueMatch("X-Tenant", "exact", f"t{i % 13}"),) if i % 10 == 0 else ()
        query = (ir.ValueMatch("v", "exact", "2"),) if i % 50 == 0 else ()
        route = ir.Route(
            f"r{i}", (ir.Match(path, hosts, methods, headers, query),),
            ir.Forward("forward", (ir.Backend(f"svc{svc}", 1),)),
            rate_limit=ir.RateLimit(100, 60, ir.RateLimitKey("client_ip"), 10) if i % 11 == 0 else None,
            cache=ir.Cache(30_000, ("GET", "HEAD"), ("method", "scheme", "host", "path", "query"), ())
            if i % 17 == 0 else None,
            request_headers=ir.HeaderOps(set=(("X-Route", f"r{i}"),)) if i % 4 == 0 else ir.HeaderOps())
        routes.append(route)
    return ir.Edge(1, "bench", None, (ir.Listener("http", 18080, "127.0.0.1"),), ups, (), tuple(routes),
                   ir.Observability(ir.AccessLog("off", "-"), None), DEFAULT_LIMITS, ())


def emit(edge: ir.Edge) -> dict[str, str]:
    target = get("nginx")
    ctx = BuildContext(edge, Sink("bench"), target="nginx")
    target.check(ctx)
    assert not ctx.sink.has_errors, [d.message for d in ctx.sink.items]
    return target.emit(ctx)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="1000,10000")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--write")
    args = ap.parse_args()
    rows = []
    for n in (int(s) for s in args.sizes.split(",")):
        edge = generate(n)
        times = []
        for _ in range(args.runs):
            start = time.perf_counter()
            files = emit(edge)
            times.append(time.perf_counter() - start)
        text = files["nginx.conf"]
        with tempfile.TemporaryDirectory() as tmp:
            prefix = Path(tmp)
            for rel, content in files.items():
                (prefix / rel).parent.mkdir(parents=True, exist_ok=True)
                (prefix / rel).write_text(content)
            t_times, t_cpu = [], []
            for _ in range(args.runs):
                before = resource.getrusage(resource.RUSAGE_CHILDREN)
                start = time.perf_counter()
                res = subprocess.run(["nginx", "-t", "-q", "-p", f"{prefix}/", "-c", "nginx.conf", "-e", "stderr"],
                                     capture_output=True, text=True)
                t_times.append(time.perf_counter() - start)
                after = resource.getrusage(resource.RUSAGE_CHILDREN)
                t_cpu.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
                assert res.returncode == 0 and not res.stderr, res.stderr[-2000:]
        rows.append((n, statistics.median(times), statistics.median(t_times), statistics.median(t_cpu),
                     len(text.splitlines()), text.count("location "), len(text) / 1e6))
    head = ("| routes | emit (median) | `nginx -t` wall (median) | `nginx -t` CPU | lines | locations | MB |\n"
            "|---:|---:|---:|---:|---:|---:|---:|")
    body = "\n".join(f"| {n:,} | {e:.2f} s | {t:.2f} s | {c:.2f} s | {lines:,} | {locs:,} | {mb:.1f} |"
                     for n, e, t, c, lines, locs, mb in rows)
    print(head + "\n" + body)
    if args.write:
        import platform
        cmd = "python bench/nginx_emit.py " + " ".join(sys.argv[1:])
        nginx = subprocess.run(["nginx", "-v"], capture_output=True, text=True).stderr.strip()
        Path(args.write).write_text(
            "# nginx target: emission time and `nginx -t`\n\n"
            f"Command: `{cmd}` (median of {args.runs} runs each).\n"
            f"Machine: {platform.machine()}, {__import__('os').cpu_count()} CPUs, Python {platform.python_version()}, "
            f"{nginx}. The machine is shared with other jobs (test suites of other work ran at the same "
            "time), so expect run-to-run differences of ±50 %.\n\n"
            "Goals: emission under 1 s for 1,000 routes and under 10 s for 10,000.\n\n"
            + head + "\n" + body + "\n\n" + (__doc__ or "").split("\n\n", 2)[2].strip() + "\n")


if __name__ == "__main__":
    main()
