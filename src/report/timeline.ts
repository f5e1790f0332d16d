/** The stage timeline: a Gantt-like inline SVG of the run's stages, scaled to the run's span. */
import { escapeHtml, fmtCoord } from './markup.js';
import { elapsedScale, formatDuration } from './scales.js';
import type { ReportStage } from './types.js';

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

export const STATUS_COLORS: Record<ReportStage['status'], string> = {
  pending: '#9ca3af',
  running: '#3b82f6',
  completed: '#16a34a',
  skipped: '#d1d5db',
  failed: '#dc2626',
  compensated: '#d97706',
};

/** Roughly how many elapsed-time ticks; the scale picks round values near it. */
const TIMELINE_TICK_COUNT = 6;

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
  const sx = elapsedScale(spanMs, [barLeft, barRight]);
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
    // Round elapsed times (ms) within the run's span.
    out.push('<g class="time-axis" font-size="10" fill="#6b7280" text-anchor="middle">');
    for (const t of sx.ticks(TIMELINE_TICK_COUNT)) {
      const tx = sx(t);
      out.push(`<line x1="${c(tx)}" y1="${c(axisHeight - 4)}" x2="${c(tx)}" y2="${c(rowsBottom)}" stroke="#e5e7eb"/>`);
      out.push(`<text x="${c(tx)}" y="${c(axisHeight - 10)}">${escapeHtml(t === 0 ? '0' : formatDuration(t))}</text>`);
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
