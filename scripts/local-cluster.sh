#!/usr/bin/env bash
# A local Kubernetes control plane with kwok nodes (no Docker): kube-apiserver, controller-manager,
# scheduler and etcd built by scripts/setup-kube.sh, run by kwokctl's binary runtime on 127.0.0.1.
# kwok's behaviour is deploy/kwok/stages.yaml (Stage objects), pod logs come from kwok Logs objects.
#   scripts/local-cluster.sh start|stop|status [NAME]    (NAME defaults to triton-local)
# State and the kubeconfig live in .pipeline/kwok (git-ignored), or in PIPELINE_KWOK_DIR.
set -euo pipefail
cd "$(dirname "$0")/.."
command=${1:-status}
name=${2:-triton-local}
bin="$PWD/.tools/bin"
dir="${PIPELINE_KWOK_DIR:-$PWD/.pipeline/kwok}"
export KWOK_WORKDIR="$dir/work"
kubeconfig="$dir/$name.kubeconfig"

case "$command" in
  start)
    bash scripts/setup-kube.sh
    mkdir -p "$dir"
    cat > "$dir/kwok.yaml" <<CONFIG
kind: KwokctlConfiguration
apiVersion: config.kwok.x-k8s.io/v1alpha1
options:
  runtime: binary
  bindAddress: 127.0.0.1
  kubeApiserverBinary: $bin/kube-apiserver
  kubeControllerManagerBinary: $bin/kube-controller-manager
  kubeSchedulerBinary: $bin/kube-scheduler
  kwokControllerBinary: $bin/kwok
  etcdBinary: $bin/etcd
CONFIG
    if "$bin/kwokctl" get clusters 2>/dev/null | grep -x "$name" >/dev/null; then
      "$bin/kwokctl" --config "$dir/kwok.yaml" start cluster --name "$name" --wait 3m >&2
    else
      "$bin/kwokctl" --config "$dir/kwok.yaml" create cluster --name "$name" --enable-crds=Stage,Logs --wait 3m --kubeconfig "$dir/unused.kubeconfig" >&2
    fi
    "$bin/kwokctl" get kubeconfig --name "$name" > "$kubeconfig.tmp"
    kubectl --kubeconfig "$kubeconfig.tmp" apply -f deploy/kwok/stages.yaml >&2
    mv "$kubeconfig.tmp" "$kubeconfig"
    echo "cluster $name is up; export KUBECONFIG=$kubeconfig"
    ;;
  stop)
    "$bin/kwokctl" delete cluster --name "$name" >&2 || true
    # With the cluster go what the local target kept about it (its GKE record, release slowdowns, pod logs).
    rm -rf "$kubeconfig" "$dir/$name.gke.json" "$dir/$name.releases.json" "$dir/$name-pod-logs"
    echo "cluster $name deleted"
    ;;
  status)
    if "$bin/kwokctl" get clusters 2>/dev/null | grep -x "$name" >/dev/null && [ -f "$kubeconfig" ]; then
      kubectl --kubeconfig "$kubeconfig" version 2>/dev/null | grep -i server || true
      kubectl --kubeconfig "$kubeconfig" get nodes
    else
      echo "cluster $name is not running (scripts/local-cluster.sh start)"
      exit 1
    fi
    ;;
  *)
    echo "usage: scripts/local-cluster.sh start|stop|status [NAME]" >&2
    exit 2
    ;;
esac
