#!/usr/bin/env bash
# Builds the local cluster's autoscaling add-ons from the Go module proxy (no binary downloads) into
# .tools/bin, each once, through a wrapper module that pins its version:
#   prometheus          github.com/prometheus/prometheus   (scrapes Triton, records the HPA's gauge)
#   prometheus-adapter  sigs.k8s.io/prometheus-adapter     (serves custom.metrics.k8s.io from it)
#   karpenter-kwok      sigs.k8s.io/karpenter's kwok provider (adds and removes GPU pool nodes)
# and copies Karpenter's CRDs out of its module into .tools/karpenter/crds. Karpenter needs
# Go >= 1.26.10: its build runs with GOTOOLCHAIN=go1.27.3, which the go command fetches from the
# module proxy like any module.
set -euo pipefail
cd "$(dirname "$0")/.."
PROMETHEUS_VERSION=${PROMETHEUS_VERSION:-0.316.0}
ADAPTER_VERSION=${ADAPTER_VERSION:-0.12.0}
KARPENTER_VERSION=${KARPENTER_VERSION:-1.15.0}
KARPENTER_TOOLCHAIN=go1.27.3
bin="$PWD/.tools/bin"
mkdir -p "$bin" .tools/build
export CGO_ENABLED=0

# build NAME MODULE VERSION PACKAGE [TOOLCHAIN]: .tools/bin/NAME from PACKAGE of MODULE@VERSION.
build() {
  local name=$1 module=$2 version=$3 package=$4 toolchain=${5:-local}
  [ -x "$bin/$name" ] && return 0
  echo "setup-autoscaling: building $name ($module $version; minutes on 2 cores, once)" >&2
  local dir=.tools/build/$name-$version
  rm -rf "$dir" && mkdir -p "$dir"
  (
    cd "$dir"
    export GOTOOLCHAIN=$toolchain
    go mod init "local/$name" >/dev/null 2>&1
    go mod edit -require="$module@$version" -tool="$package"
    go mod tidy >&2
    go build -ldflags "-s -w" -o "$bin/$name.tmp" "$package" >&2
  )
  mv "$bin/$name.tmp" "$bin/$name"
}

build prometheus github.com/prometheus/prometheus "v$PROMETHEUS_VERSION" github.com/prometheus/prometheus/cmd/prometheus
build prometheus-adapter sigs.k8s.io/prometheus-adapter "v$ADAPTER_VERSION" sigs.k8s.io/prometheus-adapter/cmd/adapter
build karpenter-kwok sigs.k8s.io/karpenter "v$KARPENTER_VERSION" sigs.k8s.io/karpenter/kwok "$KARPENTER_TOOLCHAIN"

crds=.tools/karpenter/crds
if [ ! -f "$crds/nodepools.yaml" ]; then
  module=$(GOTOOLCHAIN=$KARPENTER_TOOLCHAIN go mod download -json "sigs.k8s.io/karpenter@v$KARPENTER_VERSION" | python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])')
  mkdir -p "$crds"
  cp "$module/kwok/charts/crds/karpenter.sh_nodepools.yaml" "$crds/nodepools.yaml"
  cp "$module/kwok/charts/crds/karpenter.sh_nodeclaims.yaml" "$crds/nodeclaims.yaml"
  cp "$module/kwok/apis/crds/karpenter.kwok.sh_kwoknodeclasses.yaml" "$crds/kwoknodeclasses.yaml"
  chmod u+w "$crds"/*.yaml
fi
"$bin/prometheus" --version 2>&1 | sed -n 1p >&2
