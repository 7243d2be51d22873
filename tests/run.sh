#!/usr/bin/env bash
# Installs everything the test suite needs, then runs it. The README's test command,
# and what CI runs. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

export DEBIAN_FRONTEND=noninteractive
missing=()
command -v nginx >/dev/null || missing+=(nginx)
# njs, the JavaScript module the nginx target loads for JWT validation
[ -e /usr/lib/nginx/modules/ngx_http_js_module.so ] || missing+=(libnginx-mod-http-js)
command -v redis-server >/dev/null || missing+=(redis-server)
command -v shellcheck >/dev/null || missing+=(shellcheck)
command -v mvn >/dev/null || missing+=(maven)
command -v javac >/dev/null || missing+=(openjdk-17-jdk-headless)
command -v wrk >/dev/null || missing+=(wrk)
command -v curl >/dev/null || missing+=(curl)  # an HTTP/2 client (Debian's curl has nghttp2)
command -v dot >/dev/null || missing+=(graphviz)  # `edgec graph --format svg|png`
# tests/editors runs the TextMate grammar in VS Code's engine (npm packages vscode-textmate, vscode-oniguruma)
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ]; then
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    sudo apt-get update -qq
    sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
fi

python3 -m pip install -q --disable-pip-version-check -e '.[test]'
# the gateway-api target's validator (built with Go once, then cached) and the CRDs it reads
bash tests/gateway_api/tools.sh
exec python3 -m pytest -p no:cacheprovider "$@"
