#!/usr/bin/env bash
# The Spring Cloud Gateway projects `edgec build --target spring` makes, against the one a person
# would write by hand (bench/spring_hand: same Boot and SCG versions, one RouteLocator with
# path("/**") and a direct uri(...)): wrk on loopback, the JVMs on core 0, backend (nginx
# `return 200`) and wrk on core 1.
#
# The runs of one host move by about 10 % from one minute to the next, as much as the gap being
# measured, so the apps are compared in pairs of runs made seconds apart: in each round every app
# is started (each on a port of its own, all on core 0: an app waiting for its turn costs the
# others nothing measurable once its JIT compiler is done), warmed up, and then measured PASSES
# times in turn, every other pass in reverse order (no app always runs first, and a drift of the
# machine's load during a pass cancels between passes). The result is, per app and concurrency,
# the median over every pass of the run's ratio to the hand-written app's run of that pass, beside
# the table of medians.
#
# The warm-up lasts until the JIT compilers are done, not a fixed time: a JVM's CPU time counts
# its compiler threads, and an app still compiling measures 40-60 % slower from one pass to the
# next (bench/results/spring_pair.md, 15:55 and 16:42 UTC). Each app gets slices of SLICE s at
# every concurrency measured, the apps in turn (every other slice in reverse order), until each
# has had WARM s of load and compiled fewer than SETTLED methods (jstat's count) in its last
# slice, or WARM_MAX s of load; the methods compiled during the measured passes are reported, and
# per run the CPU the JIT compiler threads took, with the pairs again without it (at 2 5 50 it is
# about 1 % of either app's: the warm-up is long enough for both).
#
# usage: bench/spring_pair.sh [ROUNDS (2)] [SECONDS per run (5)] [JVM WARM-UP SECONDS (50)] [EDGE...]
#   no EDGE: bench/plain.edge, written to bench/results/spring_pair.md (about 7 to 9 minutes at 2 5 50)
#   EDGE...: each edge's project beside the hand-written app (the ablation of edgec's filters:
#            bench/plain.edge bench/spring_ablation/*.edge), to bench/results/spring_ablation.md; an
#            EDGE that is a directory is a project made beforehand (`edgec build` of an older commit),
#            labelled by its name: the generated code before and after a change in the same run
# CONNS="50 200" (the default) sets the concurrencies measured in each run; PASSES=2 (the
# default) the passes of each round; SLICE=5, SETTLED=30 and WARM_MAX=80 (the defaults) the
# warm-up's slices, its end and its longest.
# PROFILE=1: a Java Flight Recording of every app during its measured runs of the last round
#   (execution samples every millisecond), and where the time goes instead of the table: per
#   frame, the microseconds a request spends in it in the hand-written app and in each generated
#   one (bench/jfr_frames.py), to bench/results/spring_profile.md. One round is enough:
#   `PROFILE=1 CONNS=200 PASSES=1 bench/spring_pair.sh 1 15`.
# Needs a warm local Maven repository (tests/spring builds one); a rate-limited edge gets a
# redis-server on core 1.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-2}
SECS=${2:-5}
WARM=${3:-50}
SLICE=${SLICE:-5}
SETTLED=${SETTLED:-30}
WARM_MAX=${WARM_MAX:-$((WARM > 80 ? WARM : 80))}
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
  if [ -d "$edge" ]; then  # a project made beforehand: an older edgec's, measured beside today's
    cp -r "$edge" "$WORK/$label"
    rm -rf "$WORK/$label/target"
    if grep -q data-redis "$edge/pom.xml"; then NEEDS_REDIS=1; fi
  else
    edgec build "$edge" --target spring -o "$WORK/$label" >/dev/null 2>&1
    if grep -q rate_limit "$edge"; then NEEDS_REDIS=1; fi
  fi
  JARS[$label]=$(package "$WORK/$label")
  LABELS+=("$label")
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

compiled() {  # $1 pid → the methods its JIT compilers have compiled so far (from core 1)
  taskset -c 1 jstat -compiler "$1" | awk 'NR == 2 {print $1}'
}

