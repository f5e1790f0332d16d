/**
 * The self-contained HTML run report page: summary, stages, performance per variant, the load drill, notes.
 *
 * Pure: no I/O, no Node imports. The page uses inline CSS and inline SVG only, so it renders
 * offline without fetching anything.
 */
import type { LoadDrillResult } from '../plan/load-drill.js';
import { pointWithinSla, renderThroughputLatencyChart } from './charts.js';
import { DRILL_METRIC_DECIMALS, DRILL_METRIC_UNIT, renderDrillTimeline } from './drill-chart.js';
import { escapeHtml } from './markup.js';
import { formatDuration, formatNumber } from './scales.js';
import { renderStageTimeline, stageDurationMs } from './timeline.js';
import type { ReportVariant, RunReport } from './types.js';

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
.drill-scaled-up-and-back { background: #16a34a; } .drill-no-scale-up { background: #dc2626; } .drill-no-scale-down { background: #d97706; }
tr.disagree td { background: #fef2f2; }
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

function secondsHtml(seconds: number | null | undefined): string {
  return seconds === null || seconds === undefined || !Number.isFinite(seconds) ? dash(undefined) : escapeHtml(`${formatNumber(seconds, 0)} s`);
}

function renderLoadDrillSection(d: LoadDrillResult): string {
  const unit = DRILL_METRIC_UNIT[d.metric];
  const digits = DRILL_METRIC_DECIMALS[d.metric];
  const metricHtml = (v: number | null | undefined) => (v === null || v === undefined || !Number.isFinite(v) ? dash(undefined) : escapeHtml(formatNumber(v, digits)));
  const parts: string[] = [];
  parts.push('<section class="drill-section"><h2>Load drill</h2>');
  parts.push('<table class="summary drill-summary"><tbody>');
  parts.push(row('Outcome', `<span class="badge drill-${escapeHtml(d.outcome)}">${escapeHtml(d.outcome)}</span>`));
  parts.push(row('Variant', dash(d.variant)));
  parts.push(row('Concurrency', dash(d.concurrency)));
  parts.push(row('Pods (baseline → peak)', `${dash(d.baseline.replicas)} → ${dash(d.peak.replicas)}`));
  parts.push(row('Nodes (baseline → peak)', `${dash(d.baseline.nodes)} → ${dash(d.peak.nodes)}`));
  parts.push(
    row(
      'HPA metric',
      `${escapeHtml(d.metric)}: peak ${metricHtml(d.peak.metric)} ${escapeHtml(unit)}, target ${metricHtml(d.target)} ${escapeHtml(unit)}`,
    ),
  );
  parts.push(row('Scaled up after', secondsHtml(d.scaleUpSeconds)));
  parts.push(row('Node added after', secondsHtml(d.nodeAddedSeconds)));
  parts.push(row('Scaled down after the load', secondsHtml(d.scaleDownSeconds)));
  parts.push(row('Load held', secondsHtml(d.loadSeconds)));
  parts.push(row('Message', dash(d.message)));
  parts.push('</tbody></table>');
  parts.push(`<div class="chart-wrap">${renderDrillTimeline(d)}</div>`);
  parts.push('<h3>HPA decisions</h3>');
  if (d.decisions.length === 0) {
    parts.push('<p class="muted">No look where the HPA decided on its replica computation alone (a reading, nothing held back, every counted pod Ready).</p>');
  } else {
    parts.push('<table class="decisions"><thead><tr>');
    parts.push(
      `<th class="num" scope="col">At (s)</th><th class="num" scope="col">Current replicas</th><th class="num" scope="col">${escapeHtml(`Metric (${unit})`)}</th>` +
        '<th class="num" scope="col">HPA desired</th><th class="num" scope="col">Pipeline desired</th><th scope="col">Agree</th></tr></thead><tbody>',
    );
    for (const h of d.decisions) {
      const agree = h.hpaDesired === h.pipelineDesired;
      parts.push(
        `<tr${agree ? '' : ' class="disagree"'}><td class="num">${escapeHtml(formatNumber(h.at, 0))}</td>` +
          `<td class="num">${dash(h.currentReplicas)}</td>` +
          `<td class="num">${metricHtml(h.metric)}</td>` +
          `<td class="num">${dash(h.hpaDesired)}</td>` +
          `<td class="num">${dash(h.pipelineDesired)}</td>` +
          `<td>${agree ? '<span class="verdict-pass">✓</span>' : '<span class="verdict-fail">✗</span>'}</td></tr>`,
      );
    }
    parts.push('</tbody></table>');
    parts.push('<p class="muted">Pipeline desired = the replica count the pipeline computes from the same reading (ceil(current × metric / target) outside a 10 % tolerance, within min/max replicas).</p>');
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
  if (report.loadDrill !== undefined) p.push(renderLoadDrillSection(report.loadDrill));

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
