#!/usr/bin/env bash
# A local Kubernetes control plane with kwok nodes (no Docker): kube-apiserver, controller-manager,
# scheduler and etcd built by scripts/setup-kube.sh, run by kwokctl's binary runtime on 127.0.0.1.
# kwok's behaviour is deploy/kwok/stages.yaml (Stage objects), pod logs come from kwok Logs objects.
# With the cluster run its autoscaling add-ons (scripts/setup-autoscaling.sh builds them), the local
# stand-ins of GKE's Managed Prometheus, metrics adapter and cluster autoscaler, on 127.0.0.1:
#   Prometheus scraping the pods annotated prometheus.io/scrape (at the address the local kubelet
#   annotates), recording deploy/local/prometheus/rules.yml; prometheus-adapter serving the custom
#   metrics API from it (deploy/local/prometheus-adapter.yaml); Karpenter's kwok provider adding and
#   removing GPU pool nodes for the NodePools the local GKE applies.
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
addons="$dir/$name-addons"

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
running() { [ -f "$addons/$1.pid" ] && kill -0 "$(cat "$addons/$1.pid")" 2>/dev/null; }
# launch NAME COMMAND...: in the background, its log and pid in the add-ons folder.
launch() {
  local what=$1; shift
  running "$what" && return 0
  nohup "$@" > "$addons/$what.log" 2>&1 &
  echo $! > "$addons/$what.pid"
}

start_addons() {
  mkdir -p "$addons"
  [ -f "$addons/ports" ] || echo "PROMETHEUS_PORT=$(free_port) ADAPTER_PORT=$(free_port)" > "$addons/ports"
  # shellcheck disable=SC1091
  . "$addons/ports"
  cat > "$addons/prometheus.yml" <<PROMETHEUS
global:
  scrape_interval: 5s
  scrape_timeout: 4s
  evaluation_interval: 5s
rule_files:
  - $PWD/deploy/local/prometheus/rules.yml
scrape_configs:
  # The classic pod-annotation scrape; the address is where the pod's container port listens on
  # this machine (the local kubelet's annotation), not the pod's IP.
  - job_name: kubernetes-pods
    kubernetes_sd_configs:
      - role: pod
        kubeconfig_file: $kubeconfig
    relabel_configs:
      - { source_labels: [__meta_kubernetes_pod_annotation_prometheus_io_scrape], regex: "true", action: keep }
      - { source_labels: [__meta_kubernetes_pod_container_port_name], regex: metrics, action: keep }
      - { source_labels: [__meta_kubernetes_pod_annotation_local_triton_pipeline_dev_metrics_address], regex: .+, action: keep }
      - { source_labels: [__meta_kubernetes_pod_annotation_local_triton_pipeline_dev_metrics_address], target_label: __address__ }
      - { source_labels: [__meta_kubernetes_pod_annotation_prometheus_io_path], regex: (.+), target_label: __metrics_path__ }
      - { source_labels: [__meta_kubernetes_namespace], target_label: namespace }
      - { source_labels: [__meta_kubernetes_pod_name], target_label: pod }
      - { source_labels: [__meta_kubernetes_pod_node_name], target_label: node }
PROMETHEUS
  launch prometheus "$bin/prometheus" --config.file="$addons/prometheus.yml" --storage.tsdb.path="$addons/prometheus-data" \
    --storage.tsdb.retention.time=1d --web.listen-address="127.0.0.1:$PROMETHEUS_PORT"
  # The aggregator presents kwokctl's admin certificate; with the cluster's CA given, the adapter
  # knows it from the first request on (not only once it has read the CA from the API server).
  launch prometheus-adapter "$bin/prometheus-adapter" --bind-address=127.0.0.1 --secure-port="$ADAPTER_PORT" --cert-dir="$addons/adapter-certs" \
    --lister-kubeconfig="$kubeconfig" --authentication-kubeconfig="$kubeconfig" --authorization-kubeconfig="$kubeconfig" \
    --client-ca-file="$KWOK_WORKDIR/clusters/$name/pki/ca.crt" \
    --prometheus-url="http://127.0.0.1:$PROMETHEUS_PORT/" --config="$PWD/deploy/local/prometheus-adapter.yaml" --metrics-relist-interval=15s
  kubectl --kubeconfig "$kubeconfig" apply --server-side -f .tools/karpenter/crds/ >&2
  kubectl --kubeconfig "$kubeconfig" wait --for condition=established --timeout=60s crd/nodepools.karpenter.sh crd/nodeclaims.karpenter.sh crd/kwoknodeclasses.karpenter.kwok.sh >&2
  kubectl --kubeconfig "$kubeconfig" apply -f deploy/local/karpenter/nodeclass.yaml >&2
  # Karpenter takes its kubeconfig from KUBECONFIG only; ports 0: it binds its metrics and health ports anywhere free.
  KUBECONFIG="$kubeconfig" INSTANCE_TYPES_FILE_PATH="$PWD/deploy/local/karpenter/instance-types.json" DISABLE_LEADER_ELECTION=true \
    METRICS_PORT=0 HEALTH_PROBE_PORT=0 LOG_LEVEL=info BATCH_IDLE_DURATION=1s BATCH_MAX_DURATION=3s \
    launch karpenter "$bin/karpenter-kwok"
  sed "s/ADAPTER_PORT/$ADAPTER_PORT/" deploy/local/custom-metrics-apiservice.yaml | kubectl --kubeconfig "$kubeconfig" apply -f - >&2
  for _ in $(seq 120); do
    kubectl --kubeconfig "$kubeconfig" get --raw /apis/custom.metrics.k8s.io/v1beta2 >/dev/null 2>&1 && return 0
    sleep 0.5
  done
  echo "the custom metrics API did not answer within 60 s; see $addons/prometheus-adapter.log" >&2
  return 1
}

