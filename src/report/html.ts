/**
 * Self-contained HTML run report for the Triton-on-GKE pipeline.
 *
 * Pure module: no I/O, no Node imports, no external libraries. The output uses
 * inline CSS and inline SVG only, so it renders offline without fetching anything.
 */
import { latencyAt, type PerfPoint } from '../triton/perf-types.js';

export interface ReportStage {
  name: string;
  status: 'pending' | 'running' | 'completed' | 'skipped' | 'failed' | 'compensated';
  /** ISO timestamp. */
  startedAt?: string;
  /** ISO timestamp. */
  endedAt?: string;
  detail?: string;
  attempts?: number;
}

export interface ReportVariant {
  model: string;
  variant: string;
  instances: number;
  maxBatchSize: number;
  points: PerfPoint[];
  sla: { latencyMs: number; percentile: 50 | 90 | 95 | 99; minThroughput: number };
  verdict: { passed: boolean; bestThroughput: number | null; latencyMsAtBest: number | null; reason: string };
  baselineThroughput?: number | null;
  /** The autoscaling metric read from Triton's /metrics over the sweep, described. */
  autoscaling?: string;
}

export interface RunReport {
  title: string;
  workflowId: string;
  runId: string;
  target: string;
  release: string;
  revision?: number;
  repositoryVersion?: string;
  outcome: 'succeeded' | 'failed' | 'rolled-back' | 'rejected' | 'aborted';
  failure?: string;
  generatedAt: string;
  stages: ReportStage[];
  variants: ReportVariant[];
  simulated: boolean;
  notes: string[];
}

// ---------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------

