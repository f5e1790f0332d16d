#!/usr/bin/env bash
# Installs what is missing and reuses what is present, from package registries only:
#   npm dependencies; the Temporal CLI (dev server + Web UI), Helm and the GCS emulator, built with
#   `go install` into .tools/bin unless already on PATH; kubernetes-validate (PyPI) in .tools/venv;
#   a Kubernetes control plane (kube-apiserver & co, etcd, kwok) by scripts/setup-kube.sh;
#   Prometheus, prometheus-adapter and Karpenter's kwok provider by scripts/setup-autoscaling.sh;
#   Triton and perf_analyzer for the CPU (PyPI) by scripts/setup-triton.sh.
# `setup.sh start` installs only what `npm start` needs (npm dependencies, the Temporal CLI), so a
# first run on the sim target takes minutes; the test tools come with `npm test` / `npm run setup`.
set -euo pipefail
cd "$(dirname "$0")/.."
scope=${1:-all}

if [ ! -d node_modules/@temporalio/worker ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: installing npm dependencies" >&2
  npm ci --no-audit --no-fund >&2
fi

mkdir -p .tools/bin
# go_tool NAME MODULE@VERSION [LDFLAGS]: .tools/bin/NAME, from PATH or built once.
go_tool() {
  local name=$1 module=$2 ldflags=${3:-}
  [ -x ".tools/bin/$name" ] && return 0
  if command -v "$name" >/dev/null 2>&1; then
    ln -sf "$(command -v "$name")" ".tools/bin/$name"
    return 0
  fi
  command -v go >/dev/null 2>&1 || { echo "setup: Go is required to build $name (or put $name on PATH)" >&2; exit 1; }
  echo "setup: building $name ($module) with go install, once" >&2
  CGO_ENABLED=0 GOBIN="$PWD/.tools/bin" go install -ldflags "-s -w $ldflags" "$module" >&2
}

go_tool temporal github.com/temporalio/cli/cmd/temporal@v1.5.1 \
  "-X github.com/temporalio/cli/temporalcli.Version=1.5.1"
[ "$scope" = start ] && exit 0
# Helm assumes Kubernetes 1.20 for lint/template unless told the version it was built against.
HELM_K8S="-X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=36"
HELM_K8S="$HELM_K8S -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=36"
go_tool helm helm.sh/helm/v3/cmd/helm@v3.21.4 "-X helm.sh/helm/v3/internal/version.version=v3.21.4 $HELM_K8S"
go_tool fake-gcs-server github.com/fsouza/fake-gcs-server@v1.55.1

if [ ! -x .tools/venv/bin/kubernetes-validate ]; then
  echo "setup: installing kubernetes-validate (PyPI) into .tools/venv" >&2
  python3 -m venv .tools/venv
  .tools/venv/bin/pip install --quiet kubernetes-validate==1.37.0 >&2
fi

bash scripts/setup-kube.sh
bash scripts/setup-autoscaling.sh
bash scripts/setup-triton.sh
