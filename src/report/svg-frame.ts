/** The frame of the report's charts: grid, axes and tick labels around a plot area, as SVG markup. */
import { escapeHtml, fmtCoord } from './markup.js';
import type { LinearScale } from './scales.js';

export interface PlotArea {
  left: number;
  top: number;
  right: number;
  bottom: number;
}

export interface FrameAxis {
  scale: LinearScale;
  ticks: readonly number[];
  label: (tick: number) => string;
  /** The tick group's class (tests and styles find the labels by it). */
  className: string;
}

/**
 * Grid lines on the x and left-y ticks, the axes, and tick marks with labels: x below, y on the
 * left, and a second y on the right in its own colour where given.
 */
export function renderPlotFrame(plot: PlotArea, x: FrameAxis, y: FrameAxis, right?: FrameAxis & { color: string }): string[] {
  const c = fmtCoord;
  const out: string[] = [];
  out.push('<g class="grid" stroke="#e5e7eb" stroke-width="1">');
  for (const t of x.ticks) out.push(`<line x1="${c(x.scale(t))}" y1="${c(plot.top)}" x2="${c(x.scale(t))}" y2="${c(plot.bottom)}"/>`);
  for (const t of y.ticks) out.push(`<line x1="${c(plot.left)}" y1="${c(y.scale(t))}" x2="${c(plot.right)}" y2="${c(y.scale(t))}"/>`);
  out.push('</g>');
  out.push('<g class="axes" stroke="#374151" stroke-width="1">');
  out.push(`<line x1="${c(plot.left)}" y1="${c(plot.bottom)}" x2="${c(plot.right)}" y2="${c(plot.bottom)}"/>`);
  out.push(`<line x1="${c(plot.left)}" y1="${c(plot.top)}" x2="${c(plot.left)}" y2="${c(plot.bottom)}"/>`);
  if (right !== undefined) out.push(`<line x1="${c(plot.right)}" y1="${c(plot.top)}" x2="${c(plot.right)}" y2="${c(plot.bottom)}"/>`);
  out.push('</g>');
  out.push(`<g class="${x.className}" font-size="11" fill="#374151" text-anchor="middle">`);
  for (const t of x.ticks) {
    out.push(`<line x1="${c(x.scale(t))}" y1="${c(plot.bottom)}" x2="${c(x.scale(t))}" y2="${c(plot.bottom + 5)}" stroke="#374151"/>`);
    out.push(`<text x="${c(x.scale(t))}" y="${c(plot.bottom + 18)}">${escapeHtml(x.label(t))}</text>`);
  }
  out.push('</g>');
  out.push(`<g class="${y.className}" font-size="11" fill="#374151" text-anchor="end">`);
  for (const t of y.ticks) {
    out.push(`<line x1="${c(plot.left - 5)}" y1="${c(y.scale(t))}" x2="${c(plot.left)}" y2="${c(y.scale(t))}" stroke="#374151"/>`);
    out.push(`<text x="${c(plot.left - 8)}" y="${c(y.scale(t) + 4)}">${escapeHtml(y.label(t))}</text>`);
  }
  out.push('</g>');
  if (right !== undefined) {
    out.push(`<g class="${right.className}" font-size="11" fill="${right.color}" text-anchor="start">`);
    for (const t of right.ticks) {
      out.push(`<line x1="${c(plot.right)}" y1="${c(right.scale(t))}" x2="${c(plot.right + 5)}" y2="${c(right.scale(t))}" stroke="${right.color}"/>`);
      out.push(`<text x="${c(plot.right + 8)}" y="${c(right.scale(t) + 4)}">${escapeHtml(right.label(t))}</text>`);
    }
    out.push('</g>');
  }
  return out;
}
