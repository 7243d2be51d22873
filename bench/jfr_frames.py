"""Where two Java Flight Recordings of proxies under the same load spend their CPU, frame by frame.

A frame's share of a recording's execution samples times that proxy's CPU per request gives the
microseconds a request spends in it, so two proxies that serve requests at different speeds
compare per request. Lambda classes are named by the class that defines them.

usage: jfr_frames.py A.jfr CPU_US_A B.jfr CPU_US_B [--top N] [--callers FRAME] [PATTERN...]
  the N frames (default 40) whose own time (the frame at the top of the stack) differs most;
  with PATTERNs, then every frame whose name contains one of them with its time including
  what it calls, costliest first; with --callers, the commonest paths of each recording to the
  first frame whose name contains FRAME (who calls a frame that has no business on the path)"""
from __future__ import annotations

import collections
import json
import subprocess
import sys


def stacks(path: str) -> list[list[str]]:
    out = subprocess.run(["jfr", "print", "--json", "--stack-depth", "128", "--events", "jdk.ExecutionSample", path],
                         capture_output=True, text=True, check=True).stdout
    return [[f["method"]["type"]["name"].split("$$Lambda")[0].replace("/", ".") + "." + f["method"]["name"]
             for f in (e["values"]["stackTrace"] or {}).get("frames", [])]
            for e in json.loads(out)["recording"]["events"]]


def per_request(samples: list[list[str]], cpu_us: float) -> tuple[dict[str, float], dict[str, float], int]:
    """(own µs per request, µs per request including callees) by frame, and the sample count."""
    own: collections.Counter = collections.Counter(frames[0] for frames in samples if frames)
    anywhere: collections.Counter = collections.Counter()
    for frames in samples:
        anywhere.update(set(frames))
    scale = cpu_us / max(len(samples), 1)
    return ({f: n * scale for f, n in own.items()}, {f: n * scale for f, n in anywhere.items()}, len(samples))


def table(title: str, a: dict[str, float], b: dict[str, float], frames: list[str]) -> None:
    print(f"{'A µs/req':>9} {'B µs/req':>9} {'B − A':>8}  {title}")
    for f in frames:
        x, y = a.get(f, 0.0), b.get(f, 0.0)
        print(f"{x:9.1f} {y:9.1f} {y - x:+8.1f}  {f}")


def callers(samples: list[list[str]], cpu_us: float, frame: str, depth: int = 8, paths: int = 3) -> None:
    """The commonest `paths` stacks down to the first frame naming `frame`, `depth` frames each."""
    below = collections.Counter()
    for frames in samples:
        hit = next((i for i, f in enumerate(frames) if frame in f), None)
        if hit is not None:
            below[tuple(frames[hit:hit + depth])] += 1
    scale = cpu_us / max(len(samples), 1)
    for path, n in below.most_common(paths):
        print(f"{n * scale:9.1f} µs/req ({n} samples)")
        for f in path:
            print(f"            {f}")


def main() -> None:
    args = sys.argv[1:]
    top = 40
    if "--top" in args:
        i = args.index("--top")
        top = int(args[i + 1])
        del args[i:i + 2]
    caller = None
    if "--callers" in args:
        i = args.index("--callers")
        caller = args[i + 1]
        del args[i:i + 2]
    (a, cpu_a, b, cpu_b), patterns = args[:4], args[4:]
    samples_a, samples_b = stacks(a), stacks(b)
    own_a, all_a, n_a = per_request(samples_a, float(cpu_a))
    own_b, all_b, n_b = per_request(samples_b, float(cpu_b))
    print(f"A: {a} ({n_a} samples), B: {b} ({n_b} samples)")
    print()
    table("frame, its own time", own_a, own_b,
          sorted(set(own_a) | set(own_b), key=lambda f: -abs(own_b.get(f, 0) - own_a.get(f, 0)))[:top])
    if patterns:
        print()
        table("frame, with what it calls", all_a, all_b,
              sorted((f for f in set(all_a) | set(all_b) if any(p in f for p in patterns)),
                     key=lambda f: -max(all_a.get(f, 0), all_b.get(f, 0))))
    if caller:
        for name, samples, cpu in ((a, samples_a, cpu_a), (b, samples_b, cpu_b)):
            print()
            print(f"{name}: the commonest paths to {caller}")
            callers(samples, float(cpu), caller)


if __name__ == "__main__":
    main()