/** Escapes text for HTML/XML element content and quoted attribute values. */
export function escapeHtml(value: unknown): string {
  return String(value)
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

/** Formats an SVG coordinate: at most two decimals, never `-0`, never `NaN`. */
export function fmtCoord(n: number): string {
  if (!Number.isFinite(n)) return '0';
  const r = Math.round(n * 100) / 100;
  return Object.is(r, -0) ? '0' : String(r);
}

/** Decimal places needed to print multiples of `step` exactly (1-2-5 steps). */
function decimalsFor(step: number): number {
  if (!Number.isFinite(step) || step <= 0) return 0;
  return Math.min(10, Math.max(0, -Math.floor(Math.log10(step) + 1e-9)));
}

/** Rounds a positive span to a "nice" 1, 2, 5 × 10^k value. */
function niceStep(rawStep: number): number {
  const exp = Math.floor(Math.log10(rawStep));
  const base = Math.pow(10, exp);
  const f = rawStep / base;
  const nf = f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10;
  return nf * base;
}

/**
 * "Nice" axis ticks covering [min, max] with 1-2-5 × 10^k steps and roughly
 * `count` ticks. The first tick is ≤ min and the last ≥ max. Degenerate input
 * (non-finite, or min === max) still yields at least two distinct ticks.
 */
export function niceTicks(min: number, max: number, count = 5): number[] {
  let lo = Number.isFinite(min) ? min : 0;
  let hi = Number.isFinite(max) ? max : lo + 1;
  if (lo > hi) [lo, hi] = [hi, lo];
  if (lo === hi) {
    if (lo === 0) {
      hi = 1;
    } else {
      const pad = Math.abs(lo) * 0.1;
      lo -= pad;
      hi += pad;
    }
  }
  const n = Math.max(2, Math.floor(Number.isFinite(count) ? count : 5));
  const step = niceStep((hi - lo) / (n - 1));
  const dec = decimalsFor(step);
  const first = Math.floor(lo / step + 1e-9);
  const last = Math.ceil(hi / step - 1e-9);
  const ticks: number[] = [];
  for (let k = first; k <= last; k++) {
    const v = Number((k * step).toFixed(dec));
    ticks.push(Object.is(v, -0) ? 0 : v);
  }
  if (ticks.length < 2) ticks.push(Number(((first + 1) * step).toFixed(dec)));
  return ticks;
}

/**
 * Linear map from `domain` to `range`. A zero-width domain maps everything to
 * the middle of the range; non-finite input maps to range[0] (never NaN).
 */
export function linearScale(
  domain: readonly [number, number],
  range: readonly [number, number],
): (value: number) => number {
  const [d0, d1] = domain;
  const [r0, r1] = range;
  const span = d1 - d0;
  if (!Number.isFinite(span) || span === 0) {
    const mid = (r0 + r1) / 2;
    return () => mid;
  }
  return (value: number) => (Number.isFinite(value) ? r0 + ((value - d0) / span) * (r1 - r0) : r0);
}

/** Formats a tick value using the decimals implied by the tick step. */
function formatTick(value: number, step: number): string {
  return value.toFixed(decimalsFor(step));
}

/** Human-readable number: up to `maxDecimals` decimals, thin formatting. */
function formatNumber(value: number | null | undefined, maxDecimals = 1): string {
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

function parseTime(iso: string | undefined): number | null {
  if (iso === undefined || iso === '') return null;
  const t = Date.parse(iso);
  return Number.isFinite(t) ? t : null;
}

/** Duration of a stage in ms, or null if it lacks valid start/end times. */
export function stageDurationMs(stage: ReportStage): number | null {
  const s = parseTime(stage.startedAt);
  const e = parseTime(stage.endedAt);
  if (s === null || e === null || e < s) return null;
  return e - s;
}

// ---------------------------------------------------------------------------
// Throughput-vs-latency chart
// ---------------------------------------------------------------------------

/** Chart margins (px) around the plot area. */
export const CHART_MARGIN = { top: 24, right: 24, bottom: 100, left: 72 } as const;
const CHART_DEFAULT_WIDTH = 640;
const CHART_DEFAULT_HEIGHT = 420;
const CHART_TICK_COUNT = 6;

export interface ChartLayout {
  width: number;
  height: number;
  plot: { left: number; top: number; right: number; bottom: number };
  xTicks: number[];
  yTicks: number[];
  x: (latencyMs: number) => number;
  y: (throughput: number) => number;
  /** Finite points, sorted by concurrency, with latency (ms) at the SLA percentile. */
  series: { concurrency: number; latencyMs: number; throughput: number }[];
}

/** Computes the chart's scales; exported so callers and tests can locate marks. */
export function chartLayout(variant: ReportVariant, opts: { width?: number; height?: number } = {}): ChartLayout {
  const width = Math.max(240, opts.width ?? CHART_DEFAULT_WIDTH);
  const height = Math.max(200, opts.height ?? CHART_DEFAULT_HEIGHT);
  const plot = {
    left: CHART_MARGIN.left,
    top: CHART_MARGIN.top,
    right: width - CHART_MARGIN.right,
    bottom: height - CHART_MARGIN.bottom,
  };
  const series = variant.points
    .map((p) => ({
      concurrency: p.concurrency,
      latencyMs: latencyAt(p, variant.sla.percentile) / 1000,
      throughput: p.throughput,
    }))
    .filter((p) => Number.isFinite(p.latencyMs) && Number.isFinite(p.throughput))
    .sort((a, b) => a.concurrency - b.concurrency);

  const finiteOr0 = (n: number) => (Number.isFinite(n) ? n : 0);
  const xMaxRaw = Math.max(0, finiteOr0(variant.sla.latencyMs), ...series.map((p) => p.latencyMs)) * 1.05;
  const yMaxRaw = Math.max(0, finiteOr0(variant.sla.minThroughput), ...series.map((p) => p.throughput)) * 1.05;
  const xMinRaw = Math.min(0, ...series.map((p) => p.latencyMs));
  const yMinRaw = Math.min(0, ...series.map((p) => p.throughput));
  const xTicks = niceTicks(xMinRaw, xMaxRaw, CHART_TICK_COUNT);
  const yTicks = niceTicks(yMinRaw, yMaxRaw, CHART_TICK_COUNT);
  const x = linearScale([xTicks[0]!, xTicks[xTicks.length - 1]!], [plot.left, plot.right]);
  const y = linearScale([yTicks[0]!, yTicks[yTicks.length - 1]!], [plot.bottom, plot.top]);
  return { width, height, plot, xTicks, yTicks, x, y, series };
}

/** True when a point satisfies both the latency bound and the throughput floor. */
export function pointWithinSla(point: PerfPoint, sla: ReportVariant['sla']): boolean {
  const ms = latencyAt(point, sla.percentile) / 1000;
  return Number.isFinite(ms) && ms <= sla.latencyMs && point.throughput >= sla.minThroughput;
}

/** Renders the throughput (y) vs p-th percentile latency (x) chart as an `<svg>` element. */
export function renderThroughputLatencyChart(
  variant: ReportVariant,
  opts: { width?: number; height?: number } = {},
): string {
  const L = chartLayout(variant, opts);
  const { plot, x, y } = L;
  const c = fmtCoord;
  const pct = variant.sla.percentile;
  const label = `${variant.model} / ${variant.variant}`;
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" class="chart" width="${L.width}" height="${L.height}" ` +
      `viewBox="0 0 ${L.width} ${L.height}" role="img" aria-label="${escapeHtml(`Throughput versus p${pct} latency for ${label}`)}">`,
  );
  out.push(`<title>${escapeHtml(`Throughput vs p${pct} latency: ${label}`)}</title>`);
  out.push(`<rect class="bg" x="0" y="0" width="${L.width}" height="${L.height}" fill="#ffffff"/>`);

  // Shaded "meets SLA" region: left of the latency bound, above the throughput floor.
  const slaOk = Number.isFinite(variant.sla.latencyMs) && Number.isFinite(variant.sla.minThroughput);
  if (slaOk) {
    const rx0 = plot.left;
    const rx1 = Math.min(plot.right, Math.max(plot.left, x(variant.sla.latencyMs)));
    const ry0 = plot.top;
    const ry1 = Math.min(plot.bottom, Math.max(plot.top, y(variant.sla.minThroughput)));
    out.push(
      `<rect class="sla-region" x="${c(rx0)}" y="${c(ry0)}" width="${c(rx1 - rx0)}" height="${c(ry1 - ry0)}" ` +
        `fill="#16a34a" fill-opacity="0.1"/>`,
    );
  }

  // Grid and ticks.
  const xStep = L.xTicks.length > 1 ? L.xTicks[1]! - L.xTicks[0]! : 1;
  const yStep = L.yTicks.length > 1 ? L.yTicks[1]! - L.yTicks[0]! : 1;
  out.push('<g class="grid" stroke="#e5e7eb" stroke-width="1">');
  for (const t of L.xTicks) out.push(`<line x1="${c(x(t))}" y1="${c(plot.top)}" x2="${c(x(t))}" y2="${c(plot.bottom)}"/>`);
  for (const t of L.yTicks) out.push(`<line x1="${c(plot.left)}" y1="${c(y(t))}" x2="${c(plot.right)}" y2="${c(y(t))}"/>`);
  out.push('</g>');
  out.push('<g class="axes" stroke="#374151" stroke-width="1">');
  out.push(`<line x1="${c(plot.left)}" y1="${c(plot.bottom)}" x2="${c(plot.right)}" y2="${c(plot.bottom)}"/>`);
  out.push(`<line x1="${c(plot.left)}" y1="${c(plot.top)}" x2="${c(plot.left)}" y2="${c(plot.bottom)}"/>`);
  out.push('</g>');
  out.push('<g class="x-ticks" font-size="11" fill="#374151" text-anchor="middle">');
  for (const t of L.xTicks) {
    out.push(`<line x1="${c(x(t))}" y1="${c(plot.bottom)}" x2="${c(x(t))}" y2="${c(plot.bottom + 5)}" stroke="#374151"/>`);
    out.push(`<text x="${c(x(t))}" y="${c(plot.bottom + 18)}">${escapeHtml(formatTick(t, xStep))}</text>`);
  }
  out.push('</g>');
  out.push('<g class="y-ticks" font-size="11" fill="#374151" text-anchor="end">');
  for (const t of L.yTicks) {
    out.push(`<line x1="${c(plot.left - 5)}" y1="${c(y(t))}" x2="${c(plot.left)}" y2="${c(y(t))}" stroke="#374151"/>`);
    out.push(`<text x="${c(plot.left - 8)}" y="${c(y(t) + 4)}">${escapeHtml(formatTick(t, yStep))}</text>`);
  }
  out.push('</g>');

  // Axis titles.
  const midX = (plot.left + plot.right) / 2;
  const midY = (plot.top + plot.bottom) / 2;
  out.push(
    `<text class="axis-title x-title" x="${c(midX)}" y="${c(plot.bottom + 38)}" font-size="12" text-anchor="middle" fill="#111827">` +
      `p${pct} latency (ms)</text>`,
  );
  out.push(
    `<text class="axis-title y-title" x="0" y="0" transform="translate(16 ${c(midY)}) rotate(-90)" font-size="12" ` +
      `text-anchor="middle" fill="#111827">Throughput (infer/s)</text>`,
  );

  // SLA lines.
  if (Number.isFinite(variant.sla.latencyMs)) {
    const sx = x(variant.sla.latencyMs);
    out.push(
      `<line class="sla-latency" x1="${c(sx)}" y1="${c(plot.top)}" x2="${c(sx)}" y2="${c(plot.bottom)}" ` +
        `stroke="#dc2626" stroke-width="1.5" stroke-dasharray="6 4"/>`,
    );
  }
  if (Number.isFinite(variant.sla.minThroughput) && variant.sla.minThroughput > 0) {
    const sy = y(variant.sla.minThroughput);
    out.push(
      `<line class="sla-throughput" x1="${c(plot.left)}" y1="${c(sy)}" x2="${c(plot.right)}" y2="${c(sy)}" ` +
        `stroke="#d97706" stroke-width="1.5" stroke-dasharray="6 4"/>`,
    );
  }

  // Data series.
  if (L.series.length === 0) {
    out.push(
      `<text class="no-data" x="${c(midX)}" y="${c(midY)}" font-size="13" text-anchor="middle" fill="#6b7280">No measurements</text>`,
    );
  } else {
    const pts = L.series.map((p) => `${c(x(p.latencyMs))},${c(y(p.throughput))}`).join(' ');
    out.push(`<polyline class="series" points="${pts}" fill="none" stroke="#2563eb" stroke-width="2"/>`);
    out.push('<g class="markers">');
    for (const p of L.series) {
      const within = p.latencyMs <= variant.sla.latencyMs && p.throughput >= variant.sla.minThroughput;
      const px = x(p.latencyMs);
      const py = y(p.throughput);
      const tip = `concurrency ${p.concurrency}: ${formatNumber(p.throughput)} infer/s at p${pct} ${formatNumber(p.latencyMs, 2)} ms`;
      out.push(
        `<circle class="marker${within ? ' within-sla' : ''}" cx="${c(px)}" cy="${c(py)}" r="4" ` +
          `fill="${within ? '#2563eb' : '#ffffff'}" stroke="#2563eb" stroke-width="1.5"><title>${escapeHtml(tip)}</title></circle>`,
      );
      out.push(
        `<text class="marker-label" x="${c(px)}" y="${c(py - 8)}" font-size="10" text-anchor="middle" fill="#1f2937">` +
          `${escapeHtml(String(p.concurrency))}</text>`,
      );
    }
    out.push('</g>');
  }

  // Legend (two rows of two items below the x-axis title).
  const colW = Math.max(120, (plot.right - plot.left) / 2);
  const legendTop = plot.bottom + 56;
  const items: { swatch: string; text: string }[] = [
    {
      swatch: `<line x1="0" y1="0" x2="20" y2="0" stroke="#2563eb" stroke-width="2"/><circle cx="10" cy="0" r="3.5" fill="#2563eb"/>`,
      text: `measured (label = concurrency)`,
    },
    {
      swatch: `<rect x="0" y="-6" width="20" height="12" fill="#16a34a" fill-opacity="0.1" stroke="#16a34a" stroke-opacity="0.4"/>`,
      text: 'meets SLA',
    },
    {
      swatch: `<line x1="0" y1="0" x2="20" y2="0" stroke="#dc2626" stroke-width="1.5" stroke-dasharray="6 4"/>`,
      text: `SLA p${pct} ≤ ${formatNumber(variant.sla.latencyMs, 2)} ms`,
    },
    {
      swatch: `<line x1="0" y1="0" x2="20" y2="0" stroke="#d97706" stroke-width="1.5" stroke-dasharray="6 4"/>`,
      text: `floor ≥ ${formatNumber(variant.sla.minThroughput)} infer/s`,
    },
  ];
  out.push('<g class="legend" font-size="11" fill="#111827">');
  items.forEach((item, i) => {
    const lx = plot.left + (i % 2) * colW;
    const ly = legendTop + Math.floor(i / 2) * 18;
    out.push(
      `<g transform="translate(${c(lx)} ${c(ly)})">${item.swatch}<text x="26" y="4">${escapeHtml(item.text)}</text></g>`,
    );
  });
  out.push('</g>');
  out.push('</svg>');
  return out.join('');
}

// ---------------------------------------------------------------------------
// Stage timeline
// ---------------------------------------------------------------------------

export const STATUS_COLORS: Record<ReportStage['status'], string> = {
  pending: '#9ca3af',
  running: '#3b82f6',
  completed: '#16a34a',
  skipped: '#d1d5db',
  failed: '#dc2626',
  compensated: '#d97706',
};

/** Timeline layout constants (px). */
export const TIMELINE_LAYOUT = { labelWidth: 200, rightPad: 96, axisHeight: 28, rowHeight: 24, barHeight: 14, legendHeight: 28 } as const;

/** Renders a Gantt-like `<svg>`: one bar per timed stage, scaled to the run's span. */
export function renderStageTimeline(stages: ReportStage[], opts: { width?: number } = {}): string {
  const width = Math.max(TIMELINE_LAYOUT.labelWidth + TIMELINE_LAYOUT.rightPad + 100, opts.width ?? 800);
  const c = fmtCoord;
  const { labelWidth, rightPad, axisHeight, rowHeight, barHeight, legendHeight } = TIMELINE_LAYOUT;
  const rows = stages.map((s) => {
    const start = parseTime(s.startedAt);
    const dur = stageDurationMs(s);
    return { stage: s, start, dur };
  });
  const timed = rows.filter((r): r is { stage: ReportStage; start: number; dur: number } => r.start !== null && r.dur !== null);
  const t0 = timed.length ? Math.min(...timed.map((r) => r.start)) : 0;
  const t1 = timed.length ? Math.max(...timed.map((r) => r.start + r.dur)) : 0;
  const spanMs = t1 - t0;
  const barLeft = labelWidth;
  const barRight = width - rightPad;
  const sx = linearScale([0, spanMs > 0 ? spanMs : 1], [barLeft, barRight]);
  const height = axisHeight + Math.max(1, rows.length) * rowHeight + legendHeight;
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" class="timeline" width="${width}" height="${height}" ` +
      `viewBox="0 0 ${width} ${height}" role="img" aria-label="Stage timeline">`,
  );
  out.push('<title>Stage timeline</title>');
  out.push(`<rect class="bg" x="0" y="0" width="${width}" height="${height}" fill="#ffffff"/>`);

  // Time axis (elapsed since the first stage started).
  const rowsBottom = axisHeight + Math.max(1, rows.length) * rowHeight;
  if (timed.length) {
    const ticksSec = niceTicks(0, Math.max(spanMs, 1) / 1000, 6).filter((t) => t * 1000 <= Math.max(spanMs, 1) + 1e-6);
    out.push('<g class="time-axis" font-size="10" fill="#6b7280" text-anchor="middle">');
    for (const t of ticksSec) {
      const tx = sx(t * 1000);
      out.push(`<line x1="${c(tx)}" y1="${c(axisHeight - 4)}" x2="${c(tx)}" y2="${c(rowsBottom)}" stroke="#e5e7eb"/>`);
      out.push(`<text x="${c(tx)}" y="${c(axisHeight - 10)}">${escapeHtml(t === 0 ? '0' : formatDuration(t * 1000))}</text>`);
    }
    out.push('</g>');
  } else {
    out.push(
      `<text class="no-times" x="${c(barLeft)}" y="${c(axisHeight - 10)}" font-size="11" fill="#6b7280">No stage timings recorded</text>`,
    );
  }

  out.push('<g class="stages" font-size="12">');
  rows.forEach((r, i) => {
    const rowTop = axisHeight + i * rowHeight;
    const midY = rowTop + rowHeight / 2;
    const name = r.stage.name.length > 28 ? `${r.stage.name.slice(0, 27)}…` : r.stage.name;
    out.push(`<g class="stage-row" data-status="${escapeHtml(r.stage.status)}">`);
    out.push(`<title>${escapeHtml(`${r.stage.name} (${r.stage.status})`)}</title>`);
    out.push(`<text class="stage-name" x="8" y="${c(midY + 4)}" fill="#111827">${escapeHtml(name)}</text>`);
    if (r.start !== null && r.dur !== null) {
      const x0 = sx(r.start - t0);
      const x1 = sx(r.start - t0 + r.dur);
      const w = Math.max(2, x1 - x0);
      out.push(
        `<rect class="bar status-${escapeHtml(r.stage.status)}" x="${c(x0)}" y="${c(midY - barHeight / 2)}" ` +
          `width="${c(w)}" height="${barHeight}" rx="2" fill="${STATUS_COLORS[r.stage.status]}"/>`,
      );
      out.push(
        `<text class="duration" x="${c(x0 + w + 6)}" y="${c(midY + 4)}" font-size="11" fill="#374151">` +
          `${escapeHtml(formatDuration(r.dur))}</text>`,
      );
    } else {
      out.push(
        `<text class="untimed" x="${c(barLeft)}" y="${c(midY + 4)}" font-size="11" fill="#9ca3af">` +
          `${escapeHtml(`${r.stage.status} · not timed`)}</text>`,
      );
    }
    out.push('</g>');
  });
  out.push('</g>');

  // Legend of statuses present.
  const present = [...new Set(stages.map((s) => s.status))];
  out.push('<g class="legend" font-size="11" fill="#374151">');
  present.forEach((status, i) => {
    const lx = 8 + i * 110;
    const ly = rowsBottom + 16;
    out.push(
      `<g transform="translate(${c(lx)} ${c(ly)})"><rect x="0" y="-9" width="12" height="12" rx="2" fill="${STATUS_COLORS[status]}"/>` +
        `<text x="18" y="1">${escapeHtml(status)}</text></g>`,
    );
  });
  out.push('</g>');
  out.push('</svg>');
  return out.join('');
}

