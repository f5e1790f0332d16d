/**
 * The load drill's timeline as inline SVG: over the seconds since the load started, the
 * Deployment's replicas (and those Ready) and the GPU pool's Ready nodes as step lines on the
 * left axis, the metric the HPA read as a line on the right axis with its target, the load phase
 * shaded and the moment the load stopped marked.
 */
import type { AutoscalingSpec } from '../spec/schema.js';
import type { LoadDrillResult } from '../plan/load-drill.js';
import { escapeHtml, fmtCoord } from './markup.js';
import { renderPlotFrame } from './svg-frame.js';
import { axisScale, formatDuration, formatNumber, safeExtent, type LinearScale } from './scales.js';

/** The HPA metric's unit, as the drill's axis and tables print it. */
export const DRILL_METRIC_UNIT: Record<AutoscalingSpec['metric'], string> = {
  'triton-queue-time-us': 'µs',
  'triton-inflight-requests': 'requests',
  'gpu-utilization': '%',
};

/** Decimals a metric's value is printed with (queue time in whole µs, requests to two places). */
export const DRILL_METRIC_DECIMALS: Record<AutoscalingSpec['metric'], number> = {
  'triton-queue-time-us': 0,
  'triton-inflight-requests': 2,
  'gpu-utilization': 1,
};

/** Chart margins (px) around the plot area: room for a right axis and a two-row legend below. */
export const DRILL_MARGIN = { top: 24, right: 80, bottom: 104, left: 64 } as const;
const DRILL_DEFAULT_WIDTH = 760;
const DRILL_DEFAULT_HEIGHT = 420;
const DRILL_TICK_COUNT = 6;

export const DRILL_COLORS = {
  replicas: '#2563eb',
  readyReplicas: '#60a5fa',
  nodes: '#16a34a',
  metric: '#d97706',
  target: '#dc2626',
  loadStopped: '#374151',
  loadBand: '#3b82f6',
} as const;

export interface DrillTimelineLayout {
  width: number;
  height: number;
  plot: { left: number; top: number; right: number; bottom: number };
  /** Seconds since the load started to px; domain from 0 over the last look (and the load's end). */
  x: LinearScale;
  /** Pods / nodes to px, bottom-up; domain 0 .. the peak count + 1, extended to round values. */
  yCount: LinearScale;
  /** The HPA's metric to px, bottom-up; domain 0 .. max(peak metric, target) × 1.1, extended to round values. */
  yMetric: LinearScale;
  xTicks: number[];
  /** Integer ticks only. */
  countTicks: number[];
  metricTicks: number[];
}

/** Finite or null. */
function finite(n: number | null | undefined): number | null {
  return n !== null && n !== undefined && Number.isFinite(n) ? n : null;
}

/** The looks in time order, with non-finite values dropped (counts to 0, metrics to null). */
function cleanSamples(result: LoadDrillResult) {
  return result.samples
    .filter((s) => Number.isFinite(s.at))
    .map((s) => ({
      at: s.at,
      phase: s.phase,
      replicas: finite(s.replicas) ?? 0,
      readyReplicas: finite(s.readyReplicas) ?? 0,
      nodes: finite(s.nodes) ?? 0,
      metric: finite(s.hpa?.metric),
    }))
    .sort((a, b) => a.at - b.at);
}

