#!/usr/bin/env bash
# The Spring Cloud Gateway that `edgec build --target spring` makes of bench/plain.edge, against
# nginx (the generated config) and the runtime on the same edge: wrk on loopback, the proxy alone
# on core 0, backend (nginx `return 200`) and wrk on core 1; interleaved rounds, medians (the
# method of bench/runtime.sh, with its measure.py and report.py). Also: the time to emit the
# project, to `mvn -o package` it with a warm local repository, and to start it.
#
# usage: bench/spring.sh [ROUNDS (3)] [SECONDS per run (5)] [JVM WARM-UP SECONDS (15)]
# writes bench/results/spring.md (the tables, the machine, the command).
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-3}
SECS=${2:-5}
WARM=${3:-15}
# shellcheck source=bench/lib.sh
source bench/lib.sh

start_backend

# ---- the projects ----------------------------------------------------------------------------------
build_nginx_proxy

T=$(now)
edgec build bench/plain.edge --target spring -o "$WORK/spring" >/dev/null 2>&1
EMIT_S=$(since "$T")
T=$(now)
(cd "$WORK/spring" && mvn -B -q -o package -DskipTests >"$WORK/mvn.log" 2>&1) || {
  echo "mvn -o package failed (is the local repository warm? run tests/spring once):" >&2
  tail -30 "$WORK/mvn.log" >&2
  exit 1
}
PACKAGE_S=$(since "$T")
JAR=$(ls "$WORK"/spring/target/*.jar)
START_TIMES=()

start_proxy() {  # $1 scenario → PROXY_PID
  local t
  t=$(now)
  case "$1" in
    nginx) taskset -c 0 nginx -p "$WORK/nginx" -c nginx.conf -g "daemon off;" & ;;
    runtime) taskset -c 0 edgec run bench/plain.edge 2>"$WORK/runtime.log" & ;;
    spring) taskset -c 0 java -jar "$JAR" >"$WORK/spring.log" 2>&1 & ;;
  esac
  proxy_started 18080 1200
  if [ "$1" = spring ]; then
    until curl -fs -o /dev/null "$PROXY_URL"; do sleep 0.05; done
    START_TIMES+=("$(since "$t")")
  fi
}

for round in $(seq "$ROUNDS"); do
  for scenario in nginx runtime spring; do
    start_proxy "$scenario"
    # warm-up, discarded: keep-alive pools, and for the JVM the JIT compiler
    measure "$scenario" 200 "$([ "$scenario" = spring ] && echo "$WARM" || echo 2)" >/dev/null
    measure "$scenario" 50 "$SECS" >> "$RESULTS"
    measure "$scenario" 200 "$SECS" >> "$RESULTS"
    stop_proxy "$scenario" 18080 200
    echo "round $round/$ROUNDS: $scenario done" >&2
  done
done

OUT=bench/results/spring.md
{
  echo "# Spring Cloud Gateway vs nginx and the runtime (bench/spring.sh)"
  echo
  echo "Command: \`bench/spring.sh $ROUNDS $SECS $WARM\` ($ROUNDS interleaved rounds; per round and proxy: a discarded"
  echo "warm-up at c=200 (${WARM} s for the JVM, 2 s for the others), then ${SECS} s at c=50 and ${SECS} s at c=200)."
  echo "Recorded $(date -u +%Y-%m-%dT%H:%MZ)."
  echo
  machine
  echo "$(java -version 2>&1 | head -1), $(mvn -v 2>/dev/null | head -1 | sed 's/\x1b\[[0-9;]*m//g'), $(nginx -v 2>&1),"
  echo "$(wrk --version 2>&1 | head -1 | cut -d' ' -f1-2), Python $(python3 -c 'import sys; print(sys.version.split()[0])')."
  echo "Every proxy on core 0 (the JVM with default flags sees one CPU); backend (nginx \`return 200\`, 1 worker)"
  echo "and wrk (-t1) on core 1. The edge: bench/plain.edge (one prefix route, one upstream)."
  echo
  echo "| step | seconds |"
  echo "|---|---:|"
  echo "| \`edgec build bench/plain.edge --target spring\` (emit the project) | $EMIT_S |"
  echo "| \`mvn -B -q -o package -DskipTests\` (warm local repository) | $PACKAGE_S |"
  echo "| \`java -jar\` to the first proxied 200, per round | ${START_TIMES[*]} |"
  echo
  python3 bench/report.py "$RESULTS"
  echo
  raw_runs "$RESULTS"
} > "$OUT.tmp"
mv "$OUT.tmp" "$OUT"
echo "wrote $OUT" >&2
