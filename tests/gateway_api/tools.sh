#!/usr/bin/env bash
# The validator of the gateway-api target's output, and the CRDs it validates against:
# kubectl-validate (schema and CEL rules of CRDs, offline) built with Go into
# ~/.cache/edgec-tools/bin when absent; the Gateway API and Envoy Gateway modules (their
# CRDs) into Go's module cache. Prints nothing when everything is there.
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
(cd /tmp && "$GO" mod download "$GATEWAY_API" "$ENVOY_GATEWAY")
