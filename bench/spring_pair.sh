#!/usr/bin/env bash
# The Spring Cloud Gateway projects `edgec build --target spring` makes, against the one a person
# would write by hand (bench/spring_hand: same Boot and SCG versions, one RouteLocator with
# path("/**") and a direct uri(...)): wrk on loopback, each JVM alone on core 0, backend (nginx
# `return 200`) and wrk on core 1; the apps take turns in every round (the first one alternates),
# medians, ratios to the hand-written app.
#
# usage: bench/spring_pair.sh [ROUNDS (3)] [SECONDS per run (5)] [JVM WARM-UP SECONDS (15)] [EDGE...]
#   no EDGE: bench/plain.edge, written to bench/results/spring_pair.md (about 3.5 minutes at 3 5 15)
#   EDGE...: each edge's project beside the hand-written app (the ablation of edgec's filters:
#            bench/plain.edge bench/spring_ablation/*.edge), to bench/results/spring_ablation.md
# CONNS="50 200" (the default) sets the concurrencies measured in each run.
# PROFILE=1: a Java Flight Recording of every app during its measured runs (execution samples every
#   millisecond), and where the time goes instead of the table: per frame, the microseconds a
#   request spends in it in the hand-written app and in each generated one (bench/jfr_frames.py),
#   to bench/results/spring_profile.md. One round is enough: `PROFILE=1 CONNS=200 bench/spring_pair.sh 1 15 30`.
# Needs a warm local Maven repository (tests/spring builds one); a rate-limited edge gets a
# redis-server on core 1.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-3}
SECS=${2:-5}
WARM=${3:-15}
EDGES=("${@:4}")
OUT=bench/results/spring_ablation.md
if [ ${#EDGES[@]} -eq 0 ]; then EDGES=(bench/plain.edge); OUT=bench/results/spring_pair.md; fi
CONNS=${CONNS:-50 200}
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

for round in $(seq "$ROUNDS"); do
  order=("${LABELS[@]}")
  if [ $((round % 2)) -eq 0 ]; then  # every other round backwards: no app always runs first
    order=()
    for ((i = ${#LABELS[@]} - 1; i >= 0; i--)); do order+=("${LABELS[i]}"); done
  fi
  for label in "${order[@]}"; do
    taskset -c 0 java -jar "${JARS[$label]}" >"$WORK/$label.log" 2>&1 &
    if ! proxy_started 18080 2400; then  # two minutes: a JVM on a busy core starts slowly
      echo "round $round/$ROUNDS: $label did not start, skipped; its log ends:" >&2
      tail -20 "$WORK/$label.log" >&2
      stop_proxy java 18080 200
      continue
    fi
    until curl -fs -o /dev/null "$PROXY_URL"; do sleep 0.05; done
    measure "$label" 200 "$WARM" >/dev/null  # discarded: the JIT compiler's warm-up
    if [ -n "$PROFILE" ]; then jcmd "$PROXY_PID" JFR.start name=bench settings="$WORK/sample.jfc" >/dev/null; fi
    for conns in $CONNS; do measure "$label" "$conns" "$SECS" >> "$RESULTS"; done
    if [ -n "$PROFILE" ]; then jcmd "$PROXY_PID" JFR.stop name=bench filename="$WORK/$label.jfr" >/dev/null; fi
    stop_proxy java 18080 200
    echo "round $round/$ROUNDS: $label done" >&2
  done
done

{
  echo "# Generated Spring Cloud Gateway projects vs a hand-written one (bench/spring_pair.sh)"
  echo
  echo "Command: \`${PROFILE:+PROFILE=1 }bench/spring_pair.sh $ROUNDS $SECS $WARM ${*:4}\` (CONNS=\"$CONNS\"; $ROUNDS rounds, the apps in turn,"
  echo "every other round in reverse order; per app and round: a discarded ${WARM} s warm-up at c=200, then ${SECS} s"
  echo "at each concurrency). Recorded $(date -u +%Y-%m-%dT%H:%MZ)."
  echo
  machine
  echo "$(java -version 2>&1 | head -1), $(mvn -v 2>/dev/null | head -1 | sed 's/\x1b\[[0-9;]*m//g'),"
  echo "$(wrk --version 2>&1 | head -1 | cut -d' ' -f1-2). Each JVM on core 0 (it sees one CPU); backend (nginx"
  echo "\`return 200\`, 1 worker) and wrk (-t1) on core 1. \`hand\` is bench/spring_hand; every other row is the"
  echo "project \`edgec build EDGE --target spring\` makes of the edge of that name."
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
