#!/usr/bin/env bash
# What the gateway-api target's tests run: kubectl-validate (schema and CEL rules of CRDs,
# offline) and Envoy Gateway's egctl (its translator, `egctl x translate`), built with Go
# into ~/.cache/edgec-tools/bin when absent; the Gateway API and Envoy Gateway modules
# (their CRDs) into Go's module cache. Prints nothing when everything is there.
set -euo pipefail
GO=${GO:-$(command -v go || echo /usr/local/go/bin/go)}
BIN="${HOME}/.cache/edgec-tools/bin"
KUBECTL_VALIDATE=sigs.k8s.io/kubectl-validate@v0.0.4
GATEWAY_API=sigs.k8s.io/gateway-api@v1.6.1
ENVOY_GATEWAY=github.com/envoyproxy/gateway@v1.9.1

if [ ! -x "$GO" ]; then
  echo "tools.sh: no Go toolchain (looked for go on PATH and /usr/local/go/bin/go)" >&2
  exit 1
fi
if [ ! -x "$BIN/kubectl-validate" ]; then
  echo "building $KUBECTL_VALIDATE into $BIN (several minutes, once)" >&2
  mkdir -p "$BIN"
  (cd /tmp && GOBIN="$BIN" "$GO" install "$KUBECTL_VALIDATE")
fi
if [ ! -x "$BIN/egctl" ]; then
  echo "building $ENVOY_GATEWAY's egctl into $BIN (long: about 25 minutes on a busy 2-core machine, once)" >&2
  mkdir -p "$BIN"
  (cd /tmp && GOBIN="$BIN" "$GO" install "${ENVOY_GATEWAY%@*}/cmd/egctl@${ENVOY_GATEWAY#*@}")
fi
(cd /tmp && "$GO" mod download "$GATEWAY_API" "$ENVOY_GATEWAY")