jit_cpu() {  # $1 pid → the CPU seconds its JIT compiler threads (C1, C2) have used so far
  cat /proc/"$1"/task/*/stat 2>/dev/null | awk -F') ' -v tick="$(getconf CLK_TCK)" \
    '$1 ~ /\(C[12] CompilerThre$/ {split($2, f, " "); t += f[12] + f[13]} END {printf "%.2f\n", t / tick}'
}

in_turn() {  # $1 slice or pass, then the labels: the labels, reversed when round + $1 is odd
  local n=$1 i
  shift
  if [ $(((round + n) % 2)) -eq 0 ]; then echo "$@"; return; fi
  for ((i = $#; i >= 1; i--)); do echo -n "${!i} "; done
  echo
}

warm_up() {  # every started app until its compilers are done (see the top): a line of $WARMED
  local -A before recent
  local label conns slice=0 load=0 settled
  for label in "${started[@]}"; do before[$label]=$(compiled "${PID[$label]}"); done
  while :; do
    slice=$((slice + 1))
    settled=1
    for label in $(in_turn "$slice" "${started[@]}"); do
      for conns in $CONNS; do  # wrk alone: nothing of it is kept
        taskset -c 1 wrk -t1 -c"$conns" -d"$SLICE"s "http://127.0.0.1:${PORT[$label]}/" >/dev/null
      done
      recent[$label]=$(compiled "${PID[$label]}")
      if [ $((recent[$label] - before[$label])) -ge "$SETTLED" ]; then settled=; fi
      before[$label]=${recent[$label]}
    done
    load=$((load + SLICE * $(echo "$CONNS" | wc -w)))
    if [ "$load" -ge "$WARM_MAX" ] || { [ "$load" -ge "$WARM" ] && [ -n "$settled" ]; }; then break; fi
  done
  for label in "${started[@]}"; do COMPILED[$label]=${recent[$label]}; done
  echo -n "| $round | $load |" >> "$WARMED"
}

WARMED=$WORK/warmed.md  # a table row per round: the warm-up's length, per app the methods compiled while measured
declare -A PID PORT COMPILED
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
  profiled=
  if [ -n "$PROFILE" ] && [ "$round" -eq "$ROUNDS" ]; then profiled=1; fi
  for label in "${started[@]}"; do
    # a JVM's first recording has it compile anew some thousands of methods (4,000-4,800 in the
    # measured runs when it started after the warm-up): it starts before, and is thrown away
    if [ -n "$profiled" ]; then jcmd "${PID[$label]}" JFR.start name=warm settings="$WORK/sample.jfc" >/dev/null; fi
  done
  warm_up  # discarded
  for label in "${started[@]}"; do
    if [ -n "$profiled" ]; then
      jcmd "${PID[$label]}" JFR.stop name=warm >/dev/null
      jcmd "${PID[$label]}" JFR.start name=bench settings="$WORK/sample.jfc" >/dev/null
    fi
  done
  for pass in $(seq "$PASSES"); do
    for label in $(in_turn "$pass" "${started[@]}"); do
      for conns in $CONNS; do
        jit=$(jit_cpu "${PID[$label]}")
        run=$(PROXY_PID=${PID[$label]} PROXY_URL=http://127.0.0.1:${PORT[$label]}/ measure "$label" "$conns" "$SECS")
        if [ -z "$run" ]; then continue; fi
        python3 -c 'import json, sys  # the run, its round and pass, and the CPU its JIT compilers took
r = json.loads(sys.argv[1])
r.update({"round": int(sys.argv[2]), "pass": int(sys.argv[3]),
          "jit_us_per_req": (float(sys.argv[5]) - float(sys.argv[4])) / max(r["requests"], 1) * 1e6})
print(json.dumps(r))' "$run" "$round" "$pass" "$jit" "$(jit_cpu "${PID[$label]}")" >> "$RESULTS"
      done
    done
  done
  while_measured=()
  for label in "${started[@]}"; do
    while_measured+=("$label $(($(compiled "${PID[$label]}") - COMPILED[$label]))")
  done
  (IFS=,; echo " ${while_measured[*]} |" | sed 's/,/, /g') >> "$WARMED"
  for label in "${started[@]}"; do
    if [ -n "$profiled" ]; then
      jcmd "${PID[$label]}" JFR.stop name=bench filename="$WORK/$label.jfr" >/dev/null
    fi
    PROXY_PID=${PID[$label]} stop_proxy java "${PORT[$label]}" 200
  done
  echo "round $round/$ROUNDS: ${started[*]} done" >&2
done

{
  echo "# Generated Spring Cloud Gateway projects vs a hand-written one (bench/spring_pair.sh)"
  echo
  echo "Command: \`${PROFILE:+PROFILE=1 }bench/spring_pair.sh $ROUNDS $SECS $WARM ${*:4}\` (CONNS=\"$CONNS\", PASSES=$PASSES,"
  echo "SLICE=$SLICE, SETTLED=$SETTLED, WARM_MAX=$WARM_MAX; $ROUNDS rounds; in each, every app started, a discarded"
  echo "warm-up of ${SLICE} s slices at each concurrency, the apps in turn, until each had ${WARM} s of load and compiled"
  echo "fewer than $SETTLED methods in its last slice (at most ${WARM_MAX} s), then $PASSES passes of ${SECS} s runs at each"
  echo "concurrency, the apps in turn, every other pass in reverse order). Recorded $(date -u +%Y-%m-%dT%H:%MZ),"
  echo "load average $(cut -d' ' -f1-3 /proc/loadavg) at the end."
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
  echo "The CPU the JIT compiler threads (C1, C2) took during each run, µs per request (median, min..max),"
  echo "and the pairs again with it left out: what the apps' own code costs once compiled:"
  echo
  python3 -c 'import json, statistics, sys
runs = [json.loads(line) for line in open(sys.argv[1])]
for key in sorted({(r["conns"], r["label"]) for r in runs}):
    jit = [r["jit_us_per_req"] for r in runs if (r["conns"], r["label"]) == key]
    print(f"- {key[1]} c={key[0]}: {statistics.median(jit):.1f} ({min(jit):.1f}..{max(jit):.1f})")
with open(sys.argv[2], "w") as out:
    for r in runs:
        r["cpu_us_per_req"] -= r["jit_us_per_req"]
        out.write(json.dumps(r) + "\n")' "$RESULTS" "$WORK/compiled_code.jsonl"
  echo
  python3 bench/report.py --paired "$WORK/compiled_code.jsonl" hand
  echo
  echo "The warm-up of each round (seconds of load per app), and the methods each app's JIT compilers"
  echo "compiled during its measured runs (jstat; a settled app compiles a few dozen now and then):"
  echo
  echo "| round | warm-up s | methods compiled while measured |"
  echo "|---:|---:|---|"
  cat "$WARMED"
  echo
  if [ -n "$PROFILE" ]; then
    # the CPU of the threads sampled: the JIT compilers' is not in the recording's execution samples
    cpu() { python3 -c 'import json, statistics, sys
print(statistics.median(r["cpu_us_per_req"] for r in map(json.loads, open(sys.argv[1])) if r["label"] == sys.argv[2]))' \
      "$WORK/compiled_code.jsonl" "$1"; }
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