// ---------------------------------------------------------------------------
// Page
// ---------------------------------------------------------------------------

const CSS = `
:root { color-scheme: light; }
* { box-sizing: border-box; }
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif; margin: 0; padding: 24px; color: #111827; background: #f9fafb; line-height: 1.45; }
main { max-width: 1040px; margin: 0 auto; }
h1 { font-size: 1.6rem; margin: 0 0 12px; }
h2 { font-size: 1.25rem; margin: 28px 0 10px; border-bottom: 1px solid #e5e7eb; padding-bottom: 4px; }
h3 { font-size: 1.05rem; margin: 20px 0 8px; }
section, .card { background: #fff; border: 1px solid #e5e7eb; border-radius: 8px; padding: 16px; margin: 16px 0; }
table { border-collapse: collapse; width: 100%; font-size: 0.9rem; }
th, td { text-align: left; padding: 6px 8px; border-bottom: 1px solid #f3f4f6; vertical-align: top; }
th { background: #f9fafb; font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.summary th { width: 200px; }
.banner-simulated { background: #fef3c7; border: 2px solid #d97706; color: #78350f; border-radius: 8px; padding: 14px 18px; margin: 12px 0 20px; font-size: 1.05rem; font-weight: 600; }
.badge { display: inline-block; padding: 2px 8px; border-radius: 999px; font-size: 0.8rem; font-weight: 600; color: #fff; }
.outcome-succeeded { background: #16a34a; } .outcome-failed { background: #dc2626; }
.outcome-rolled-back { background: #d97706; } .outcome-rejected { background: #b45309; } .outcome-aborted { background: #6b7280; }
.status-pending { background: #9ca3af; } .status-running { background: #3b82f6; } .status-completed { background: #16a34a; }
.status-skipped { background: #9ca3af; } .status-failed { background: #dc2626; } .status-compensated { background: #d97706; }
.failure { color: #b91c1c; white-space: pre-wrap; }
tr.within-sla td { background: #ecfdf5; }
.verdict-pass { color: #15803d; font-weight: 700; } .verdict-fail { color: #b91c1c; font-weight: 700; }
.chart-wrap, .timeline-wrap { overflow-x: auto; }
.muted { color: #6b7280; }
pre, code { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 0.85rem; }
footer { margin-top: 32px; font-size: 0.8rem; color: #6b7280; }
`;

