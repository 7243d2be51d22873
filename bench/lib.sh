# Shared by the proxy benchmarks (bench/runtime.sh, bench/spring.sh, bench/envoy.sh, bench/http2.sh): a scratch
# directory cleaned on exit, port waits, timing, the proxy under test's start and stop, the
# backend every proxy forwards to, and the parts of the recorded report they all have.
# shellcheck shell=bash
WORK=$(mktemp -d)
# shellcheck disable=SC2034  # read by the scripts that source this file
RESULTS="$WORK/results.jsonl"
# shellcheck disable=SC2034
PROXY_URL=http://127.0.0.1:18080/
PIDS=()

cleanup() {
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  if [ -f "$WORK/backend/nginx.pid" ]; then kill -QUIT "$(cat "$WORK/backend/nginx.pid")" 2>/dev/null || true; fi
  sleep 0.5
  rm -rf "$WORK"
}
trap cleanup EXIT

wait_port() {  # $1 port, $2 tries of 50 ms (default 100)
  for _ in $(seq "${2:-100}"); do
    if (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null; then return 0; fi
    sleep 0.05
  done
  echo "nothing listens on port $1" >&2
  return 1
}

wait_gone() {  # $1 port, $2 tries of 50 ms (default 100)
  for _ in $(seq "${2:-100}"); do
    if ! (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null; then return 0; fi
    sleep 0.05
  done
}

proxy_started() {  # right after `… &`: $1 port, $2 tries of 50 ms → PROXY_PID (stopped on exit)
  PROXY_PID=$!
  PIDS+=("$PROXY_PID")
  wait_port "$@"
}

stop_proxy() {  # $1 nginx|other, $2 port, $3 tries of 50 ms: nginx stops gracefully on QUIT, the others on TERM
  if [ "$1" = nginx ]; then kill -QUIT "$PROXY_PID"; else kill -TERM "$PROXY_PID"; fi
  wait "$PROXY_PID" 2>/dev/null || true
  wait_gone "$2" "${3:-100}"
}

machine() { echo "Machine: $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), $(uname -sr)."; }

raw_runs() {  # the measurements as recorded: the JSON-lines files given
  echo "Raw runs (JSON lines):"
  echo
  echo '```'
  cat "$@"
  echo '```'
}

measure() {  # scenario conns seconds [wrk args...]: one JSON line on stdout (bench/measure.py), from core 1
  if ! taskset -c 1 python3 bench/measure.py "$PROXY_PID" "$1" "$2" "$3" "$PROXY_URL" "${@:4}"; then
    echo "measurement failed: $1 c=$2" >&2
  fi
}

now() { date +%s.%N; }
since() { python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.2f}')" "$1" "$(now)"; }

# the backend: nginx answering "ok", one worker, on core 1, port 18091
start_backend() {
  mkdir -p "$WORK/backend/logs"
  cat > "$WORK/backend/nginx.conf" <<CONF
worker_processes 1;
pid $WORK/backend/nginx.pid;
error_log $WORK/backend/logs/error.log;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 1000000;
  server { listen 127.0.0.1:18091 backlog=4096; location / { return 200 "ok\n"; } }
}
CONF
  taskset -c 1 nginx -p "$WORK/backend" -c "$WORK/backend/nginx.conf"
  wait_port 18091
}

# nginx as the proxy under test: the config `edgec build --target nginx` makes of bench/plain.edge,
# with only worker_processes pinned to 1 so that every proxy is one process on one core
build_nginx_proxy() {
  edgec build bench/plain.edge --target nginx -o "$WORK/nginx" >/dev/null 2>&1
  sed -i 's/^worker_processes auto;/worker_processes 1;/' "$WORK/nginx/nginx.conf"
  nginx -t -q -p "$WORK/nginx" -c nginx.conf
}
