#!/usr/bin/env bash
# Spring projects with many routes compile: edgec builds an edge of N prefix routes for the
# spring target and `mvn -o package` compiles it (a warm local repository: run tests/spring
# once). One fluent chain of about 1,000 routes overflowed javac's stack; the routes are now
# added by nested classes of 250 each (a class also
# holds at most 65,535 constants, which 10,000 routes in one class exceed).
#
# usage: bench/spring_routes.sh [N ...] (default: 1000 10000)
# writes bench/results/spring_routes.md (times, the machine, the command).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$#" -gt 0 ]; then COUNTS=("$@"); else COUNTS=(1000 10000); fi
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
now() { date +%s.%N; }
since() { python3 -c "import sys, time; print(f'{time.time() - float(sys.argv[1]):.1f}')" "$1"; }

ROWS=()
for n in "${COUNTS[@]}"; do
  python3 - "$n" >"$WORK/routes-$n.edge" <<'PY'
import sys
n = int(sys.argv[1])
print('edge "many" {\n  listen http 8080\n\n  upstream app {\n    server "127.0.0.1:9001"\n  }')
for i in range(n):
    print(f'\n  route r{i} {{\n    match path prefix "/svc/{i}"\n    strip_prefix "/svc"\n    forward app\n  }}')
print("}")
PY
  T=$(now)
  edgec build "$WORK/routes-$n.edge" --target spring -o "$WORK/spring-$n" >/dev/null 2>&1
  EMIT_S=$(since "$T")
  T=$(now)
  if (cd "$WORK/spring-$n" && mvn -B -q -o package -DskipTests >"$WORK/mvn-$n.log" 2>&1); then
    RESULT="compiles"
  else
    RESULT="fails: $(grep -m1 -E 'StackOverflowError|too large|too many|error:' "$WORK/mvn-$n.log" | cut -c1-160)"
    cp "$WORK/mvn-$n.log" "bench/results/spring_routes-$n.log"
  fi
  PACKAGE_S=$(since "$T")
  CLASSES=$(grep -c "static final class Routes" "$WORK"/spring-"$n"/src/main/java/edge/*/EdgeRoutes.java)
  ROWS+=("| $n | $CLASSES | $EMIT_S | $PACKAGE_S | $RESULT |")
  echo "$n routes: emit ${EMIT_S}s, mvn package ${PACKAGE_S}s, $RESULT" >&2
done

{
  echo "# Spring projects with many routes"
  echo
  echo "Command: \`bench/spring_routes.sh ${COUNTS[*]}\` ($(date -u +%Y-%m-%d), $(nproc) cores, $(java -version 2>&1 | head -1))."
  echo "An edge of N prefix routes (strip_prefix, one upstream) built for the spring target, then"
  echo "\`mvn -B -q -o package -DskipTests\` with a warm local repository."
  echo
  echo "| routes | route classes | edgec build (s) | mvn package (s) | result |"
  echo "|---:|---:|---:|---:|---|"
  printf '%s\n' "${ROWS[@]}"
} >bench/results/spring_routes.md
cat bench/results/spring_routes.md
