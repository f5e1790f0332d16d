#!/usr/bin/env bash
# Builds a real Kubernetes control plane from the Go module proxy (no binary downloads) into
# .tools/bin: kube-apiserver, kube-controller-manager, kube-scheduler (k8s.io/kubernetes through
# a wrapper module that replaces each staging module with its published version), etcd (wrapper
# module too: etcd's own go.mod has replace directives), and kwok/kwokctl. Reuses what exists.
set -euo pipefail
cd "$(dirname "$0")/.."
K8S_VERSION=${K8S_VERSION:-1.36.3}
ETCD_VERSION=${ETCD_VERSION:-3.6.14}
KWOK_VERSION=${KWOK_VERSION:-0.8.0}
bin="$PWD/.tools/bin"
mkdir -p "$bin" .tools/build
export CGO_ENABLED=0

have() { [ -x "$bin/$1" ] || { command -v "$1" >/dev/null 2>&1 && ln -sf "$(command -v "$1")" "$bin/$1"; }; }

if ! have kube-apiserver || ! have kube-controller-manager || ! have kube-scheduler; then
  echo "setup-kube: building Kubernetes v${K8S_VERSION} control plane (10-20 minutes on 2 cores, once)" >&2
  dir=.tools/build/k8s-${K8S_VERSION}
  rm -rf "$dir" && mkdir -p "$dir" && cd "$dir"
  go mod init local/k8sbins >/dev/null 2>&1
  gomod=$(go mod download -json "k8s.io/kubernetes@v${K8S_VERSION}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["GoMod"])')
  minor=$(cut -d. -f2 <<< "$K8S_VERSION"); patch=$(cut -d. -f3 <<< "$K8S_VERSION")
  # Staging modules are required at exactly v0.0.0 (pseudo-versions such as k8s.io/utils are real).
  for module in $(grep -oE 'k8s\.io/[a-z0-9-]+ v0\.0\.0([[:space:]]|$)' "$gomod" | cut -d' ' -f1 | sort -u); do
    go mod edit -replace="$module=$module@v0.${minor}.${patch}"
  done
  go mod edit -require="k8s.io/kubernetes@v${K8S_VERSION}" \
    -tool=k8s.io/kubernetes/cmd/kube-apiserver -tool=k8s.io/kubernetes/cmd/kube-controller-manager -tool=k8s.io/kubernetes/cmd/kube-scheduler
  go mod tidy >&2
  ld="-s -w -X k8s.io/component-base/version.gitVersion=v${K8S_VERSION} -X k8s.io/component-base/version.gitMajor=1"
  ld="$ld -X k8s.io/component-base/version.gitMinor=${minor} -X k8s.io/component-base/version.gitTreeState=clean"
  ld="$ld -X k8s.io/client-go/pkg/version.gitVersion=v${K8S_VERSION}"
  go build -ldflags "$ld" -o "$bin/" k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager k8s.io/kubernetes/cmd/kube-scheduler >&2
  cd - >/dev/null
fi

if ! have etcd; then
  echo "setup-kube: building etcd v${ETCD_VERSION}" >&2
  dir=.tools/build/etcd-${ETCD_VERSION}
  rm -rf "$dir" && mkdir -p "$dir" && cd "$dir"
  go mod init local/etcdbin >/dev/null 2>&1
  go mod edit -require="go.etcd.io/etcd/server/v3@v${ETCD_VERSION}" -tool=go.etcd.io/etcd/server/v3
  go mod tidy >&2
  go build -ldflags "-s -w" -o "$bin/etcd" go.etcd.io/etcd/server/v3 >&2
  cd - >/dev/null
fi

for tool in kwok kwokctl; do
  have "$tool" || GOBIN="$bin" go install -ldflags "-s -w" "sigs.k8s.io/kwok/cmd/${tool}@v${KWOK_VERSION}" >&2
done
"$bin/kube-apiserver" --version >&2
"$bin/etcd" --version | sed -n 1p >&2  # sed reads it all: head could end etcd with SIGPIPE (exit 141 under pipefail)
"$bin/kwokctl" --version >&2
