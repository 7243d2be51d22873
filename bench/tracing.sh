#!/usr/bin/env bash
# What tracing costs the runtime: bench/plain.edge against bench/traced.edge at 0 % (spans not
# recorded, traceparent made and passed on) and 100 % (a server and a client span per request,
# exported over OTLP/HTTP to a receiver that decodes them), wrk on loopback as bench/runtime.sh:
# the proxy alone on core 0, backend, collector and wrk on core 1; interleaved rounds, medians.
#
# usage: bench/tracing.sh [ROUNDS (3)] [SECONDS per run (5)]
# writes bench/results/tracing.md (the table, the machine, the command, the spans received).
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-3}
SECS=${2:-5}
# shellcheck source=bench/lib.sh
source bench/lib.sh

start_backend

# the collector: the tests' OTLP/HTTP receiver, counting the spans it decodes
taskset -c 1 python3 -c '
import signal, sys, time
from tests.support.otlp import OtlpReceiver
r = OtlpReceiver(18092).start()
signal.signal(signal.SIGTERM, lambda *_: (print(len(r.spans)), sys.exit(0)))
while True:
    time.sleep(1)
' > "$WORK/spans.txt" &
PIDS+=("$!")
COLLECTOR_PID=$!
wait_port 18092

start_proxy() {  # $1 scenario → PROXY_PID
  case "$1" in
    runtime) taskset -c 0 edgec run bench/plain.edge 2>"$WORK/runtime.log" & ;;
    runtime-traced-0) taskset -c 0 edgec run bench/traced.edge --env none 2>"$WORK/runtime.log" & ;;
    runtime-traced-100) taskset -c 0 edgec run bench/traced.edge --env all 2>"$WORK/runtime.log" & ;;
  esac
  proxy_started 18080 200
}

for round in $(seq "$ROUNDS"); do
  for scenario in runtime runtime-traced-0 runtime-traced-100; do
    start_proxy "$scenario"
    measure "$scenario" 200 2 >/dev/null  # warm-up: fills the upstream keep-alive pools
    measure "$scenario" 50 "$SECS" >> "$RESULTS"
    measure "$scenario" 200 "$SECS" >> "$RESULTS"
    stop_proxy "$scenario" 18080 200
    echo "round $round/$ROUNDS: $scenario done" >&2
  done
done
kill -TERM "$COLLECTOR_PID"
wait "$COLLECTOR_PID" 2>/dev/null || true

OUT=bench/results/tracing.md
{
  echo "# What tracing costs the runtime (bench/tracing.sh)"
  echo
  echo "Command: \`bench/tracing.sh $ROUNDS $SECS\` ($ROUNDS interleaved rounds; per round and scenario: a discarded"
  echo "2 s warm-up at c=200, then ${SECS} s at c=50 and ${SECS} s at c=200). Recorded $(date -u +%Y-%m-%dT%H:%MZ)."
  echo
  machine
  echo "Load average (1, 5, 15 min) when recorded: $(cut -d' ' -f1-3 /proc/loadavg): other work shared the machine."
  echo "Python $(python3 -c 'import sys; print(sys.version.split()[0])'), opentelemetry-sdk $(python3 -c 'from importlib.metadata import version; print(version("opentelemetry-sdk"))')."
  echo "Proxy on core 0; backend (nginx \`return 200\`), collector and wrk (-t1) on core 1. runtime: bench/plain.edge;"
  echo "runtime-traced-0 / -100: bench/traced.edge --env none / all. The CPU of the runtime includes the SDK's export"
  echo "thread. Spans the collector decoded over the whole run: $(cat "$WORK/spans.txt")."
  echo
  python3 bench/report.py "$RESULTS"
  echo
  raw_runs "$RESULTS"
} > "$OUT.tmp"
mv "$OUT.tmp" "$OUT"
echo "wrote $OUT" >&2