/** Computes the timeline's scales; exported so callers and tests can locate marks. */
export function drillTimelineLayout(result: LoadDrillResult, opts: { width?: number; height?: number } = {}): DrillTimelineLayout {
  const width = Math.max(320, opts.width ?? DRILL_DEFAULT_WIDTH);
  const height = Math.max(240, opts.height ?? DRILL_DEFAULT_HEIGHT);
  const plot = {
    left: DRILL_MARGIN.left,
    top: DRILL_MARGIN.top,
    right: width - DRILL_MARGIN.right,
    bottom: height - DRILL_MARGIN.bottom,
  };
  const samples = cleanSamples(result);
  const lastAt = samples.length === 0 ? 0 : samples[samples.length - 1]!.at;
  const loadSeconds = finite(result.loadSeconds) ?? 0;
  const x = axisScale(safeExtent(0, Math.max(lastAt, loadSeconds)), [plot.left, plot.right], DRILL_TICK_COUNT);

  const peakCount = Math.max(
    0,
    finite(result.peak.replicas) ?? 0,
    finite(result.peak.nodes) ?? 0,
    ...samples.flatMap((s) => [s.replicas, s.readyReplicas, s.nodes]),
  );
  const yCount = axisScale([0, Math.ceil(peakCount) + 1], [plot.bottom, plot.top], DRILL_TICK_COUNT);

  const peakMetric = Math.max(0, finite(result.peak.metric) ?? 0, finite(result.target) ?? 0, ...samples.flatMap((s) => (s.metric === null ? [] : [s.metric])));
  const yMetric = axisScale(safeExtent(0, peakMetric * 1.1), [plot.bottom, plot.top], DRILL_TICK_COUNT);

  return {
    width,
    height,
    plot,
    x,
    yCount,
    yMetric,
    xTicks: x.ticks(DRILL_TICK_COUNT),
    countTicks: yCount.ticks(DRILL_TICK_COUNT).filter((t) => Number.isInteger(t)),
    metricTicks: yMetric.ticks(DRILL_TICK_COUNT),
  };
}

/**
 * A step line through (at, value) pairs: each value holds until the next look, so n looks give
 * 2n − 1 vertices (a level segment, then a riser, per step).
 */
function stepPath(points: readonly { x: number; y: number }[]): string {
  const c = fmtCoord;
  const parts: string[] = [];
  points.forEach((p, i) => {
    if (i === 0) parts.push(`M${c(p.x)},${c(p.y)}`);
    else parts.push(`L${c(p.x)},${c(points[i - 1]!.y)}`, `L${c(p.x)},${c(p.y)}`);
  });
  return parts.join(' ');
}

/** A line through the readings, broken (a new `M`) wherever the HPA had none. */
function brokenLinePath(points: readonly { x: number; y: number | null }[]): { d: string; isolated: { x: number; y: number }[] } {
  const c = fmtCoord;
  const parts: string[] = [];
  const isolated: { x: number; y: number }[] = [];
  points.forEach((p, i) => {
    if (p.y === null) return;
    const prev = points[i - 1];
    const next = points[i + 1];
    const starts = prev === undefined || prev.y === null;
    parts.push(`${starts ? 'M' : 'L'}${c(p.x)},${c(p.y)}`);
    if (starts && (next === undefined || next.y === null)) isolated.push({ x: p.x, y: p.y });
  });
  return { d: parts.join(' '), isolated };
}

/** The metric's axis title: its name and unit. */
export function drillMetricTitle(metric: AutoscalingSpec['metric']): string {
  return `${metric} (${DRILL_METRIC_UNIT[metric] ?? ''})`;
}