function row(label: string, valueHtml: string): string {
  return `<tr><th scope="row">${escapeHtml(label)}</th><td>${valueHtml}</td></tr>`;
}

function dash(value: string | number | undefined | null): string {
  return value === undefined || value === null || value === '' ? '<span class="muted">—</span>' : escapeHtml(value);
}

function latencyMsCell(us: number): string {
  return `<td class="num">${escapeHtml(formatNumber(us / 1000, 2))}</td>`;
}

function baselineHtml(v: ReportVariant): string {
  const base = v.baselineThroughput;
  if (base === undefined || base === null || !Number.isFinite(base)) {
    return '<span class="muted">No baseline available.</span>';
  }
  const best = v.verdict.bestThroughput;
  if (best === null || !Number.isFinite(best)) {
    return `Baseline ${escapeHtml(formatNumber(base))} infer/s; no SLA-compliant throughput to compare.`;
  }
  if (base <= 0) {
    return `Baseline ${escapeHtml(formatNumber(base))} infer/s; best ${escapeHtml(formatNumber(best))} infer/s.`;
  }
  const delta = ((best - base) / base) * 100;
  const sign = delta > 0 ? '+' : delta < 0 ? '−' : '±';
  const cls = delta >= 0 ? 'verdict-pass' : 'verdict-fail';
  return (
    `<span class="${cls}">${sign}${escapeHtml(Math.abs(delta).toFixed(1))}%</span> vs baseline ` +
    `(${escapeHtml(formatNumber(best))} vs ${escapeHtml(formatNumber(base))} infer/s)`
  );
}

