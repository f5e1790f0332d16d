/** Values for deploy/charts/triton and the HPA, computed from the spec as data. Pure. */
import type { V2HorizontalPodAutoscaler, V2MetricSpec } from '@kubernetes/client-node';
import type { KubeJson, Manifest } from '../ports/systems.js';
import type { DeploymentSpec } from '../spec/schema.js';
import type { PipelineMarker } from '../ports/run.js';
import type { TritonValues } from './triton-values.js';

export type { TritonValues } from './triton-values.js';

/**
 * The per-pod gauges the HPA reads, recorded by Google Managed Prometheus rules that the triton
 * chart renders (deploy/charts/triton/templates/rules.yaml) and served by the
 * custom-metrics-stackdriver adapter as Pods metrics. Recorded, not raw, for three reasons:
 *   - the HPA's metrics client lowercases an External metric's name in the request path
 *     (kubernetes/kubernetes#72996, k8s-stackdriver#274), and Cloud Monitoring's metric types are
 *     case-sensitive, so `DCGM_FI_DEV_GPU_UTIL` is never found;
 *   - for a Pods metric the adapter filters prometheus_target series on resource.labels.namespace
 *     and metric.labels.pod (k8s-stackdriver query_builder.go, filter_builder.go PrometheusSchema);
 *     GKE's DCGM exporter runs in gke-managed-system and names the GPU's pod in its own labels;
 *   - the adapter serves a CUMULATIVE metric as its rate per second (k8s-stackdriver README,
 *     "Metric kinds"), so Triton's nv_inference_queue_duration_us counter would read as µs queued
 *     per second, not per request.
 * Recording rules are gauges: Cloud Monitoring names them prometheus.googleapis.com/<record>/gauge.
 */
export const RECORDED_METRICS = {
  /** Mean DCGM_FI_DEV_GPU_UTIL (%) over the GPUs a pod holds; a ClusterRules over GKE's managed DCGM metrics. */
  gpuUtilization: 'pod:dcgm_fi_dev_gpu_util:avg',
  /** Mean µs a request waited in Triton's queue over the last 2 minutes; a Rules in the release namespace. */
  queueTime: 'pod:nv_inference_queue_duration_us_per_request:rate2m',
} as const;

/**
 * How far back each metric the HPA reads looks: the queue time is a rate over 2 minutes (the
 * recording rules' [2m]), so it goes on climbing that long after the load changes; the other two
 * are gauges read as they are.
 */
export const METRIC_WINDOW_SECONDS: Record<DeploymentSpec['autoscaling']['metric'], number> = {
  'triton-queue-time-us': 120,
  'triton-inflight-requests': 0,
  'gpu-utilization': 0,
};

/**
 * What the custom-metrics-stackdriver adapter calls a Managed Prometheus gauge: its Cloud Monitoring
 * type prometheus.googleapis.com/<name>/gauge with '/' as '|' (k8s-stackdriver README, "Metric names").
 */
export function adapterGaugeName(prometheusName: string): string {
  return `prometheus.googleapis.com|${prometheusName}|gauge`;
}

/**
 * The cluster's monitoring components a spec needs: GKE's managed DCGM metrics for an HPA on GPU
 * utilisation (`--monitoring=SYSTEM,DCGM`, with Managed Prometheus; GKE docs, "Collect and view
 * DCGM metrics"); null when GKE's defaults do.
 */
export function clusterMonitoringFor(spec: Pick<DeploymentSpec, 'target' | 'autoscaling'>): string[] | null {
  return spec.target === 'gke' && spec.autoscaling.enabled && spec.autoscaling.metric === 'gpu-utilization' ? ['SYSTEM', 'DCGM'] : null;
}

/** Which of the chart's recording rules the HPA reads (Managed Prometheus only: the rules are its CRDs). */
export function recordingRules(spec: DeploymentSpec): NonNullable<TritonValues['monitoring']['rules']> {
  const on = spec.autoscaling.enabled && spec.release.monitoring === 'podmonitoring';
  return { queueTime: on && spec.autoscaling.metric === 'triton-queue-time-us', gpuUtilization: on && spec.autoscaling.metric === 'gpu-utilization' };
}