/** Renders the drill's timeline as an `<svg>` element; a drill without looks gets a short note in one. */
export function renderDrillTimeline(result: LoadDrillResult, opts: { width?: number; height?: number } = {}): string {
  const c = fmtCoord;
  const samples = cleanSamples(result);
  const label = `Load drill timeline for ${result.variant} at concurrency ${result.concurrency}`;
  const open = (w: number, h: number, aria: string) =>
    `<svg xmlns="http://www.w3.org/2000/svg" class="drill-chart" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" role="img" aria-label="${escapeHtml(aria)}">`;

  if (samples.length === 0) {
    const w = Math.max(320, opts.width ?? DRILL_DEFAULT_WIDTH);
    const h = 64;
    return [
      open(w, h, `${label}: no samples`),
      `<title>${escapeHtml(`${label}: no samples`)}</title>`,
      `<rect class="bg" x="0" y="0" width="${w}" height="${h}" fill="#ffffff"/>`,
      `<text class="no-data" x="${c(w / 2)}" y="${c(h / 2 + 4)}" font-size="13" text-anchor="middle" fill="#6b7280">No samples: the drill recorded no looks</text>`,
      '</svg>',
    ].join('');
  }

  const L = drillTimelineLayout(result, opts);
  const { plot, x, yCount, yMetric } = L;
  const unit = DRILL_METRIC_UNIT[result.metric] ?? '';
  const digits = DRILL_METRIC_DECIMALS[result.metric] ?? 1;
  const loadSeconds = finite(result.loadSeconds) ?? 0;
  const target = finite(result.target);
  const lastAt = samples[samples.length - 1]!.at;
  const aria =
    `${label}: replicas ${result.baseline.replicas}→${result.peak.replicas}, nodes ${result.baseline.nodes}→${result.peak.nodes}, ` +
    `${result.metric} peak ${formatNumber(result.peak.metric, digits)} ${unit} against target ${formatNumber(target, digits)}; ` +
    `load held ${formatDuration(loadSeconds * 1000)}, ${samples.length} look${samples.length === 1 ? '' : 's'} over ${formatDuration(lastAt * 1000)}`;
  const out: string[] = [];
  out.push(open(L.width, L.height, aria));
  out.push(`<title>${escapeHtml(`Load drill: ${result.variant}, concurrency ${result.concurrency} (${result.outcome})`)}</title>`);
  out.push(`<rect class="bg" x="0" y="0" width="${L.width}" height="${L.height}" fill="#ffffff"/>`);

  // The load phase, shaded.
  const bandRight = Math.min(plot.right, Math.max(plot.left, x(loadSeconds)));
  if (bandRight > plot.left) {
    out.push(
      `<rect class="load-band" x="${c(plot.left)}" y="${c(plot.top)}" width="${c(bandRight - plot.left)}" height="${c(plot.bottom - plot.top)}" ` +
        `fill="${DRILL_COLORS.loadBand}" fill-opacity="0.07"/>`,
    );
  }

  // Grid (on the count axis and the time axis), axes, ticks.
  out.push(
    ...renderPlotFrame(
      plot,
      { scale: x, ticks: L.xTicks, label: x.tickFormat(DRILL_TICK_COUNT), className: 'x-ticks' },
      { scale: yCount, ticks: L.countTicks, label: String, className: 'count-ticks' },
      { scale: yMetric, ticks: L.metricTicks, label: yMetric.tickFormat(DRILL_TICK_COUNT), className: 'metric-ticks', color: DRILL_COLORS.metric },
    ),
  );

  // Axis titles.
  const midX = (plot.left + plot.right) / 2;
  const midY = (plot.top + plot.bottom) / 2;
  out.push(
    `<text class="axis-title x-title" x="${c(midX)}" y="${c(plot.bottom + 38)}" font-size="12" text-anchor="middle" fill="#111827">` +
      'seconds since the load started</text>',
  );
  out.push(
    `<text class="axis-title count-title" x="0" y="0" transform="translate(16 ${c(midY)}) rotate(-90)" font-size="12" ` +
      'text-anchor="middle" fill="#111827">pods / nodes</text>',
  );
  out.push(
    `<text class="axis-title metric-title" x="0" y="0" transform="translate(${c(L.width - 12)} ${c(midY)}) rotate(90)" font-size="12" ` +
      `text-anchor="middle" fill="${DRILL_COLORS.metric}">${escapeHtml(drillMetricTitle(result.metric))}</text>`,
  );

  // The target and the load's end.
  if (target !== null) {
    const ty = yMetric(target);
    out.push(
      `<line class="target-line" x1="${c(plot.left)}" y1="${c(ty)}" x2="${c(plot.right)}" y2="${c(ty)}" ` +
        `stroke="${DRILL_COLORS.target}" stroke-width="1.5" stroke-dasharray="6 4"/>`,
    );
    out.push(
      `<text class="target-label" x="${c(plot.right - 4)}" y="${c(ty - 5)}" font-size="11" text-anchor="end" fill="${DRILL_COLORS.target}">` +
        `${escapeHtml(`target ${formatNumber(target, digits)} ${unit}`)}</text>`,
    );
  }
  const lx = x(loadSeconds);
  if (lx >= plot.left && lx <= plot.right) {
    out.push(
      `<line class="load-stopped" x1="${c(lx)}" y1="${c(plot.top)}" x2="${c(lx)}" y2="${c(plot.bottom)}" ` +
        `stroke="${DRILL_COLORS.loadStopped}" stroke-width="1.5" stroke-dasharray="4 4"/>`,
    );
    const nearRight = lx > plot.right - 90;
    out.push(
      `<text class="load-stopped-label" x="${c(nearRight ? lx - 4 : lx + 4)}" y="${c(plot.top + 12)}" font-size="11" ` +
        `text-anchor="${nearRight ? 'end' : 'start'}" fill="${DRILL_COLORS.loadStopped}">` +
        `${escapeHtml(`load stopped (${formatNumber(loadSeconds, 0)} s)`)}</text>`,
    );
  }

  // Series: nodes underneath (wide, pale), then replicas, ready replicas dotted, the metric on top.
  const at = samples.map((s) => x(s.at));
  const step = (cls: string, value: (s: (typeof samples)[number]) => number, stroke: string, extra: string, tip: string) => {
    const pts = samples.map((s, i) => ({ x: at[i]!, y: yCount(value(s)) }));
    out.push(`<path class="series ${cls}" d="${stepPath(pts)}" fill="none" stroke="${stroke}" ${extra}><title>${escapeHtml(tip)}</title></path>`);
    if (samples.length === 1) out.push(`<circle class="dot ${cls}" cx="${c(pts[0]!.x)}" cy="${c(pts[0]!.y)}" r="3" fill="${stroke}"/>`);
  };
  step('nodes', (s) => s.nodes, DRILL_COLORS.nodes, 'stroke-width="5" stroke-opacity="0.45" stroke-linejoin="round"', 'ready nodes in the GPU pool');
  step('replicas', (s) => s.replicas, DRILL_COLORS.replicas, 'stroke-width="2"', 'Deployment replicas');
  step('ready-replicas', (s) => s.readyReplicas, DRILL_COLORS.readyReplicas, 'stroke-width="2" stroke-dasharray="2 3"', 'ready replicas');
  const metric = brokenLinePath(samples.map((s, i) => ({ x: at[i]!, y: s.metric === null ? null : yMetric(s.metric) })));
  out.push(
    `<path class="series metric" d="${metric.d}" fill="none" stroke="${DRILL_COLORS.metric}" stroke-width="2" stroke-linejoin="round">` +
      `<title>${escapeHtml(`${result.metric} as the HPA read it`)}</title></path>`,
  );
  for (const p of metric.isolated) out.push(`<circle class="dot metric" cx="${c(p.x)}" cy="${c(p.y)}" r="3" fill="${DRILL_COLORS.metric}"/>`);
  if (samples.every((s) => s.metric === null)) {
    out.push(
      `<text class="no-metric" x="${c(midX)}" y="${c(plot.top + 28)}" font-size="12" text-anchor="middle" fill="#6b7280">` +
        `${escapeHtml(`the HPA read no ${result.metric}`)}</text>`,
    );
  }

  // Legend: two rows below the x-axis title.
  const swatch = (stroke: string, extra: string) => `<line x1="0" y1="0" x2="20" y2="0" stroke="${stroke}" ${extra}/>`;
  const items: { swatch: string; text: string }[] = [
    { swatch: swatch(DRILL_COLORS.replicas, 'stroke-width="2"'), text: 'replicas' },
    { swatch: swatch(DRILL_COLORS.readyReplicas, 'stroke-width="2" stroke-dasharray="2 3"'), text: 'ready replicas' },
    { swatch: swatch(DRILL_COLORS.nodes, 'stroke-width="5" stroke-opacity="0.45"'), text: 'ready GPU nodes' },
    { swatch: swatch(DRILL_COLORS.metric, 'stroke-width="2"'), text: `${result.metric} (right axis)` },
    { swatch: swatch(DRILL_COLORS.target, 'stroke-width="1.5" stroke-dasharray="6 4"'), text: 'target' },
    { swatch: swatch(DRILL_COLORS.loadStopped, 'stroke-width="1.5" stroke-dasharray="4 4"'), text: 'load stopped' },
    {
      swatch: `<rect x="0" y="-6" width="20" height="12" fill="${DRILL_COLORS.loadBand}" fill-opacity="0.12" stroke="${DRILL_COLORS.loadBand}" stroke-opacity="0.3"/>`,
      text: 'load phase',
    },
  ];
  const perRow = 4;
  const colW = Math.max(110, (plot.right - plot.left) / perRow);
  const legendTop = plot.bottom + 62;
  out.push('<g class="legend" font-size="11" fill="#111827">');
  items.forEach((item, i) => {
    const ix = plot.left + (i % perRow) * colW;
    const iy = legendTop + Math.floor(i / perRow) * 18;
    out.push(`<g transform="translate(${c(ix)} ${c(iy)})">${item.swatch}<text x="26" y="4">${escapeHtml(item.text)}</text></g>`);
  });
  out.push('</g>');
  out.push('</svg>');
  return out.join('');
}
