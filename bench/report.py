"""Medians of the interleaved runs in a results.jsonl → the Markdown table of bench/results.

usage: report.py RESULTS.jsonl [BASE]     the table, ratios to the BASE label (nginx)
       report.py --paired RESULTS.jsonl BASE   per label and concurrency, the median over the passes
                                           of each pass's ratio to BASE's run of that pass (runs
                                           whose lines carry "round" and "pass": bench/spring_pair.sh)
       report.py --hold LINE.json          one sentence on the held connections (bench/hold.py)"""
from __future__ import annotations

import json
import statistics
import sys


def hold(line: str) -> None:
    r = json.loads(line)
    print(f"{r['requests']:,} requests, {r['errors']} errors {r['first_errors'] or ''}, slowest answer "
          f"{r['slowest_ms']:.1f} ms, peak RSS {r['peak_rss_mib']:.1f} MiB.")


def paired(path: str, base_label: str) -> None:
    rows = [json.loads(line) for line in open(path) if line.strip()]
    base = {(r["round"], r["pass"], r["conns"]): r for r in rows if r["label"] == base_label}
    ratios: dict[tuple[str, int], list[tuple[float, float]]] = {}
    for r in rows:
        b = base.get((r["round"], r["pass"], r["conns"]))
        if r["label"] != base_label and b and b["rps"] and b["cpu_us_per_req"]:
            ratios.setdefault((r["label"], r["conns"]), []).append(
                (r["rps"] / b["rps"], r["cpu_us_per_req"] / b["cpu_us_per_req"]))
    print(f"| proxy (core 0) | conns | pairs | rps / {base_label}: median (min..max) | CPU / {base_label}: median (min..max) |")
    print("|---|---:|---:|---:|---:|")
    for (label, c), pairs in sorted(ratios.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        cells = []
        for values in ([p[0] for p in pairs], [p[1] for p in pairs]):
            cells.append(f"{statistics.median(values):.2f} ({min(values):.2f}..{max(values):.2f})")
        print(f"| {label} | {c} | {len(pairs)} | {cells[0]} | {cells[1]} |")


def main() -> None:
    if sys.argv[1] == "--hold":
        return hold(sys.argv[2])
    if sys.argv[1] == "--paired":
        return paired(sys.argv[2], sys.argv[3])
    rows = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
    base_label = sys.argv[2] if len(sys.argv) > 2 else "nginx"
    groups: dict[tuple[str, int], list[dict]] = {}
    for r in rows:
        groups.setdefault((r["label"], r["conns"]), []).append(r)

    def med(rs, key):
        return statistics.median(r[key] for r in rs)
    base = {c: med(rs, "rps") for (label, c), rs in groups.items() if label == base_label}
    base_cpu = {c: med(rs, "cpu_us_per_req") for (label, c), rs in groups.items() if label == base_label}
    base_p99 = {c: med(rs, "p99_ms") for (label, c), rs in groups.items() if label == base_label}
    plain_cpu = {c: med(rs, "cpu_us_per_req") for (label, c), rs in groups.items() if label == "runtime"}
    print("| proxy (core 0) | conns | reps | rps median (min..max) | p50 ms | p99 ms | CPU µs/req (user) "
          f"| errors | rps / {base_label} | CPU / {base_label} | p99 / {base_label} | CPU / plain runtime |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for (label, c), rs in sorted(groups.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        rps = med(rs, "rps")
        cpu = med(rs, "cpu_us_per_req")
        p99 = med(rs, "p99_ms")

        def ratio(x, table):
            return f"{x / table[c]:.2f}" if c in table and table[c] else "—"
        print(f"| {label} | {c} | {len(rs)} | {rps:,.0f} ({min(r['rps'] for r in rs):,.0f}..{max(r['rps'] for r in rs):,.0f}) "
              f"| {med(rs, 'p50_ms'):.2f} | {p99:.2f} | {cpu:.1f} ({med(rs, 'user_us_per_req'):.1f}) "
              f"| {sum(r['errors'] for r in rs)} | {ratio(rps, base)} | {ratio(cpu, base_cpu)} | {ratio(p99, base_p99)} "
              f"| {ratio(cpu, plain_cpu) if label != base_label else '—'} |")


if __name__ == "__main__":
    main()
