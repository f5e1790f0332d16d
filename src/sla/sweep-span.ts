/**
 * How much of an SLA's concurrency range a sweep measures. A config's throughput at the latency
 * bound lies between the last concurrency within the bound and the first beyond it, and a range
 * chosen for a model puts that near its top: the two highest concurrencies carry the score, the
 * lower ones matter only when both of those are beyond the bound. Sweeping from the top halves a
 * search's measurement time on a range of four points. Pure.
 */
import { latencyAt, type PerfPoint } from '../triton/perf-types.js';
import type { SlaBound } from './evaluate.js';

export interface ConcurrencyRange {
  start: number;
  end: number;
  step: number;
}

/** `whole`: every concurrency of the range; `upper`: its top two, then the rest only if neither is within the bound. */
export type SweepSpan = 'whole' | 'upper';

/** The concurrencies perf_analyzer sweeps for a range: start, start + step, … up to end. */
export function concurrenciesOf(range: ConcurrencyRange): number[] {
  const out: number[] = [];
  for (let c = range.start; c <= range.end; c += range.step) out.push(c);
  return out;
}

const last = (range: ConcurrencyRange) => range.start + Math.floor((range.end - range.start) / range.step) * range.step;

/** The range's two highest concurrencies (its only one, for a range of one). */
export function upperRange(range: ConcurrencyRange): ConcurrencyRange {
  const top = last(range);
  return { start: Math.max(range.start, top - range.step), end: top, step: range.step };
}

/** The concurrencies below `upperRange`'s, or null where there are none. */
export function lowerRange(range: ConcurrencyRange): ConcurrencyRange | null {
  const end = upperRange(range).start - range.step;
  return end < range.start ? null : { start: range.start, end, step: range.step };
}

/**
 * The sweeps a span takes, highest concurrencies first: `whole` one sweep of the range; `upper`
 * one of its top two points, and one of the rest only when no point of the first is within the
 * latency bound (a config that saturates early, whose score lies lower in the range) and the first
 * was not cut short (then the sweep is inconclusive whatever the rest measures).
 */
export async function sweepSpan<T extends { points: readonly PerfPoint[]; cutShort?: unknown }>(
  range: ConcurrencyRange,
  span: SweepSpan,
  sla: Pick<SlaBound, 'latencyMs' | 'percentile'>,
  sweep: (range: ConcurrencyRange) => Promise<T>,
): Promise<T[]> {
  if (span === 'whole') return [await sweep(range)];
  const upper = await sweep(upperRange(range));
  const lower = lowerRange(range);
  const withinBound = upper.points.some((p) => latencyAt(p, sla.percentile) <= sla.latencyMs * 1000);
  return withinBound || lower === null || upper.cutShort !== undefined ? [upper] : [upper, await sweep(lower)];
}

/** The points of a span's sweeps, by concurrency. */
export function pointsOf(sweeps: readonly { points: readonly PerfPoint[] }[]): PerfPoint[] {
  return sweeps.flatMap((s) => s.points).sort((a, b) => a.concurrency - b.concurrency);
}
