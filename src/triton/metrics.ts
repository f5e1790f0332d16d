/**
 * Triton's Prometheus metrics (the /metrics text of port 8002) read into the autoscaling metric the
 * HPA scales on, over a measurement window: two scrapes of every serving pod, before and after a
 * perf sweep. Pure.
 */
import type { AutoscalingSpec } from '../spec/schema.js';

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\d+)?$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

/** Samples of the Prometheus text exposition format; comments and malformed lines are skipped. */
export function parsePrometheusText(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    const match = SAMPLE.exec(line.trim());
    if (match === null) continue;
    const value = Number(match[3]);
    if (Number.isNaN(value)) continue;
    const labels: Record<string, string> = {};
    for (const [, key, raw] of (match[2] ?? '').matchAll(LABEL)) labels[key!] = raw!.replace(/\\(.)/g, '$1');
    samples.push({ name: match[1]!, labels, value });
  }
  return samples;
}

/** Sum of a metric's samples, over one model's series when `model` is given. */
export function sumOf(samples: readonly Sample[], name: string, model?: string): number | null {
  const matching = samples.filter((s) => s.name === name && (model === undefined || s.labels['model'] === model));
  return matching.length === 0 ? null : matching.reduce((total, s) => total + s.value, 0);
}

export interface PodScrape {
  pod: string;
  text: string;
}

export interface LoadMetrics {
  pods: number;
  /** Successful inference requests in the window, all pods. */
  requests: number;
  /** Mean time a request waited in Triton's queue (µs); null without requests. */
  queueUsPerRequest: number | null;
  /** nv_gpu_utilization at the end (%), averaged over each pod's GPUs and then over the pods; null where Triton exports none (CPU). */
  gpuUtilizationPercent: number | null;
}

/**
 * One model's metrics between scrapes of the same pods. Pods missing from either scrape are left
 * out (they started or stopped in between).
 */
export function loadMetricsBetween(before: readonly PodScrape[], after: readonly PodScrape[], model: string): LoadMetrics | null {
  const pods = after.filter((a) => before.some((b) => b.pod === a.pod));
  if (pods.length === 0) return null;
  let requests = 0;
  let queueUs = 0;
  const gpu: number[] = [];
  for (const pod of pods) {
    const start = parsePrometheusText(before.find((b) => b.pod === pod.pod)!.text);
    const end = parsePrometheusText(pod.text);
    const delta = (name: string) => Math.max(0, (sumOf(end, name, model) ?? 0) - (sumOf(start, name, model) ?? 0));
    requests += delta('nv_inference_request_success');
    queueUs += delta('nv_inference_queue_duration_us');
    const utilization = end.filter((s) => s.name === 'nv_gpu_utilization');
    if (utilization.length > 0) gpu.push(utilization.reduce((a, s) => a + s.value, 0) / utilization.length);
  }
  return {
    pods: pods.length,
    requests,
    queueUsPerRequest: requests > 0 ? queueUs / requests : null,
    gpuUtilizationPercent: gpu.length === 0 ? null : (gpu.reduce((a, b) => a + b, 0) / gpu.length) * 100,
  };
}

/**
 * The per-pod value the HPA compares with its target when the release serves `requestsPerSecond`,
 * as the recording rules the HPA reads on GKE compute it (src/plan/helm-values.ts RECORDED_METRICS):
 * triton-queue-time-us is the mean time a request waited in Triton's queue (µs): queued µs over
 * successful requests, both counters' increase, whatever the load; triton-inflight-requests the
 * mean requests waiting per pod (Little's law: queued µs per second / 1e6); gpu-utilization the
 * GPU's busy percentage. Null where the metric is not exported.
 */
export function autoscalingMetricValue(metric: AutoscalingSpec['metric'], load: LoadMetrics, requestsPerSecond: number): number | null {
  if (metric === 'gpu-utilization') return load.gpuUtilizationPercent;
  if (load.queueUsPerRequest === null) return null;
  if (metric === 'triton-queue-time-us') return load.queueUsPerRequest;
  return (load.queueUsPerRequest * requestsPerSecond) / load.pods / 1e6;
}

/** The HPA's replica count for a per-pod average (Kubernetes' rule: ceil(current × value / target), 10% tolerance, clamped). */
export function hpaDesiredReplicas(current: number, value: number, { target, minReplicas, maxReplicas }: Pick<AutoscalingSpec, 'target' | 'minReplicas' | 'maxReplicas'>): number {
  const ratio = value / target;
  const desired = Math.abs(ratio - 1) <= 0.1 ? current : Math.ceil(current * ratio);
  return Math.min(maxReplicas, Math.max(minReplicas, desired));
}

export interface AutoscalingReading {
  metric: AutoscalingSpec['metric'];
  /** Per pod, at the SLA operating point; null where Triton does not export it (GPU metrics on a CPU). */
  value: number | null;
  target: number;
  pods: number;
  /** What the HPA would scale the release to at that load (null without a value). */
  desiredReplicas: number | null;
}

/** The HPA's metric and decision at the SLA operating point (`requestsPerSecond`), from the sweep's scrapes. */
export function autoscalingReading(autoscaling: AutoscalingSpec, load: LoadMetrics, requestsPerSecond: number): AutoscalingReading {
  const value = autoscalingMetricValue(autoscaling.metric, load, requestsPerSecond);
  return {
    metric: autoscaling.metric,
    value,
    target: autoscaling.target,
    pods: load.pods,
    desiredReplicas: value === null ? null : hpaDesiredReplicas(load.pods, value, autoscaling),
  };
}

/** The metric's unit, as a reading prints it. */
export const METRIC_UNIT: Record<AutoscalingSpec['metric'], string> = {
  'gpu-utilization': '%',
  'triton-queue-time-us': 'µs per request',
  'triton-inflight-requests': 'requests waiting',
};

export function describeReading(r: AutoscalingReading): string {
  if (r.value === null) return `${r.metric}: not exported by this Triton`;
  const digits = r.metric === 'triton-inflight-requests' ? 2 : 0;
  return `${r.metric} ${r.value.toFixed(digits)} per pod (${METRIC_UNIT[r.metric]}; target ${r.target}, ${r.pods} pod${r.pods === 1 ? '' : 's'}) → HPA wants ${r.desiredReplicas}`;
}
