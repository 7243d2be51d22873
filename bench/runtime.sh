#!/usr/bin/env bash
# The runtime against nginx running the config `edgec build --target nginx` makes of the
# same edge (bench/plain.edge), as in shared/reference/perf.md: wrk on loopback, the proxy
# alone on core 0, backend (nginx `return 200`) and wrk on core 1; interleaved rounds, medians.
# Then the policy route (bench/policies.edge: rate limit + header op + JWT) in the runtime,
# and 1,000 connections held open for 30 s against the runtime (errors, peak RSS).
#
# usage: bench/runtime.sh [ROUNDS (5)] [SECONDS per run (5)] [HOLD SECONDS (30)]
# writes bench/results/runtime.md (the table, the machine, the command).
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-5}
SECS=${2:-5}
HOLD=${3:-30}
# shellcheck source=bench/lib.sh
source bench/lib.sh

start_backend

build_nginx_proxy

# ---- a token for the policy route ----------------------------------------------------------------
export BENCH_JWT_SECRET=bench-secret-bench-secret-bench-secret
TOKEN=$(python3 -c 'import jwt, os, time; print(jwt.encode({"iss": "https://issuer.bench/", "aud": "bench", "sub": "client-1", "exp": int(time.time()) + 7200}, os.environ["BENCH_JWT_SECRET"], algorithm="HS256"))')

start_proxy() {  # $1 scenario → PROXY_PID
  case "$1" in
    nginx)
      taskset -c 0 nginx -p "$WORK/nginx" -c nginx.conf -g "daemon off;" &
      ;;
    runtime)
      taskset -c 0 edgec run bench/plain.edge 2>"$WORK/runtime.log" &
      ;;
    runtime-policies)
      taskset -c 0 edgec run bench/policies.edge 2>"$WORK/runtime.log" &
      ;;
  esac
  proxy_started 18080
}

measure() {  # scenario conns seconds; a failed run is reported with the proxy's log, and skipped
  local auth=()
  if [ "$1" = runtime-policies ]; then auth=(-H "Authorization: Bearer $TOKEN"); fi
  if ! taskset -c 1 python3 bench/measure.py "$PROXY_PID" "$1" "$2" "$3" "$PROXY_URL" "${auth[@]}"; then
    echo "measurement failed: $1 c=$2; proxy log:" >&2
    tail -20 "$WORK/runtime.log" >&2 || true
  fi
}

for round in $(seq "$ROUNDS"); do
  for scenario in nginx runtime runtime-policies; do
    start_proxy "$scenario"
    measure "$scenario" 200 2 >/dev/null  # warm-up: fills the upstream keep-alive pools
    measure "$scenario" 50 "$SECS" >> "$RESULTS"
    measure "$scenario" 200 "$SECS" >> "$RESULTS"
    stop_proxy "$scenario" 18080
    echo "round $round/$ROUNDS: $scenario done" >&2
  done
done

# ---- 1,000 connections held for HOLD seconds, one request per connection per second ---------------
start_proxy runtime
taskset -c 1 python3 bench/hold.py "$PROXY_PID" 127.0.0.1 18080 1000 "$HOLD" > "$WORK/hold.jsonl"
stop_proxy runtime 18080

OUT=bench/results/runtime.md
{
  echo "# Runtime vs nginx (bench/runtime.sh)"
  echo
  echo "Command: \`bench/runtime.sh $ROUNDS $SECS $HOLD\` ($ROUNDS interleaved rounds; per round and proxy: a discarded"
  echo "2 s warm-up at c=200, then ${SECS} s at c=50 and ${SECS} s at c=200). Recorded $(date -u +%Y-%m-%dT%H:%MZ)."
  echo
  machine
  echo "$(nginx -v 2>&1), $(wrk --version 2>&1 | head -1 | cut -d' ' -f1-2), Python $(python3 -c 'import sys; print(sys.version.split()[0])'),"
  echo "uvloop $(python3 -c 'import uvloop; print(uvloop.__version__)'), httptools $(python3 -c 'import httptools; print(httptools.__version__)')."
  echo "The proxy: \`$(edgec --version)\` (\`pip install .\` compiles the HTTP/1.1 request path; an editable install is pure Python)."
  echo "Proxy on core 0; backend (nginx \`return 200\`, 1 worker) and wrk (-t1) on core 1. nginx runs the config"
  echo "\`edgec build bench/plain.edge --target nginx\` generates, with worker_processes set to 1."
  echo "CPU µs/req: utime+stime of the proxy process (and children) over requests completed."
  echo
  python3 bench/report.py "$RESULTS"
  echo
  echo "1,000 keep-alive connections held for ${HOLD} s against the runtime (plain edge), each sending one GET"
  echo "per second (bench/hold.py):"
  python3 bench/report.py --hold "$(cat "$WORK/hold.jsonl")"
  echo
  raw_runs "$RESULTS" "$WORK/hold.jsonl"
} > "$OUT.tmp"
mv "$OUT.tmp" "$OUT"
echo "wrote $OUT" >&2
