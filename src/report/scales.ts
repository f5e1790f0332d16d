/**
 * The report's scales (d3-scale, configured for the charts) and its number and duration formatting.
 *
 * Axis ticks and tick labels come from the library: `scale.ticks(count)` gives round
 * 1, 2 or 5 × 10^k values and `scale.tickFormat(count)` prints them with the precision
 * their step needs.
 */
import { scaleLinear, type ScaleLinear } from 'd3-scale';

/** A linear scale whose non-numeric input (NaN) maps to the start of its range. */
export type LinearScale = ScaleLinear<number, number, number>;

/**
 * A finite, ascending, non-empty extent from raw bounds: non-finite bounds fall back to
 * 0 (min) and min + 1 (max), reversed bounds are swapped, and a zero-width extent is
 * widened (to [0, 1] at zero, by ±10 % elsewhere) so a scale over it still has ticks.
 */
export function safeExtent(min: number, max: number): [number, number] {
  let lo = Number.isFinite(min) ? min : 0;
  let hi = Number.isFinite(max) ? max : lo + 1;
  if (lo > hi) [lo, hi] = [hi, lo];
  if (lo === hi) {
    if (lo === 0) return [0, 1];
    const pad = Math.abs(lo) * 0.1;
    return [lo - pad, hi + pad];
  }
  return [lo, hi];
}

/**
 * A chart axis: the extent [min, max] (made safe by `safeExtent`) extended to round
 * values with `nice(count)`, mapped onto `range`. Its `ticks(count)` then run from the
 * first domain value to the last.
 */
export function axisScale(extent: readonly [number, number], range: readonly [number, number], count: number): LinearScale {
  return scaleLinear()
    .domain(safeExtent(extent[0], extent[1]))
    .range([range[0], range[1]])
    .nice(count)
    .unknown(range[0]);
}

/**
 * Elapsed time in ms from 0 to `spanMs` onto `range`, not extended, so bars fill the
 * range exactly. A zero or invalid span is taken as 1 ms.
 */
export function elapsedScale(spanMs: number, range: readonly [number, number]): LinearScale {
  return scaleLinear()
    .domain([0, Number.isFinite(spanMs) && spanMs > 0 ? spanMs : 1])
    .range([range[0], range[1]])
    .unknown(range[0]);
}

/** Human-readable number: up to `maxDecimals` decimals, trailing zeros dropped; `—` if absent. */
export function formatNumber(value: number | null | undefined, maxDecimals = 1): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '—';
  const fixed = value.toFixed(maxDecimals);
  return fixed.includes('.') ? fixed.replace(/\.?0+$/, '') : fixed;
}

/**
 * Formats a duration in milliseconds: `850 ms`, `1.2 s`, `3 m 05 s`, `1 h 02 m 05 s`.
 * Negative or non-finite input is treated as 0.
 */
export function formatDuration(ms: number): string {
  const v = Number.isFinite(ms) && ms > 0 ? ms : 0;
  if (v < 1000) return `${Math.round(v)} ms`;
  if (Math.round(v / 100) / 10 < 60) return `${(v / 1000).toFixed(1)} s`;
  const totalSec = Math.round(v / 1000);
  const s = totalSec % 60;
  const totalMin = Math.floor(totalSec / 60);
  if (totalMin < 60) return `${totalMin} m ${String(s).padStart(2, '0')} s`;
  const h = Math.floor(totalMin / 60);
  const m = totalMin % 60;
  return `${h} h ${String(m).padStart(2, '0')} m ${String(s).padStart(2, '0')} s`;
}