stop_addons() {
  for what in karpenter prometheus-adapter prometheus; do
    running "$what" && kill "$(cat "$addons/$what.pid")" 2>/dev/null || true
  done
  rm -rf "$addons"
}

case "$command" in
  start)
    bash scripts/setup-kube.sh
    bash scripts/setup-autoscaling.sh
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
# The HPA controller looks every 5 s (GKE's every 15 s), so a drill here takes minutes, not more.
componentsPatches:
  - name: kube-controller-manager
    extraArgs:
      - key: horizontal-pod-autoscaler-sync-period
        value: 5s
CONFIG
    if "$bin/kwokctl" get clusters 2>/dev/null | grep -x "$name" >/dev/null; then
      "$bin/kwokctl" --config "$dir/kwok.yaml" start cluster --name "$name" --wait 3m >&2
    else
      "$bin/kwokctl" --config "$dir/kwok.yaml" create cluster --name "$name" --enable-crds=Stage,Logs --wait 3m --kubeconfig "$dir/unused.kubeconfig" >&2
    fi
    "$bin/kwokctl" get kubeconfig --name "$name" > "$kubeconfig.tmp"
    kubectl --kubeconfig "$kubeconfig.tmp" apply -f deploy/kwok/stages.yaml >&2
    mv "$kubeconfig.tmp" "$kubeconfig"
    start_addons
    echo "cluster $name is up; export KUBECONFIG=$kubeconfig"
    ;;
  stop)
    stop_addons
    "$bin/kwokctl" delete cluster --name "$name" >&2 || true
    # With the cluster go what the local target kept about it (its GKE record, release slowdowns, pod logs).
    rm -rf "$kubeconfig" "$dir/$name.gke.json" "$dir/$name.releases.json" "$dir/$name-pod-logs"
    echo "cluster $name deleted"
    ;;
  status)
    if "$bin/kwokctl" get clusters 2>/dev/null | grep -x "$name" >/dev/null && [ -f "$kubeconfig" ]; then
      kubectl --kubeconfig "$kubeconfig" version 2>/dev/null | grep -i server || true
      kubectl --kubeconfig "$kubeconfig" get nodes
      for what in prometheus prometheus-adapter karpenter; do
        if running "$what"; then echo "$what: running (log $addons/$what.log)"; else echo "$what: not running"; fi
      done
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
