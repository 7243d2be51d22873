"""How compile time grows with the number of routes: parse, lower, lint rules and the
format check, measured in-process on generated files with 100, 1,000 and 10,000 routes.

    python bench/compile.py [--runs 5] [--sizes 100,1000,10000] [--show-rules] [--write DIR]

Prints one row per size with the median CPU time of the runs for each stage (and the whole
of `edgec lint` minus the interpreter start), and the cost per route, which stays flat when
compile time is linear. CPU time, not wall time: the numbers hold on a busy machine. Startup (`edgec lint samples/shop.edge` wall time) is measured
separately with hyperfine; see bench/results/compile.md.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time

UPSTREAMS = 20


def generate(routes: int) -> str:
    """A plausible large edge: many services behind one gateway, every route different."""
    lines = ['edge "bench" {',
             '  env dev {', '    host = "bench.localhost"', '  }',
             '  env prod {', '    host = "api.bench.example"', '  }', '',
             '  listen http 8080', '']
    for u in range(UPSTREAMS):
        lines += [f"  upstream svc{u} {{", f'    server "10.0.{u}.10:8080" weight 2',
                  f'    server "10.0.{u}.11:8080"', '    health get "/healthz" every 5s timeout 1s', "  }"]
    lines += ['', '  auth jwt main {', '    jwks "https://auth.bench.example/jwks.json"', "  }", ""]
    for r in range(routes):
        u = r % UPSTREAMS
        team, item = divmod(r, 50)
        lines.append(f"  route r{r} {{")
        if r % 4 == 0:
            lines.append(f'    match host ${{host}} path prefix "/api/t{team}/i{item}" method GET POST')
        elif r % 4 == 1:
            lines.append(f'    match path exact "/api/t{team}/i{item}/status"')
            lines.append(f'    match path exact "/v2/t{team}/i{item}/status"')
        elif r % 4 == 2:
            lines.append(f'    match path prefix "/api/t{team}/i{item}" header "X-Tenant" = "t{team}"')
        else:
            lines.append(f'    match path regex "/api/t{team}/i{item}/[0-9]+"')
        if r % 3 == 0:
            lines += ["    auth main", "    rate_limit 100/min by client_ip burst 20"]
        if r % 5 == 0:
            lines.append("    cache 30s")
        lines += ['    request_header set "X-Route" "r%d"' % r, "    timeout 5s", "    retries 2"]
        lines.append(f"    forward svc{u} 90%, svc{(u + 1) % UPSTREAMS} 10%" if r % 7 == 0 else f"    forward svc{u}")
        lines.append("  }")
    lines += ["", "  access_log json", '  metrics "/metrics"', "}"]
    return "\n".join(lines) + "\n"


def measure(source: str) -> dict[str, float]:
    from edgec.gcpause import paused
    with paused():  # as edgec itself runs them
        return _measure(source)


def _measure(source: str) -> dict[str, float]:
    from edgec import lint
    from edgec.diagnostics import Sink
    from edgec.fmt import not_formatted
    from edgec.lower import environments, lower_with_usage
    from edgec.values import LoweredOnce
    from edgec.pipeline import analyse, parse_source

    times = {}
    t = time.process_time()
    doc, diags = parse_source(source, "bench.edge")
    times["parse"] = time.process_time() - t
    assert doc is not None, diags
    ctx = lint.LintContext(doc, environments(doc))
    sink = Sink("bench.edge")
    t = time.process_time()
    shared = LoweredOnce(doc)  # as edgec.pipeline lowers the envs
    for env in ctx.envs:
        edge, state = lower_with_usage(doc, env, sink, shared)
        ctx.edges[env], ctx.used_variables[env] = edge, state.used
    times["lower"] = time.process_time() - t
    t = time.process_time()
    lint.run(ctx, sink)
    times["rules"] = time.process_time() - t
    t = time.process_time()
    not_formatted(doc)
    times["fmt check"] = time.process_time() - t
    t = time.process_time()
    result = analyse(source, "bench.edge", all_envs=True)
    not_formatted(result.doc)
    times["lint (all)"] = time.process_time() - t
    errors = [d for d in result.diagnostics if d.severity == "error"]
    assert not errors, errors[:3]
    return times


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--sizes", default="100,1000,10000")
    ap.add_argument("--show-rules", action="store_true", help="time each lint rule at the largest size")
    ap.add_argument("--write", metavar="DIR", help="only write bench-N.edge files there (for hyperfine)")
    args = ap.parse_args(argv)
    if args.write:
        from pathlib import Path
        for n in (int(s) for s in args.sizes.split(",")):
            (Path(args.write) / f"bench-{n}.edge").write_text(generate(n))
        return 0
    from edgec.parse import parser
    parser()  # grammar load is start-up cost, measured with hyperfine instead
    print("| routes | lines | parse | lower (2 envs) | lint rules | fmt check | lint, all stages | per route |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for n in (int(s) for s in args.sizes.split(",")):
        source = generate(n)
        runs = [measure(source) for _ in range(args.runs)]
        med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
        cells = " | ".join(f"{med[k] * 1000:.0f} ms" for k in ("parse", "lower", "rules", "fmt check", "lint (all)"))
        print(f"| {n:,} | {source.count(chr(10)):,} | {cells} | {med['lint (all)'] / n * 1e6:.0f} µs |")
        sys.stdout.flush()
    if args.show_rules:
        show_rules(generate(int(args.sizes.split(",")[-1])))
    return 0


def show_rules(source: str) -> None:
    from edgec import lint
    from edgec.diagnostics import Sink
    from edgec.lower import environments, lower_with_usage
    from edgec.values import LoweredOnce
    from edgec.pipeline import parse_source
    doc, _ = parse_source(source, "bench.edge")
    ctx = lint.LintContext(doc, environments(doc))
    shared = LoweredOnce(doc)
    for env in ctx.envs:
        edge, state = lower_with_usage(doc, env, Sink("bench.edge"), shared)
        ctx.edges[env], ctx.used_variables[env] = edge, state.used
    from edgec.gcpause import paused
    print("\n| rule | time |\n|---|---:|")
    for cls in lint.all_rules():
        with paused():
            t = time.process_time()
            list(cls().check(ctx))
            took = time.process_time() - t
        print(f"| {cls.code} {cls.name} | {took * 1000:.1f} ms |")


if __name__ == "__main__":
    sys.exit(main())