function renderVariantSection(v: ReportVariant, index: number): string {
  const pct = v.sla.percentile;
  const points = [...v.points].sort((a, b) => a.concurrency - b.concurrency);
  const parts: string[] = [];
  parts.push(`<section class="variant" id="variant-${index + 1}">`);
  parts.push(`<h3>${escapeHtml(v.model)} <span class="muted">/</span> ${escapeHtml(v.variant)}</h3>`);
  parts.push(
    `<p class="muted">${escapeHtml(`${v.instances} instance(s), max batch size ${v.maxBatchSize}; SLA: p${pct} ≤ ${formatNumber(v.sla.latencyMs, 2)} ms, throughput ≥ ${formatNumber(v.sla.minThroughput)} infer/s`)}</p>`,
  );
  parts.push(
    `<p class="verdict">Verdict: <span class="${v.verdict.passed ? 'verdict-pass' : 'verdict-fail'}">${v.verdict.passed ? 'PASSED' : 'FAILED'}</span> — ` +
      `best throughput ${escapeHtml(formatNumber(v.verdict.bestThroughput))} infer/s at p${pct} ${escapeHtml(formatNumber(v.verdict.latencyMsAtBest, 2))} ms. ` +
      `${escapeHtml(v.verdict.reason)}</p>`,
  );
  parts.push(`<p class="baseline">Baseline comparison: ${baselineHtml(v)}</p>`);
  if (v.autoscaling !== undefined) parts.push(`<p class="autoscaling">Autoscaling metric at the SLA load (Triton /metrics): ${escapeHtml(v.autoscaling)}</p>`);
  parts.push(`<div class="chart-wrap">${renderThroughputLatencyChart(v)}</div>`);
  if (points.length === 0) {
    parts.push('<p class="muted">No perf_analyzer measurements were recorded.</p>');
  } else {
    const th = (p: 50 | 90 | 95 | 99) => `<th class="num" scope="col">p${p} (ms)${p === pct ? ' ★' : ''}</th>`;
    parts.push('<table class="points"><thead><tr>');
    parts.push(`<th class="num" scope="col">Concurrency</th><th class="num" scope="col">Throughput (infer/s)</th>`);
    parts.push(`${th(50)}${th(90)}${th(95)}${th(99)}<th scope="col">Within SLA</th></tr></thead><tbody>`);
    for (const p of points) {
      const ok = pointWithinSla(p, v.sla);
      parts.push(
        `<tr${ok ? ' class="within-sla"' : ''}><td class="num">${escapeHtml(String(p.concurrency))}</td>` +
          `<td class="num">${escapeHtml(formatNumber(p.throughput))}</td>` +
          latencyMsCell(p.latencyUs.p50) +
          latencyMsCell(p.latencyUs.p90) +
          latencyMsCell(p.latencyUs.p95) +
          latencyMsCell(p.latencyUs.p99) +
          `<td>${ok ? '✓ yes' : '<span class="muted">no</span>'}</td></tr>`,
      );
    }
    parts.push('</tbody></table>');
    parts.push(`<p class="muted">★ = SLA percentile. Highlighted rows meet both the latency bound and the throughput floor.</p>`);
  }
  parts.push('</section>');
  return parts.join('\n');
}

