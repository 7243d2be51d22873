"""One wrk measurement of a proxy process: requests/s, latency percentiles, errors, and the
CPU time the proxy (with its child processes) spent per request. Prints one JSON line.

usage: measure.py PID LABEL CONNS SECONDS URL [wrk args...]"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys

TICK = os.sysconf("SC_CLK_TCK")


def tree(pid: int) -> list[int]:
    kids: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
                kids.setdefault(ppid, []).append(int(entry))
            except OSError:
                pass
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(kids.get(p, []))
    return out


def cpu(pids: list[int]) -> tuple[float, float]:
    user = system = 0
    for p in pids:
        try:
            with open(f"/proc/{p}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            user += int(fields[11])
            system += int(fields[12])
        except OSError:
            pass
    return user / TICK, system / TICK


def seconds(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()
    return float(value) * {"us": 1e-6, "ms": 1e-3, "s": 1.0}[unit]


def main() -> None:
    pid, label, conns, duration, url, *extra = sys.argv[1:]
    pids = tree(int(pid))
    u0, s0 = cpu(pids)
    out = subprocess.run(["wrk", "-t1", f"-c{conns}", f"-d{duration}s", "--latency", *extra, url],
                         capture_output=True, text=True, check=True).stdout
    u1, s1 = cpu(pids)
    total = int(re.search(r"(\d+) requests in", out).group(1))
    lat = dict(re.findall(r"^\s+(50|99)%\s+(\S+)\s*$", out, re.M))
    errors = sum(int(x) for x in re.findall(r"(?:connect|read|write|timeout) (\d+)", out))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    print(json.dumps({
        "label": label, "conns": int(conns), "requests": total,
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "p50_ms": seconds(lat["50"]) * 1000, "p99_ms": seconds(lat["99"]) * 1000,
        "errors": errors + (int(non2xx.group(1)) if non2xx else 0),
        "cpu_us_per_req": (u1 - u0 + s1 - s0) / max(total, 1) * 1e6,
        "user_us_per_req": (u1 - u0) / max(total, 1) * 1e6,
    }), flush=True)


if __name__ == "__main__":
    main()
