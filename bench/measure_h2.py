"""One h2load measurement of a proxy process: requests/s, failures, the protocol chosen, and the
CPU time the proxy (with its child processes) spent per request in the measured period (after
the warm-up), which a busy machine changes less than requests/s. Prints one JSON line.

usage: measure_h2.py PID PROXY MODE WARMUP_SECONDS h2load-args..."""
from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from measure import cpu, tree  # noqa: E402


def main() -> None:
    pid, proxy, mode, warmup, *args = sys.argv[1:]
    pids = tree(int(pid))
    h2load = subprocess.Popen(["taskset", "-c", "1", "h2load", f"--warm-up-time={warmup}", *args],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    time.sleep(float(warmup))
    u0, s0 = cpu(pids)
    text = h2load.communicate()[0]
    u1, s1 = cpu(pids)
    rps = re.search(r"finished in [\d.]+s, ([\d.]+) req/s", text)
    done = re.search(r"requests: (\d+) total, \d+ started, (\d+) done, (\d+) succeeded, (\d+) failed", text)
    proto = re.search(r"Application protocol: (\S+)", text)
    succeeded = int(done.group(3)) if done else 0
    print(json.dumps({"proxy": proxy, "mode": mode, "rps": float(rps.group(1)) if rps else 0.0,
                      "succeeded": succeeded, "failed": int(done.group(4)) if done else -1,
                      "protocol": proto.group(1) if proto else None,
                      "cpu_us_per_req": round((u1 - u0 + s1 - s0) / max(succeeded, 1) * 1e6, 1)}), flush=True)


if __name__ == "__main__":
    main()
