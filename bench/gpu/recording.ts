/**
 * Reading a GPU benchmark recording (what bench/gpu/run.py writes) through the pipeline's own code:
 * perf_analyzer's CSV by the perf parser, Triton's /metrics by the autoscaling reader. Used by the
 * report (bench/gpu/report.ts) and by the tests that replay the recordings in CI.
 */
import { loadMetricsBetween, type LoadMetrics, parsePrometheusText } from '../../src/triton/metrics.js';
import { parsePerfCsv } from '../../src/triton/perf-output.js';
import type { PerfPoint } from '../../src/triton/perf-types.js';

interface Duration {
  count: number;
  ns: number;
}

export interface ModelStatistics {
  model_stats: Array<{
    name: string;
    inference_count: number;
    execution_count: number;
    inference_stats: Record<'success' | 'queue' | 'compute_input' | 'compute_infer' | 'compute_output', Duration>;
  }>;
}

export interface RecordedPoint {
  concurrency: number;
  exitCode: number;
  seconds: number;
  csv: string | null;
  stdout: string;
  metricsBefore: string;
  metricsUnderLoad: string;
  gauges: Array<{ t: number; nv_gpu_utilization?: number[]; nv_gpu_memory_used_bytes?: number[]; nv_gpu_power_usage?: number[] }>;
  /** Triton's model statistics (cumulative) before and after the point. */
  statsBefore: ModelStatistics;
  stats: ModelStatistics;
}

export interface RecordedSweep {
  id: string;
  model: string;
  round: number;
  points: RecordedPoint[];
}

export interface GpuRecording {
  plan: string;
  gpu: string;
  startSeconds: number;
  loadSeconds: number;
  elapsedSeconds: number;
  stoppedAtDeadline: boolean;
  /** config.pbtxt of each model served, as rendered by the plan. */
  configs: Record<string, string>;
  /** Each model's state after loading (READY, UNAVAILABLE), and Triton's reply where it refused one. */
  models?: Record<string, string>;
  loadErrors?: Record<string, { status: number; body: string }>;
  /** Triton's log lines on where it created each model instance, and its load failures. */
  instanceLog?: string[];
  sweeps: RecordedSweep[];
}

/** The pod name the recordings' scrapes stand for (one Triton). */
export const RECORDED_POD = 'triton-gpu-0';

/** perf_analyzer's point, by the pipeline's CSV parser; null where the run measured nothing (unstable, failed). */
export function perfPointOf(point: RecordedPoint): PerfPoint | null {
  if (point.exitCode !== 0 || point.csv === null) return null;
  const parsed = parsePerfCsv(point.csv);
  if (parsed.length !== 1 || parsed[0]!.concurrency !== point.concurrency) {
    throw new Error(`recorded c=${point.concurrency}: the CSV holds ${parsed.map((p) => `c=${p.concurrency}`).join(', ') || 'no point'}`);
  }
  return parsed[0]!;
}

export function sweepPoints(sweep: RecordedSweep): PerfPoint[] {
  return sweep.points.map(perfPointOf).filter((p): p is PerfPoint => p !== null);
}

/** The window's load by the autoscaling reader: /metrics before the point and at its end, still under load. */
export function loadOf(sweep: RecordedSweep, point: RecordedPoint): LoadMetrics {
  const load = loadMetricsBetween([{ pod: RECORDED_POD, text: point.metricsBefore }], [{ pod: RECORDED_POD, text: point.metricsUnderLoad }], sweep.model);
  if (load === null) throw new Error(`${sweep.id} c=${point.concurrency}: no scrape pair`);
  return load;
}

const median = (values: readonly number[]): number | null => {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

export interface GaugeSummary {
  /** Median of nv_gpu_utilization over the samples taken while the point ran (0..1); null without GPU metrics. */
  utilization: number | null;
  /** Largest nv_gpu_memory_used_bytes seen (bytes). */
  memoryUsedBytes: number | null;
  /** Median nv_gpu_power_usage (W). */
  powerWatts: number | null;
}

/** The GPU gauges sampled while perf_analyzer ran, past its first second (the ramp). */
export function gaugesOf(point: RecordedPoint): GaugeSummary {
  const loaded = point.gauges.filter((g) => g.t >= 1);
  const first = (key: 'nv_gpu_utilization' | 'nv_gpu_memory_used_bytes' | 'nv_gpu_power_usage') =>
    loaded.map((g) => g[key]?.[0]).filter((v): v is number => v !== undefined);
  const memory = first('nv_gpu_memory_used_bytes');
  return { utilization: median(first('nv_gpu_utilization')), memoryUsedBytes: memory.length === 0 ? null : Math.max(...memory), powerWatts: median(first('nv_gpu_power_usage')) };
}

export interface ExecutionSummary {
  /** Mean inferences per model execution: the batch the dynamic batcher formed. */
  meanBatch: number | null;
  /** Mean queue time and execute() time per request in the window (µs). */
  queueUs: number | null;
  computeUs: number | null;
}

/** Triton's model statistics over one point (they are cumulative: after minus before). */
export function executionOf(sweep: RecordedSweep, point: RecordedPoint): ExecutionSummary {
  const now = point.stats.model_stats.find((m) => m.name === sweep.model);
  if (now === undefined) return { meanBatch: null, queueUs: null, computeUs: null };
  const before = point.statsBefore.model_stats.find((m) => m.name === sweep.model);
  const d = (f: (m: NonNullable<typeof now>) => number) => f(now) - (before === undefined ? 0 : f(before));
  const requests = d((m) => m.inference_stats.success.count);
  const executions = d((m) => m.execution_count);
  const inferences = d((m) => m.inference_count);
  const perRequest = (ns: number) => (requests > 0 ? ns / requests / 1000 : null);
  return {
    meanBatch: executions > 0 ? inferences / executions : null,
    queueUs: perRequest(d((m) => m.inference_stats.queue.ns)),
    computeUs: perRequest(d((m) => m.inference_stats.compute_input.ns + m.inference_stats.compute_infer.ns + m.inference_stats.compute_output.ns)),
  };
}

/** Names of the nv_gpu_* series in a scrape (what Triton exports on this GPU). */
export function gpuSeriesOf(text: string): string[] {
  return [...new Set(parsePrometheusText(text).filter((s) => s.name.startsWith('nv_gpu_')).map((s) => s.name))].sort();
}
