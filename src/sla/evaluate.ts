/**
 * The SLA gate: the best throughput a variant sustains within the latency bound, checked against
 * the throughput floor and against the previous release's baseline. Pure.
 */
import { latencyAt, type LatencyPercentile, type PerfPoint } from '../triton/perf-types.js';

export interface SlaBound {
  latencyMs: number;
  percentile: LatencyPercentile;
  minThroughput: number;
}

export interface SlaVerdict {
  passed: boolean;
  /** Highest throughput among points within the latency bound (null: none within it). */
  bestThroughput: number | null;
  latencyMsAtBest: number | null;
  concurrencyAtBest: number | null;
  reason: string;
}

export function evaluateSla(points: readonly PerfPoint[], sla: SlaBound): SlaVerdict {
  const boundUs = sla.latencyMs * 1000;
  const within = points.filter((p) => latencyAt(p, sla.percentile) <= boundUs);
  const best = within.reduce<PerfPoint | null>((b, p) => (b === null || p.throughput > b.throughput ? p : b), null);
  const label = `p${sla.percentile} <= ${sla.latencyMs} ms`;
  if (best === null) {
    const fastest = Math.min(...points.map((p) => latencyAt(p, sla.percentile) / 1000));
    return {
      passed: false,
      bestThroughput: null,
      latencyMsAtBest: null,
      concurrencyAtBest: null,
      reason:
        points.length === 0
          ? 'no measurements'
          : `no concurrency meets ${label} (fastest p${sla.percentile} ${fastest.toFixed(1)} ms)`,
    };
  }
  const latencyMs = latencyAt(best, sla.percentile) / 1000;
  const passed = best.throughput >= sla.minThroughput;
  return {
    passed,
    bestThroughput: best.throughput,
    latencyMsAtBest: latencyMs,
    concurrencyAtBest: best.concurrency,
    reason: `${best.throughput.toFixed(1)} infer/s at ${label} (c=${best.concurrency}, ${latencyMs.toFixed(1)} ms) ${
      passed ? '>=' : '<'
    } floor ${sla.minThroughput} infer/s`,
  };
}

/**
 * The throughput a config sustains at the latency bound: along the concurrency sweep, interpolated
 * linearly between the last point within the bound and the first beyond it (throughput against
 * latency), or the best point when none is beyond. It ranks configs by their capacity at the SLA
 * itself, not by which concurrencies happened to be measured. Null when no point is within.
 */
export function throughputAtBound(points: readonly PerfPoint[], sla: Pick<SlaBound, 'latencyMs' | 'percentile'>): number | null {
  const boundUs = sla.latencyMs * 1000;
  const sorted = [...points].sort((a, b) => a.concurrency - b.concurrency);
  const firstBeyond = sorted.findIndex((p) => latencyAt(p, sla.percentile) > boundUs);
  const within = firstBeyond === -1 ? sorted : sorted.slice(0, firstBeyond);
  if (within.length === 0) return null;
  const best = Math.max(...within.map((p) => p.throughput));
  if (firstBeyond === -1) return best;
  const below = within.at(-1)!;
  const above = sorted[firstBeyond]!;
  const [l0, l1] = [latencyAt(below, sla.percentile), latencyAt(above, sla.percentile)];
  const atBound = below.throughput + ((boundUs - l0) / (l1 - l0)) * (above.throughput - below.throughput);
  return Math.max(best, atBound);
}

export interface BaselineComparison {
  regressed: boolean;
  /** Relative change of SLA-bounded throughput versus the baseline (-0.2 = 20% worse). */
  change: number | null;
  reason: string;
}

/** A variant regresses when its SLA-bounded throughput falls below baseline × (1 − tolerance). */
export function compareWithBaseline(current: number | null, baseline: number | null, tolerance: number): BaselineComparison {
  if (baseline === null || baseline <= 0) {
    return { regressed: false, change: null, reason: 'no baseline from a previous release' };
  }
  const value = current ?? 0;
  const change = value / baseline - 1;
  const regressed = value < baseline * (1 - tolerance);
  const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
  return {
    regressed,
    change,
    reason: `${value.toFixed(1)} vs baseline ${baseline.toFixed(1)} infer/s (${change >= 0 ? '+' : ''}${pct(change)}, tolerance -${pct(tolerance)})`,
  };
}

/** Whether a candidate's SLA-bounded throughput beats the live one by the required margin. */
export function beatsByMargin(candidate: number | null, live: number | null, margin: number): boolean {
  if (candidate === null) return false;
  if (live === null || live <= 0) return true;
  return candidate >= live * (1 + margin);
}
