/**
 * The bake period's verdict: the promoted live release, swept at a low concurrency while it serves
 * production, against what its preview measured at the same concurrency. Pure.
 */
import { latencyAt, type PerfPoint } from '../triton/perf-types.js';
import type { SlaBound } from './evaluate.js';

export interface BakePoint {
  throughput: number;
  latencyMs: number;
}

export interface BakeVerdict {
  regressed: boolean;
  concurrency: number;
  /** The live release at the bake concurrency (null: the sweep did not reach it). */
  live: BakePoint | null;
  /** The preview at the same concurrency, from validation (null: not measured there). */
  preview: BakePoint | null;
  reason: string;
}

function pointAt(points: readonly PerfPoint[], concurrency: number, sla: SlaBound): BakePoint | null {
  const point = points.find((p) => p.concurrency === concurrency);
  return point === undefined ? null : { throughput: point.throughput, latencyMs: latencyAt(point, sla.percentile) / 1000 };
}

/**
 * Regressed when the live release breaks the SLA's latency bound at the bake concurrency, or serves
 * less than the preview did there by more than the tolerance.
 */
export function bakeVerdict(live: readonly PerfPoint[], preview: readonly PerfPoint[], concurrency: number, sla: SlaBound, tolerance: number): BakeVerdict {
  const now = pointAt(live, concurrency, sla);
  const before = pointAt(preview, concurrency, sla);
  const base = { concurrency, live: now, preview: before };
  if (now === null) return { ...base, regressed: true, reason: `no measurement of the live release at c=${concurrency}` };
  const measured = `${now.throughput.toFixed(1)} infer/s, p${sla.percentile} ${now.latencyMs.toFixed(1)} ms at c=${concurrency}`;
  if (now.latencyMs > sla.latencyMs) {
    return { ...base, regressed: true, reason: `${measured}: above the SLA's ${sla.latencyMs} ms` };
  }
  if (before === null) return { ...base, regressed: false, reason: `${measured}: within the SLA (the preview has no point at c=${concurrency})` };
  const change = now.throughput / before.throughput - 1;
  const regressed = now.throughput < before.throughput * (1 - tolerance);
  const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
  return {
    ...base,
    regressed,
    reason: `${measured} vs the preview's ${before.throughput.toFixed(1)} infer/s (${change >= 0 ? '+' : ''}${pct(change)}, tolerance -${pct(tolerance)})`,
  };
}
