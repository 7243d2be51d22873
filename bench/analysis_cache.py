"""The analysis kept between commands (edgec.analysiscache), end to end: CPU of each command as
/usr/bin/time reports it, with the cache off (EDGEC_NO_CACHE=1) and in each state it can be in,
rounds interleaved; and the wall time of `edgec lint` on a sample, interpreter start included.

    python bench/analysis_cache.py --dir /tmp/b --sizes 1000,10000 --rounds 3
    python bench/analysis_cache.py --small samples/shop.edge --runs 30

--edgec A/bin/edgec,B/bin/edgec compares two installs paired: each round runs every row with
one, then with the other, each with a cache directory of its own.

The cache directory is a TMPDIR of its own (--dir/tmp), so that other runs on the machine
neither fill nor empty it; its parser tables and kept code are made once before measuring.
"""
from __future__ import annotations

import argparse
import glob
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)


def cpu(argv: list[str], env: dict) -> float:
    """user + sys seconds of one command, as /usr/bin/time measures them."""
    out = env["TMPDIR"] + "/time.txt"
    subprocess.run(["/usr/bin/time", "-o", out, "-f", "%U %S", *argv], env=env, check=False,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    with open(out) as f:
        user, system = f.read().split()[-2:]
    return float(user) + float(system)


def clear(env: dict) -> None:
    for name in glob.glob(os.path.join(env["TMPDIR"], "edgec-*", "analysis-*")):
        os.remove(name)


def own_dirs(args, env: dict) -> dict[str, dict]:
    """Each edgec compared → its environment, with a cache directory of its own."""
    out = {}
    for n, exe in enumerate(args.edgec):
        tmp = env["TMPDIR"] if len(args.edgec) == 1 else os.path.join(args.dir, f"tmp{n}")
        os.makedirs(tmp, exist_ok=True)
        out[exe] = {**env, "TMPDIR": tmp}
    return out


def large(args, env: dict) -> None:
    from compile import generate
    envs = own_dirs(args, env)
    for size in args.sizes:
        path = os.path.join(args.dir, f"bench-{size}.edge")
        with open(path, "w") as f:
            f.write(generate(size))
        rows: dict[tuple[str, str], list[float]] = {}
        for exe, on in envs.items():
            cpu([exe, "lint", "-q", path], {**on, "EDGEC_NO_CACHE": "1"})  # the parser tables and kept code made
        for _ in range(args.rounds):
            for exe, on in envs.items():
                off = {**on, "EDGEC_NO_CACHE": "1"}
                lint = [exe, "lint", "-q", path]
                build = [exe, "build", path, "--env", "prod", "--target", "nginx", "-o",
                         os.path.join(args.dir, "out")]
                for label, argv, how in (
                        ("off: lint", lint, off), ("off: build", build, off),
                        ("clear", None, None),
                        ("cold: lint (fills)", lint, on), ("build after that lint", build, on),
                        ("lint again (reads)", lint, on), ("build again (reads)", build, on),
                        ("clear", None, None),
                        ("cold: build alone (fills)", build, on)):
                    if argv is None:
                        clear(on)
                        continue
                    rows.setdefault((exe, label), []).append(cpu(argv, how))
        print(f"\n{size} routes, CPU s (user+sys), rounds: {args.rounds}")
        for (exe, label), values in rows.items():
            print(f"  {exe if len(envs) > 1 else ''} {label:28} median {statistics.median(values):6.2f}   "
                  + " / ".join(f"{v:.2f}" for v in values))


def small(args, env: dict) -> None:
    import resource
    envs = own_dirs(args, env)
    labels = ("off", "miss (fills)", "hit (reads)")
    walls: dict[tuple[str, str], list[float]] = {}
    cpus: dict[tuple[str, str], list[float]] = {}
    for exe, on in envs.items():
        subprocess.run([exe, "lint", args.small], env=on, capture_output=True)
    for _ in range(args.runs):
        for exe, on in envs.items():
            for label in labels:
                if label == "miss (fills)":
                    clear(on)
                before = resource.getrusage(resource.RUSAGE_CHILDREN)
                start = time.perf_counter()
                subprocess.run([exe, "lint", args.small], env={**on, "EDGEC_NO_CACHE": "1"} if label == "off" else on,
                               capture_output=True)
                walls.setdefault((exe, label), []).append(time.perf_counter() - start)
                after = resource.getrusage(resource.RUSAGE_CHILDREN)
                cpus.setdefault((exe, label), []).append(
                    after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    print(f"edgec lint {args.small}: {args.runs} interleaved runs, ms")
    for (exe, label), values in walls.items():
        print(f"  {exe if len(envs) > 1 else ''} {label:14} wall median {statistics.median(values) * 1000:6.1f} "
              f"min {min(values) * 1000:6.1f}   CPU median {statistics.median(cpus[exe, label]) * 1000:6.1f} "
              f"min {min(cpus[exe, label]) * 1000:6.1f}")
    if len(envs) > 1:
        return
    off = {**env, "EDGEC_NO_CACHE": "1"}
    for label, how in (("off", off), ("hit (reads)", env)):
        totals, count = [], 0
        for _ in range(5):
            out = subprocess.run([sys.executable, "-X", "importtime", "-m", "edgec", "lint", args.small],
                                 env=how, capture_output=True, text=True)
            lines = [ln for ln in out.stderr.splitlines() if ln.startswith("import time:") and "|" in ln][1:]
            totals.append(sum(int(ln.split("|")[0].split(":")[1]) for ln in lines))
            count = len(lines)
        print(f"  -X importtime {label:12} {count} modules, median {statistics.median(totals) / 1000:.1f} ms "
              "self time over 5 runs")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", default="/tmp/edgec-bench-cache")
    ap.add_argument("--sizes", default="1000,10000", type=lambda s: [int(x) for x in s.split(",")])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--small", help="a small file: wall time of edgec lint instead")
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--edgec", default=["edgec"], type=lambda s: s.split(","),
                    help="the edgec executables to run (several: compared, paired)")
    args = ap.parse_args()
    os.makedirs(os.path.join(args.dir, "tmp"), exist_ok=True)
    env = {**os.environ, "TMPDIR": os.path.join(args.dir, "tmp")}
    env.pop("EDGEC_NO_CACHE", None)
    for chosen in ("EDGEC_CACHE_DIR", "XDG_CACHE_HOME"):  # they would put the cache elsewhere (edgec.usercache)
        env.pop(chosen, None)
    if args.small:
        small(args, env)
    else:
        large(args, env)
    return 0


if __name__ == "__main__":
    sys.exit(main())
