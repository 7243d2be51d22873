#!/usr/bin/env bash
# A JWT-protected route (token check, claim-keyed rate limit, header op, forward) in nginx with
# njs (the config `edgec build --target nginx` makes) beside the runtime, in the same run: HS256
# (bench/policies.edge) and RS256 with a JWKS on loopback (bench/jwt-rs256.edge). wrk on
# loopback, the proxy alone on core 0, backend and wrk on core 1; interleaved rounds, medians.
#
# usage: bench/jwt.sh [ROUNDS (3)] [SECONDS per run (5)]
# writes bench/results/jwt.md (the tables, the machine, the command).
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-3}
SECS=${2:-5}
# shellcheck source=bench/lib.sh
source bench/lib.sh

start_backend
chmod 755 "$WORK"  # nginx's workers (nobody) write the JWKS cache under it

# ---- keys, the JWKS (served on 18092), a token for each route -------------------------------------
export BENCH_JWT_SECRET=bench-secret-bench-secret-bench-secret
mkdir -p "$WORK/jwks"
python3 - "$WORK" <<'PY'
import json, os, sys, time
import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
work = sys.argv[1]
key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
jwk = dict(json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key())), kid="b1", alg="RS256")
open(f"{work}/jwks/jwks.json", "w").write(json.dumps({"keys": [jwk]}))
claims = {"iss": "https://issuer.bench/", "aud": "bench", "sub": "client-1", "exp": int(time.time()) + 7200}
open(f"{work}/token-hs256", "w").write(jwt.encode(claims, os.environ["BENCH_JWT_SECRET"], algorithm="HS256"))
open(f"{work}/token-rs256", "w").write(jwt.encode(claims, key, algorithm="RS256", headers={"kid": "b1"}))
PY
taskset -c 1 python3 -m http.server 18092 --bind 127.0.0.1 --directory "$WORK/jwks" >/dev/null 2>&1 &
PIDS+=("$!")
wait_port 18092

for alg in hs256 rs256; do
  src=bench/policies.edge
  if [ "$alg" = rs256 ]; then src=bench/jwt-rs256.edge; fi
  edgec build "$src" --target nginx -o "$WORK/nginx-$alg" >/dev/null 2>&1
  sed -i 's/^worker_processes auto;/worker_processes 1;/' "$WORK/nginx-$alg/nginx.conf"
  nginx -t -q -p "$WORK/nginx-$alg" -c nginx.conf
done

start_proxy() {  # $1 nginx|runtime-jwt, $2 hs256|rs256 → PROXY_PID
  local src=bench/policies.edge
  if [ "$2" = rs256 ]; then src=bench/jwt-rs256.edge; fi
  if [ "$1" = nginx ]; then
    taskset -c 0 nginx -p "$WORK/nginx-$2" -c nginx.conf -g "daemon off;" 2>"$WORK/proxy.log" &
  else
    taskset -c 0 edgec run "$src" 2>"$WORK/proxy.log" &
  fi
  proxy_started 18080
}

measure() {  # label alg conns seconds; a failed run is reported with the proxy's log, and skipped
  if ! taskset -c 1 python3 bench/measure.py "$PROXY_PID" "$1" "$3" "$4" "$PROXY_URL" \
      -H "Authorization: Bearer $(cat "$WORK/token-$2")"; then
    echo "measurement failed: $1 $2 c=$3; proxy log:" >&2
    tail -20 "$WORK/proxy.log" >&2 || true
  fi
}

for round in $(seq "$ROUNDS"); do
  for alg in hs256 rs256; do
    for scenario in nginx runtime-jwt; do
      start_proxy "$scenario" "$alg"
      # a refused token would be measured as fast 401s: the warm-up must see the backend's 200
      code=$(curl -s -o "$WORK/first" -w '%{http_code}' -H "Authorization: Bearer $(cat "$WORK/token-$alg")" "$PROXY_URL")
      if [ "$code" != 200 ]; then
        echo "$scenario $alg answers $code: $(cat "$WORK/first")" >&2
        tail -20 "$WORK/proxy.log" "$WORK/nginx-$alg/logs/error.log" >&2 2>/dev/null || true
        exit 1
      fi
      measure "$scenario" "$alg" 50 2 >/dev/null
      measure "$scenario" "$alg" 50 "$SECS" >> "$WORK/results-$alg.jsonl"
      stop_proxy "$scenario" 18080
      echo "round $round/$ROUNDS: $scenario $alg done" >&2
    done
  done
done

OUT=bench/results/jwt.md
{
  echo "# A JWT-protected route: nginx + njs beside the runtime (bench/jwt.sh)"
  echo
  echo "Command: \`bench/jwt.sh $ROUNDS $SECS\` ($ROUNDS interleaved rounds; per round, algorithm and proxy: a"
  echo "discarded 2 s warm-up, then ${SECS} s at c=50). Recorded $(date -u +%Y-%m-%dT%H:%MZ)."
  echo
  machine
  echo "$(nginx -v 2>&1), njs $(dpkg-query -W -f '${Version}' libnginx-mod-http-js 2>/dev/null || echo '?'),"
  echo "$(wrk --version 2>&1 | head -1 | cut -d' ' -f1-2), Python $(python3 -c 'import sys; print(sys.version.split()[0])')."
  echo "Proxy on core 0 (nginx with worker_processes 1, or \`edgec run\`); backend (nginx \`return 200\`) and"
  echo "wrk (-t1) on core 1. Every request carries the same valid token: the runtime remembers a verified"
  echo "token, njs 0.7.9 keeps nothing between requests and checks the signature every time (RS256 also reads"
  echo "the JWKS from nginx's cache through a subrequest). CPU µs/req: utime+stime of the proxy process tree."
  echo
  echo "## HS256 (bench/policies.edge)"
  echo
  python3 bench/report.py "$WORK/results-hs256.jsonl"
  echo
  echo "## RS256, JWKS on loopback (bench/jwt-rs256.edge)"
  echo
  python3 bench/report.py "$WORK/results-rs256.jsonl"
  echo
  raw_runs "$WORK/results-hs256.jsonl" "$WORK/results-rs256.jsonl"
} > "$OUT.tmp"
mv "$OUT.tmp" "$OUT"
echo "wrote $OUT" >&2
