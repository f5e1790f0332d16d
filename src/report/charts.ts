/** The throughput (y) versus SLA-percentile latency (x) chart of one variant, as inline SVG. */
import { latencyAt, type PerfPoint } from '../triton/perf-types.js';
import { escapeHtml, fmtCoord } from './markup.js';
import { renderPlotFrame } from './svg-frame.js';
import { axisScale, formatNumber, type LinearScale } from './scales.js';
import type { ReportVariant } from './types.js';

/** Chart margins (px) around the plot area. */
export const CHART_MARGIN = { top: 24, right: 24, bottom: 100, left: 72 } as const;
const CHART_DEFAULT_WIDTH = 640;
const CHART_DEFAULT_HEIGHT = 420;
/** Roughly how many ticks per axis; the scale picks round values near it. */
export const CHART_TICK_COUNT = 6;

export interface ChartLayout {
  width: number;
  height: number;
  plot: { left: number; top: number; right: number; bottom: number };
  /** Round tick values from the start of `x`'s domain to its end, ascending. */
  xTicks: number[];
  /** Round tick values from the start of `y`'s domain to its end, ascending. */
  yTicks: number[];
  /** Latency (ms) to px; its domain is the data and the SLA bound, extended to round values. */
  x: LinearScale;
  /** Throughput (infer/s) to px, bottom-up; its domain is the data and the floor, extended to round values. */
  y: LinearScale;
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
  const x = axisScale([xMinRaw, xMaxRaw], [plot.left, plot.right], CHART_TICK_COUNT);
  const y = axisScale([yMinRaw, yMaxRaw], [plot.bottom, plot.top], CHART_TICK_COUNT);
  const xTicks = x.ticks(CHART_TICK_COUNT);
  const yTicks = y.ticks(CHART_TICK_COUNT);
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
  out.push(
    ...renderPlotFrame(
      plot,
      { scale: x, ticks: L.xTicks, label: x.tickFormat(CHART_TICK_COUNT), className: 'x-ticks' },
      { scale: y, ticks: L.yTicks, label: y.tickFormat(CHART_TICK_COUNT), className: 'y-ticks' },
    ),
  );

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