/** Renders the full, self-contained HTML5 report page. */
export function renderReportHtml(report: RunReport): string {
  const p: string[] = [];
  p.push('<!DOCTYPE html>');
  p.push('<html lang="en">');
  p.push('<head>');
  p.push('<meta charset="utf-8">');
  p.push('<meta name="viewport" content="width=device-width, initial-scale=1">');
  p.push(`<title>${escapeHtml(report.title)}</title>`);
  p.push(`<style>${CSS}</style>`);
  p.push('</head>');
  p.push('<body>');
  p.push('<main>');
  p.push(`<h1>${escapeHtml(report.title)}</h1>`);
  if (report.simulated) {
    p.push(
      '<div class="banner-simulated" role="alert"><strong>Simulated run.</strong> The performance numbers in this report come from the ' +
        'calibrated simulator, not from real GPUs. Do not use them for capacity decisions.</div>',
    );
  }

  p.push('<section class="summary-section"><h2>Summary</h2><table class="summary"><tbody>');
  p.push(row('Target', dash(report.target)));
  p.push(row('Release', dash(report.release)));
  p.push(row('Revision', dash(report.revision)));
  p.push(row('Repository version', dash(report.repositoryVersion)));
  p.push(row('Outcome', `<span class="badge outcome-${escapeHtml(report.outcome)}">${escapeHtml(report.outcome)}</span>`));
  p.push(
    row(
      'Failure',
      report.failure !== undefined && report.failure !== ''
        ? `<span class="failure">${escapeHtml(report.failure)}</span>`
        : dash(undefined),
    ),
  );
  p.push(row('Workflow ID', `<code>${escapeHtml(report.workflowId)}</code>`));
  p.push(row('Run ID', `<code>${escapeHtml(report.runId)}</code>`));
  p.push(row('Generated at', dash(report.generatedAt)));
  p.push(row('Data source', report.simulated ? 'calibrated simulator' : 'measured on GPUs'));
  p.push('</tbody></table></section>');

  p.push('<section class="stages-section"><h2>Stages</h2>');
  if (report.stages.length === 0) {
    p.push('<p class="muted">No stages recorded.</p>');
  } else {
    p.push('<table class="stages"><thead><tr><th scope="col">Stage</th><th scope="col">Status</th>');
    p.push('<th class="num" scope="col">Attempts</th><th class="num" scope="col">Duration</th><th scope="col">Detail</th></tr></thead><tbody>');
    for (const s of report.stages) {
      const d = stageDurationMs(s);
      p.push(
        `<tr><td>${escapeHtml(s.name)}</td>` +
          `<td><span class="badge status-${escapeHtml(s.status)}">${escapeHtml(s.status)}</span></td>` +
          `<td class="num">${dash(s.attempts)}</td>` +
          `<td class="num">${d === null ? dash(undefined) : escapeHtml(formatDuration(d))}</td>` +
          `<td>${dash(s.detail)}</td></tr>`,
      );
    }
    p.push('</tbody></table>');
    p.push(`<div class="timeline-wrap">${renderStageTimeline(report.stages)}</div>`);
  }
  p.push('</section>');

  p.push('<h2>Performance</h2>');
  if (report.variants.length === 0) {
    p.push('<p class="muted">No model variants were analysed in this run.</p>');
  } else {
    report.variants.forEach((v, i) => p.push(renderVariantSection(v, i)));
  }

  p.push('<section class="notes-section"><h2>Notes</h2>');
  if (report.notes.length === 0) {
    p.push('<p class="muted">No notes.</p>');
  } else {
    p.push(`<ul class="notes">${report.notes.map((n) => `<li>${escapeHtml(n)}</li>`).join('')}</ul>`);
  }
  p.push('</section>');
  p.push(`<footer>Generated ${escapeHtml(report.generatedAt)} · workflow ${escapeHtml(report.workflowId)} · run ${escapeHtml(report.runId)}</footer>`);
  p.push('</main>');
  p.push('</body>');
  p.push('</html>');
  return p.join('\n') + '\n';
}
