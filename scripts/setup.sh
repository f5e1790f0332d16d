#!/usr/bin/env bash
# Installs what is missing and reuses what is present: npm dependencies and the Temporal CLI
# (dev server + Web UI), built from its Go module into .tools/bin unless `temporal` is on PATH.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -d node_modules/@temporalio/worker ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: installing npm dependencies" >&2
  npm ci --no-audit --no-fund >&2
fi

TEMPORAL_VERSION=1.5.1
if [ -x .tools/bin/temporal ]; then
  :
elif command -v temporal >/dev/null 2>&1; then
  mkdir -p .tools/bin && ln -sf "$(command -v temporal)" .tools/bin/temporal
else
  echo "setup: building the Temporal CLI ${TEMPORAL_VERSION} with go install (a few minutes, once)" >&2
  command -v go >/dev/null 2>&1 || { echo "setup: Go is required to build the Temporal CLI (or put temporal on PATH)" >&2; exit 1; }
  mkdir -p .tools/bin
  CGO_ENABLED=0 GOBIN="$PWD/.tools/bin" go install \
    -ldflags "-s -w -X github.com/temporalio/cli/temporalcli.Version=${TEMPORAL_VERSION}" \
    "github.com/temporalio/cli/cmd/temporal@v${TEMPORAL_VERSION}" >&2
fi
.tools/bin/temporal --version >&2