export function tritonValues(spec: DeploymentSpec, repositoryUri: string, marker: PipelineMarker): TritonValues {
  return {
    replicaCount: spec.release.replicas,
    image: { name: spec.release.image, pullPolicy: 'IfNotPresent' },
    modelRepositoryPath: spec.release.modelRepositoryPath ?? repositoryUri,
    modelControlMode: 'explicit',
    models: spec.models.flatMap((m) => m.variants.map((v) => v.name)),
    gpusPerReplica: spec.nodePool.acceleratorCount,
    nodePool: spec.nodePool.name,
    acceleratorType: spec.nodePool.acceleratorType,
    service: { type: spec.release.internalLoadBalancer ? 'LoadBalancer' : 'ClusterIP', internal: spec.release.internalLoadBalancer },
    metrics: { summaryLatencies: true },
    monitoring: { kind: spec.release.monitoring, rules: recordingRules(spec) },
    autoscaling: { external: spec.autoscaling.enabled },
    pipeline: marker,
  };
}

/** The release a preview of `release` runs as, beside it. */
export function previewReleaseName(release: string): string {
  return `${release}-preview`;
}

/**
 * A preview takes no production traffic: its own ClusterIP Service (the chart selects pods by
 * release name, so the live Service never selects it), one replica and no HPA, and no scraping
 * into the metrics the live release's HPA reads.
 */
export function previewValues(values: TritonValues): TritonValues {
  return { ...values, replicaCount: 1, service: { type: 'ClusterIP', internal: false }, monitoring: { kind: 'none' }, autoscaling: { external: false } };
}

export function pipelineMarkerOf(values: Record<string, unknown>): PipelineMarker | null {
  const marker = values['pipeline'] as Partial<PipelineMarker> | undefined;
  return marker?.deploymentId !== undefined && marker.repositoryVersion !== undefined
    ? { deploymentId: marker.deploymentId, repositoryVersion: marker.repositoryVersion }
    : null;
}

/** The chart names its Deployment after the release. */
export function tritonDeploymentName(release: string): string {
  return release;
}

/** Triton's own gauge of requests waiting in its queue, per pod. */
const PENDING_REQUESTS = 'nv_inference_pending_request_count';

/**
 * The name the HPA asks the metrics adapter for: every metric is a per-pod gauge
 * (RECORDED_METRICS). GKE's custom-metrics-stackdriver adapter names a Managed Prometheus series
 * by its Cloud Monitoring type; the local cluster's prometheus-adapter by the series' own name.
 */
export function hpaMetricName(metric: DeploymentSpec['autoscaling']['metric'], target: DeploymentSpec['target']): string {
  const series = metric === 'gpu-utilization' ? RECORDED_METRICS.gpuUtilization : metric === 'triton-queue-time-us' ? RECORDED_METRICS.queueTime : PENDING_REQUESTS;
  return target === 'local' ? series : adapterGaugeName(series);
}

/**
 * autoscaling/v2 HPA (the sample's v2beta1 is gone since Kubernetes 1.25) on a per-pod gauge in
 * Google Managed Prometheus: the average over the release's pods against the target.
 */
export function renderHpa(spec: DeploymentSpec): Manifest<V2HorizontalPodAutoscaler> {
  const { autoscaling, release } = spec;
  const metric: KubeJson<V2MetricSpec> = {
    type: 'Pods',
    pods: {
      // No selector: the HPA asks for the scale target's pods already, and the metrics adapter
      // refuses any Pods-metric selector key but metric.labels.*.
      metric: { name: hpaMetricName(autoscaling.metric, spec.target) },
      target: { type: 'AverageValue', averageValue: String(autoscaling.target) },
    },
  };
  return {
    apiVersion: 'autoscaling/v2',
    kind: 'HorizontalPodAutoscaler',
    metadata: { name: release.name, namespace: release.namespace, labels: { 'app.kubernetes.io/instance': release.name } },
    spec: {
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: tritonDeploymentName(release.name) },
      minReplicas: autoscaling.minReplicas,
      maxReplicas: autoscaling.maxReplicas,
      metrics: [metric],
      behavior: { scaleDown: { stabilizationWindowSeconds: autoscaling.scaleDownStabilizationSeconds } },
    },
  };
}
