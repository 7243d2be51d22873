#!/usr/bin/env bash
# HTTP/2 against HTTP/1.1 on one TLS listener (`listen https … { tls … http2 }`), in the runtime
# and in nginx running the config `edgec build --target nginx` makes of the same edge: h2load
# on loopback (the proxy alone on core 0, backend and h2load on core 1), interleaved rounds,
# medians. HTTP/2 with 1 and with 10 streams in flight per connection, HTTP/1.1 (h2load --h1).
#
# Requests/s and the proxy's CPU time per request (the figure a busy machine changes least).
#
# usage: bench/http2.sh [ROUNDS (3)] [SECONDS per run (5)]
# needs h2load (Debian: nghttp2-client) and openssl; writes bench/results/http2.md.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-3}
SECS=${2:-5}
command -v h2load >/dev/null || { echo "h2load is not installed (apt-get install nghttp2-client)" >&2; exit 1; }
# shellcheck source=bench/lib.sh
source bench/lib.sh

start_backend

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 -subj /CN=localhost \
  -keyout "$WORK/key.pem" -out "$WORK/cert.pem" 2>/dev/null
cat > "$WORK/h2.edge" <<EDGE
edge "bench-h2" {
  listen https 18443 {
    bind "127.0.0.1"
    tls cert "$WORK/cert.pem" key "$WORK/key.pem"
    http2
  }
  upstream app {
    server "127.0.0.1:18091"
    keepalive 256
  }
  route plain {
    match path prefix "/"
    forward app
  }
  access_log off
}
EDGE
edgec build "$WORK/h2.edge" --target nginx -o "$WORK/nginx" >/dev/null 2>&1
# one process on one core, as the runtime; and no connection recycling after nginx's default
# 1,000 requests (h2load, unlike wrk, does not reconnect: those requests would count as failed)
sed -i -e 's/^worker_processes auto;/worker_processes 1;/' -e 's/^http {$/http {\n  keepalive_requests 1000000;/' \
  "$WORK/nginx/nginx.conf"
nginx -t -q -p "$WORK/nginx" -c nginx.conf

start_proxy() {  # $1 nginx|runtime → PROXY_PID
  if [ "$1" = nginx ]; then
    taskset -c 0 nginx -p "$WORK/nginx" -c nginx.conf -g "daemon off;" &
  else
    taskset -c 0 edgec run "$WORK/h2.edge" 2>"$WORK/runtime.log" &
  fi
  proxy_started 18443
}

measure() {  # proxy mode → one JSON line (bench/measure_h2.py: requests/s, CPU per request)
  local args=(-c 10 -D "$SECS")
  case "$2" in
    h2-m1) args+=(-m 1) ;;
    h2-m10) args+=(-m 10) ;;
    h1) args+=(--h1) ;;
  esac
  python3 bench/measure_h2.py "$PROXY_PID" "$1" "$2" 1 "${args[@]}" https://127.0.0.1:18443/
}

for round in $(seq "$ROUNDS"); do
  for proxy in nginx runtime; do
    start_proxy "$proxy"
    for mode in h2-m1 h2-m10 h1; do
      measure "$proxy" "$mode" >> "$RESULTS"
    done
    stop_proxy "$proxy" 18443
    echo "round $round/$ROUNDS: $proxy done" >&2
  done
done

OUT=bench/results/http2.md
{
  echo "# HTTP/2 and HTTP/1.1 on one TLS listener (bench/http2.sh)"
  echo
  echo "Command: \`bench/http2.sh $ROUNDS $SECS\` ($ROUNDS interleaved rounds; per proxy and mode: h2load, 10 connections,"
  echo "1 s warm-up, then ${SECS} s; CPU per request of the proxy process and its children over those ${SECS} s). Recorded $(date -u +%Y-%m-%dT%H:%MZ)."
  echo
  machine
  echo "$(nginx -v 2>&1), $(h2load --version 2>&1 | head -1), Python $(python3 -c 'import sys; print(sys.version.split()[0])'),"
  echo "h2 $(python3 -c 'import importlib.metadata as m; print(m.version("h2"))'). Proxy on core 0; backend (nginx \`return 200\`) and h2load on core 1."
  echo "The proxy: \`$(edgec --version)\` (\`pip install .\` compiles the HTTP/1.1 request path; an editable install is pure Python)."
  echo "Modes: \`h2-m1\` HTTP/2 with 1 stream in flight per connection, \`h2-m10\` with 10, \`h1\` HTTP/1.1 (\`--h1\`)."
  echo
  python3 - "$RESULTS" <<'PY'
import json, statistics, sys
rows = [json.loads(line) for line in open(sys.argv[1])]
print("| proxy | mode | protocol | rps median (min..max) | failed | rps / nginx (same mode) "
      "| CPU µs/request median | CPU / nginx (same mode) |")
print("|---|---|---|---:|---:|---:|---:|---:|")
med, cpu = {}, {}
for proxy in ("nginx", "runtime"):
    for mode in ("h2-m1", "h2-m10", "h1"):
        rs = [r for r in rows if r["proxy"] == proxy and r["mode"] == mode]
        med[proxy, mode] = statistics.median(r["rps"] for r in rs)
        cpu[proxy, mode] = statistics.median(r["cpu_us_per_req"] for r in rs)
for proxy in ("nginx", "runtime"):
    for mode in ("h2-m1", "h2-m10", "h1"):
        rs = [r for r in rows if r["proxy"] == proxy and r["mode"] == mode]
        v = [r["rps"] for r in rs]
        ratio = med[proxy, mode] / med["nginx", mode] if med["nginx", mode] else 0
        cpu_ratio = cpu[proxy, mode] / cpu["nginx", mode] if cpu["nginx", mode] else 0
        print(f"| {proxy} | {mode} | {rs[0]['protocol']} | {med[proxy, mode]:,.0f} ({min(v):,.0f}..{max(v):,.0f}) "
              f"| {sum(r['failed'] for r in rs)} | {ratio:.2f} | {cpu[proxy, mode]:,.1f} | {cpu_ratio:.2f} |")
PY
  echo
  raw_runs "$RESULTS"
} > "$OUT.tmp"
mv "$OUT.tmp" "$OUT"
echo "wrote $OUT" >&2
