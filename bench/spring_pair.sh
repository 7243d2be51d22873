#!/usr/bin/env bash
# The Spring Cloud Gateway projects `edgec build --target spring` makes, against the one a person
# would write by hand (bench/spring_hand: same Boot and SCG versions, one RouteLocator with
# path("/**") and a direct uri(...)): wrk on loopback, the JVMs on core 0, backend (nginx
# `return 200`) and wrk on core 1.
#
# The runs of one host move by about 10 % from one minute to the next, as much as the gap being
# measured, so the apps are compared in pairs of runs made seconds apart: in each round every app
# is started (each on a port of its own, all on core 0: an app waiting for its turn costs the
# others nothing measurable), warmed up at c=200 until C2 has compiled its request path, and then
# measured PASSES times in turn, every other pass in reverse order (no app always runs first, and
# a drift of the machine's load during a pass cancels between passes). The result is, per app
# and concurrency, the median over every pass of the run's ratio to the hand-written app's run of
# that pass, beside the table of medians.
#
# usage: bench/spring_pair.sh [ROUNDS (3)] [SECONDS per run (5)] [JVM WARM-UP SECONDS (20)] [EDGE...]
#   no EDGE: bench/plain.edge, written to bench/results/spring_pair.md (about 5.5 minutes at 3 5 20)
#   EDGE...: each edge's project beside the hand-written app (the ablation of edgec's filters:
#            bench/plain.edge bench/spring_ablation/*.edge), to bench/results/spring_ablation.md
# CONNS="50 200" (the default) sets the concurrencies measured in each run; PASSES=2 (the
# default) the passes of each round.
# PROFILE=1: a Java Flight Recording of every app during its measured runs of the last round
#   (execution samples every millisecond), and where the time goes instead of the table: per
#   frame, the microseconds a request spends in it in the hand-written app and in each generated
#   one (bench/jfr_frames.py), to bench/results/spring_profile.md. One round is enough:
#   `PROFILE=1 CONNS=200 PASSES=1 bench/spring_pair.sh 1 15 30`.
# Needs a warm local Maven repository (tests/spring builds one); a rate-limited edge gets a
# redis-server on core 1.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-3}
SECS=${2:-5}
WARM=${3:-20}
EDGES=("${@:4}")
OUT=bench/results/spring_ablation.md
if [ ${#EDGES[@]} -eq 0 ]; then EDGES=(bench/plain.edge); OUT=bench/results/spring_pair.md; fi
CONNS=${CONNS:-50 200}
PASSES=${PASSES:-2}
PROFILE=${PROFILE:-}
if [ -n "$PROFILE" ]; then OUT=bench/results/spring_profile.md; fi
# shellcheck source=bench/lib.sh
source bench/lib.sh

start_backend

package() {  # $1 project directory → its jar's path on stdout
  if ! (cd "$1" && mvn -B -q -o package -DskipTests >"$WORK/mvn.log" 2>&1); then
    echo "mvn -o package failed in $1 (is the local repository warm? run tests/spring once):" >&2
    tail -30 "$WORK/mvn.log" >&2
    exit 1
  fi
  ls "$1"/target/*.jar
}

declare -A JARS
cp -r bench/spring_hand "$WORK/hand"
rm -rf "$WORK/hand/target"
JARS[hand]=$(package "$WORK/hand")
LABELS=(hand)
NEEDS_REDIS=
for edge in "${EDGES[@]}"; do
  label=$(basename "$edge" .edge)
  edgec build "$edge" --target spring -o "$WORK/$label" >/dev/null 2>&1
  JARS[$label]=$(package "$WORK/$label")
  LABELS+=("$label")
  if grep -q rate_limit "$edge"; then NEEDS_REDIS=1; fi
done
if [ -n "$NEEDS_REDIS" ]; then
  taskset -c 1 redis-server --port 18092 --save '' --appendonly no --daemonize no >"$WORK/redis.log" 2>&1 &
  PIDS+=("$!")
  wait_port 18092
fi
export EDGE_REDIS_HOST=127.0.0.1 EDGE_REDIS_PORT=18092
if [ -n "$PROFILE" ]; then  # the JDK's profiling settings, sampling every millisecond instead of every 10
  sed '/<event name="jdk.ExecutionSample">/,/<\/event>/s|<setting name="period"\([^>]*\)>[^<]*<|<setting name="period"\1>1 ms<|' \
    "$(dirname "$(dirname "$(readlink -f "$(command -v java)")")")/lib/jfr/profile.jfc" > "$WORK/sample.jfc"
fi

declare -A PID PORT
for round in $(seq "$ROUNDS"); do
  started=()
  for i in "${!LABELS[@]}"; do
    label=${LABELS[i]}
    PORT[$label]=$((18080 + i))
    taskset -c 0 java -jar "${JARS[$label]}" --server.port="${PORT[$label]}" >"$WORK/$label.log" 2>&1 &
    if ! proxy_started "${PORT[$label]}" 2400; then  # two minutes: a JVM on a busy core starts slowly
      echo "round $round/$ROUNDS: $label did not start, skipped; its log ends:" >&2
      tail -20 "$WORK/$label.log" >&2
      stop_proxy java "${PORT[$label]}" 200
      continue
    fi
    PID[$label]=$PROXY_PID
    until curl -fs -o /dev/null "http://127.0.0.1:${PORT[$label]}/"; do sleep 0.05; done
    started+=("$label")
  done
  for label in "${started[@]}"; do  # discarded: the JIT compiler's warm-up
    PROXY_PID=${PID[$label]} PROXY_URL=http://127.0.0.1:${PORT[$label]}/ measure "$label" 200 "$WARM" >/dev/null
    if [ -n "$PROFILE" ] && [ "$round" -eq "$ROUNDS" ]; then
      jcmd "${PID[$label]}" JFR.start name=bench settings="$WORK/sample.jfc" >/dev/null
    fi
  done
  for pass in $(seq "$PASSES"); do
    order=("${started[@]}")
    if [ $(((round + pass) % 2)) -eq 1 ]; then  # every other pass backwards
      order=()
      for ((i = ${#started[@]} - 1; i >= 0; i--)); do order+=("${started[i]}"); done
    fi
    for label in "${order[@]}"; do
      for conns in $CONNS; do
        PROXY_PID=${PID[$label]} PROXY_URL=http://127.0.0.1:${PORT[$label]}/ measure "$label" "$conns" "$SECS" |
          sed "s/}\$/, \"round\": $round, \"pass\": $pass}/" >> "$RESULTS"
      done
    done
  done
  for label in "${started[@]}"; do
    if [ -n "$PROFILE" ] && [ "$round" -eq "$ROUNDS" ]; then
      jcmd "${PID[$label]}" JFR.stop name=bench filename="$WORK/$label.jfr" >/dev/null
    fi
    PROXY_PID=${PID[$label]} stop_proxy java "${PORT[$label]}" 200
  done
  echo "round $round/$ROUNDS: ${started[*]} done" >&2
done

{
  echo "# Generated Spring Cloud Gateway projects vs a hand-written one (bench/spring_pair.sh)"
  echo
  echo "Command: \`${PROFILE:+PROFILE=1 }bench/spring_pair.sh $ROUNDS $SECS $WARM ${*:4}\` (CONNS=\"$CONNS\", PASSES=$PASSES; $ROUNDS rounds;"
  echo "in each, every app started, a discarded ${WARM} s warm-up of each at c=200, then $PASSES passes of ${SECS} s runs"
  echo "at each concurrency, the apps in turn, every other pass in reverse order). Recorded $(date -u +%Y-%m-%dT%H:%MZ)."
  echo
  machine
  echo "$(java -version 2>&1 | head -1), $(mvn -v 2>/dev/null | head -1 | sed 's/\x1b\[[0-9;]*m//g'),"
  echo "$(wrk --version 2>&1 | head -1 | cut -d' ' -f1-2). The JVMs on core 0 (each sees one CPU; one is under load at a time); backend (nginx"
  echo "\`return 200\`, 1 worker) and wrk (-t1) on core 1. \`hand\` is bench/spring_hand; every other row is the"
  echo "project \`edgec build EDGE --target spring\` makes of the edge of that name."
  echo
  echo "Ratios to the hand-written app: the median over the passes of each pass's ratio (runs seconds apart),"
  echo "the smallest and largest in brackets; then the medians of every run."
  echo
  python3 bench/report.py --paired "$RESULTS" hand
  echo
  python3 bench/report.py "$RESULTS" hand
  echo
  if [ -n "$PROFILE" ]; then
    cpu() { python3 -c 'import json, statistics, sys
print(statistics.median(r["cpu_us_per_req"] for r in map(json.loads, open(sys.argv[1])) if r["label"] == sys.argv[2]))' "$RESULTS" "$1"; }
    for label in "${LABELS[@]:1}"; do
      echo "Where a request's CPU goes, hand (A) against $label (B), over every measured run (\`bench/jfr_frames.py\`;"
      echo "a few hundred samples each: a row moves by a few µs between runs):"
      echo
      echo '```'
      # the generated code, SCG's filters, and the per-request timers and copies the generator avoids
      python3 bench/jfr_frames.py "$WORK/hand.jfr" "$(cpu hand)" "$WORK/$label.jfr" "$(cpu "$label")" --top 15 \
        edge. cloud.gateway.filter. IdleTimeoutHandler ReadTimeoutHandler FluxTimeout ServerHttpRequest.mutate \
        UUID SecureRandom | sed "s|$WORK/||g"
      echo '```'
      echo
    done
  fi
  raw_runs "$RESULTS"
} > "$OUT.tmp"
mv "$OUT.tmp" "$OUT"
echo "wrote $OUT" >&2
