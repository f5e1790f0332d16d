import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CHART_MARGIN, chartLayout, escapeHtml, formatDuration, linearScale, niceTicks, pointWithinSla, renderReportHtml, renderStageTimeline, renderThroughputLatencyChart, type ReportStage, type ReportVariant, type RunReport } from '../../../src/report/html.js';
import type { PerfPoint } from '../../../src/triton/perf-types.js';

// ---------------------------------------------------------------------------
// Tiny XML well-formedness checker (no library): balanced tags, quoted unique
// attributes, valid entities, no raw '<' or '&' in text, single root element.
// ---------------------------------------------------------------------------
const ENTITY = /&(?:amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);/g;

function checkText(text: string, where: string): void {
  assert.ok(!text.includes('<'), `raw '<' in ${where}`);
  assert.ok(!text.replace(ENTITY, '').includes('&'), `bad entity in ${where}: ${text.slice(0, 60)}`);
}

function assertWellFormedXml(xml: string): void {
  const tokens = xml.match(/<[^>]*>|[^<]+/g) ?? [];
  assert.equal(tokens.join(''), xml, 'tokenizer must cover the whole input');
  const stack: string[] = [];
  let roots = 0;
  for (const tok of tokens) {
    if (!tok.startsWith('<')) {
      if (stack.length === 0) assert.equal(tok.trim(), '', 'text outside root element');
      checkText(tok, 'text');
      continue;
    }
    const close = /^<\/([A-Za-z][\w:.-]*)\s*>$/.exec(tok);
    if (close) {
      const top = stack.pop();
      assert.equal(close[1], top, `mismatched close tag ${tok}`);
      continue;
    }
    const open = /^<([A-Za-z][\w:.-]*)((?:\s+[A-Za-z_:][\w:.-]*\s*=\s*"[^"]*")*)\s*(\/?)>$/.exec(tok);
    assert.ok(open, `malformed tag: ${tok.slice(0, 80)}`);
    const [, name, attrs, selfClose] = open;
    const seen = new Set<string>();
    for (const m of attrs!.matchAll(/([A-Za-z_:][\w:.-]*)\s*=\s*"([^"]*)"/g)) {
      assert.ok(!seen.has(m[1]!), `duplicate attribute ${m[1]} in ${tok.slice(0, 60)}`);
      seen.add(m[1]!);
      checkText(m[2]!, `attribute ${m[1]}`);
    }
    if (stack.length === 0) roots++;
    if (!selfClose) stack.push(name!);
  }
  assert.deepEqual(stack, [], 'unclosed tags');
  assert.equal(roots, 1, 'exactly one root element');
}

/** Loose HTML5 check: doctype first, balanced non-void elements, svg islands well-formed XML. */
function assertBalancedHtml(html: string): void {
  assert.match(html, /^<!DOCTYPE html>\n<html lang="en">/);
  const VOID = new Set(['meta', 'br', 'hr', 'img', 'input', 'link']);
  const body = html.replace(/^<!DOCTYPE html>/, '').replace(/<style>[\s\S]*?<\/style>/, '<style></style>');
  const stack: string[] = [];
  for (const m of body.matchAll(/<(\/?)([A-Za-z][\w:-]*)[^>]*?(\/?)>/g)) {
    const [, slash, rawName, selfClose] = m;
    const name = rawName!.toLowerCase();
    if (slash) assert.equal(stack.pop(), name, `mismatched </${name}>`);
    else if (!VOID.has(name) && !selfClose) stack.push(name);
  }
  assert.deepEqual(stack, []);
  for (const svg of html.match(/<svg[\s\S]*?<\/svg>/g) ?? []) assertWellFormedXml(svg);
}

// ---------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------
function pt(concurrency: number, throughput: number, p95Ms: number): PerfPoint {
  const us = p95Ms * 1000;
  return { concurrency, throughput, latencyUs: { avg: us * 0.7, p50: us * 0.6, p90: us * 0.9, p95: us, p99: us * 1.2 } };
}

function variant(over: Partial<ReportVariant> = {}): ReportVariant {
  return {
    model: 'resnet50',
    variant: 'trt-fp16',
    instances: 2,
    maxBatchSize: 8,
    points: [pt(1, 100, 20), pt(2, 180, 35), pt(4, 300, 60), pt(8, 380, 110)],
    sla: { latencyMs: 100, percentile: 95, minThroughput: 150 },
    verdict: { passed: true, bestThroughput: 300, latencyMsAtBest: 60, reason: 'concurrency 4 meets the SLA' },
    baselineThroughput: 250,
    ...over,
  };
}

const STAGES: ReportStage[] = [
  { name: 'validate-spec', status: 'completed', startedAt: '2024-05-01T10:00:00.000Z', endedAt: '2024-05-01T10:00:01.200Z', attempts: 1 },
  { name: 'helm-upgrade', status: 'completed', startedAt: '2024-05-01T10:00:01.200Z', endedAt: '2024-05-01T10:03:06.200Z', attempts: 2, detail: 'revision 7' },
  { name: 'perf-analyze', status: 'failed', startedAt: '2024-05-01T10:03:06.200Z', endedAt: '2024-05-01T10:04:00.000Z', detail: 'SLA missed' },
  { name: 'promote', status: 'skipped' },
  { name: 'rollback', status: 'pending', startedAt: '2024-05-01T10:04:00.000Z' },
];

function report(over: Partial<RunReport> = {}): RunReport {
  return {
    title: 'Triton deploy report',
    workflowId: 'deploy-resnet50-abc',
    runId: 'run-123',
    target: 'gke/us-central1-a/nvidia-gcp-gke',
    release: 'triton-inference',
    revision: 7,
    repositoryVersion: 'gs://bucket/models@v12',
    outcome: 'succeeded',
    generatedAt: '2024-05-01T10:05:00.000Z',
    stages: STAGES,
    variants: [variant(), variant({ model: 'bert-large', variant: 'seq384', baselineThroughput: null })],
    simulated: false,
    notes: ['first note'],
    ...over,
  };
}

function attr(tag: string, name: string): number {
  const m = new RegExp(`\\s${name}="([^"]*)"`).exec(tag);
  assert.ok(m, `attribute ${name} missing in ${tag}`);
  return Number(m[1]);
}

function findTag(svg: string, cls: string): string {
  const m = new RegExp(`<[a-z]+ class="${cls}"[^>]*>`).exec(svg);
  assert.ok(m, `no element with class ${cls}`);
  return m[0];
}

// ---------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------
describe('niceTicks', () => {
  it('uses 1-2-5 steps covering the range', () => {
    assert.deepEqual(niceTicks(0, 115.5, 6), [0, 20, 40, 60, 80, 100, 120]);
    assert.deepEqual(niceTicks(0, 399, 6), [0, 100, 200, 300, 400]);
    assert.deepEqual(niceTicks(0, 1, 5), [0, 0.2, 0.4, 0.6, 0.8, 1]);
    assert.deepEqual(niceTicks(0, 9, 4), [0, 5, 10]);
    assert.deepEqual(niceTicks(-3, 7, 6), [-4, -2, 0, 2, 4, 6, 8]);
  });
  it('steps are always 1, 2 or 5 times a power of ten and bracket the range', () => {
    for (const [lo, hi, n] of [[0, 3.3, 5], [12, 987, 7], [0.001, 0.0042, 4], [5, 5e6, 6], [-50, -2, 5]] as const) {
      const t = niceTicks(lo, hi, n);
      assert.ok(t[0]! <= lo && t[t.length - 1]! >= hi, `ticks ${t} bracket [${lo}, ${hi}]`);
      const step = t[1]! - t[0]!;
      const mant = step / Math.pow(10, Math.floor(Math.log10(step) + 1e-9));
      assert.ok([1, 2, 5].some((m) => Math.abs(mant - m) < 1e-6), `step ${step} is 1-2-5`);
    }
  });
  it('handles degenerate input without NaN', () => {
    for (const t of [niceTicks(0, 0), niceTicks(5, 5), niceTicks(NaN, NaN), niceTicks(10, 0), niceTicks(0, Infinity)]) {
      assert.ok(t.length >= 2, `${t}`);
      assert.ok(t.every(Number.isFinite));
      assert.ok(t[1]! > t[0]!);
    }
    assert.deepEqual(niceTicks(0, 0, 5), [0, 0.2, 0.4, 0.6, 0.8, 1]);
    assert.deepEqual(niceTicks(10, 0, 3), [0, 5, 10]);
  });
});

describe('linearScale', () => {
  it('maps domain to range, including inverted ranges', () => {
    const s = linearScale([0, 120], [72, 616]);
    assert.equal(s(0), 72);
    assert.equal(s(120), 616);
    assert.equal(s(60), 344);
    const y = linearScale([0, 400], [320, 24]);
    assert.equal(y(0), 320);
    assert.equal(y(400), 24);
    assert.equal(y(150), 209);
  });
  it('zero-width domain and non-finite values never give NaN', () => {
    const s = linearScale([5, 5], [0, 100]);
    assert.equal(s(5), 50);
    assert.equal(s(99), 50);
    assert.equal(linearScale([0, 1], [10, 20])(NaN), 10);
  });
});

describe('formatDuration', () => {
  it('formats ms, seconds, minutes and hours', () => {
    assert.equal(formatDuration(0), '0 ms');
    assert.equal(formatDuration(850), '850 ms');
    assert.equal(formatDuration(1200), '1.2 s');
    assert.equal(formatDuration(59_940), '59.9 s');
    assert.equal(formatDuration(59_960), '1 m 00 s');
    assert.equal(formatDuration(185_000), '3 m 05 s');
    assert.equal(formatDuration(3_725_000), '1 h 02 m 05 s');
    assert.equal(formatDuration(-5), '0 ms');
    assert.equal(formatDuration(NaN), '0 ms');
  });
});

describe('escapeHtml', () => {
  it('escapes markup and quotes', () => {
    assert.equal(escapeHtml(`<a href="x">'&'</a>`), '&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
  });
});

describe('renderThroughputLatencyChart', () => {
  it('places the SLA lines and region at the scaled coordinates', () => {
    const v = variant();
    const svg = renderThroughputLatencyChart(v, { width: 640, height: 420 });
    assertWellFormedXml(svg);
    assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);

    // Independent computation from the exported helpers.
    const left = CHART_MARGIN.left;
    const right = 640 - CHART_MARGIN.right;
    const top = CHART_MARGIN.top;
    const bottom = 420 - CHART_MARGIN.bottom;
    const xt = niceTicks(0, 110 * 1.05, 6);
    const yt = niceTicks(0, 380 * 1.05, 6);
    const x = linearScale([xt[0]!, xt[xt.length - 1]!], [left, right]);
    const y = linearScale([yt[0]!, yt[yt.length - 1]!], [bottom, top]);
    const expX = x(100);
    const expY = y(150);
    // Hand-checked: x ∈ [0,120] over [72,616], y ∈ [0,400] over [320,24].
    assert.ok(Math.abs(expX - 525.33) < 0.01);
    assert.ok(Math.abs(expY - 209) < 1e-9);

    const lat = findTag(svg, 'sla-latency');
    assert.ok(Math.abs(attr(lat, 'x1') - expX) < 0.01);
    assert.ok(Math.abs(attr(lat, 'x2') - expX) < 0.01);
    assert.equal(attr(lat, 'y1'), top);
    assert.equal(attr(lat, 'y2'), bottom);
    assert.match(lat, /stroke-dasharray=/);

    const thr = findTag(svg, 'sla-throughput');
    assert.equal(attr(thr, 'y1'), expY);
    assert.equal(attr(thr, 'y2'), expY);
    assert.equal(attr(thr, 'x1'), left);
    assert.equal(attr(thr, 'x2'), right);
    assert.match(thr, /stroke-dasharray=/);

    const region = findTag(svg, 'sla-region');
    assert.equal(attr(region, 'x'), left);
    assert.equal(attr(region, 'y'), top);
    assert.ok(Math.abs(attr(region, 'width') - (expX - left)) < 0.02);
    assert.ok(Math.abs(attr(region, 'height') - (expY - top)) < 0.02);

    // The layout helper agrees with the independent computation.
    const L = chartLayout(v, { width: 640, height: 420 });
    assert.deepEqual(L.xTicks, xt);
    assert.deepEqual(L.yTicks, yt);
    assert.equal(L.x(100), expX);
  });

  it('draws one polyline through the sorted points with concurrency labels and tick labels', () => {
    const v = variant({ points: [pt(8, 380, 110), pt(1, 100, 20), pt(4, 300, 60), pt(2, 180, 35)] });
    const svg = renderThroughputLatencyChart(v);
    const L = chartLayout(v);
    assert.equal(svg.match(/<polyline/g)?.length, 1);
    const pts = /<polyline class="series" points="([^"]*)"/.exec(svg)![1]!.split(' ');
    assert.equal(pts.length, 4);
    const [px, py] = pts[0]!.split(',').map(Number);
    assert.ok(Math.abs(px! - L.x(20)) < 0.01 && Math.abs(py! - L.y(100)) < 0.01, 'first vertex is concurrency 1');
    assert.equal(svg.match(/<circle class="marker/g)?.length, 4);
    assert.equal(svg.match(/<circle class="marker within-sla"/g)?.length, 2, 'c=2 and c=4 meet the SLA');
    const labels = [...svg.matchAll(/class="marker-label"[^>]*>([^<]*)</g)].map((m) => m[1]);
    assert.deepEqual(labels, ['1', '2', '4', '8']);
    for (const t of ['0', '20', '120']) assert.ok(svg.includes(`>${t}</text>`), `x tick ${t}`);
    for (const t of ['100', '400']) assert.ok(svg.includes(`>${t}</text>`), `y tick ${t}`);
    assert.ok(svg.includes('p95 latency (ms)'));
    assert.ok(svg.includes('Throughput (infer/s)'));
    assert.ok(svg.includes('class="legend"'));
    assert.ok(svg.includes('meets SLA'));
  });

  it('handles empty and single-point data without NaN', () => {
    const empty = renderThroughputLatencyChart(variant({ points: [] }));
    assertWellFormedXml(empty);
    assert.ok(!empty.includes('NaN'));
    assert.ok(!empty.includes('Infinity'));
    assert.ok(empty.includes('No measurements'));
    assert.ok(!empty.includes('<polyline'));

    const single = renderThroughputLatencyChart(variant({ points: [pt(1, 50, 5)] }));
    assertWellFormedXml(single);
    assert.ok(!single.includes('NaN'));
    assert.equal(single.match(/<circle class="marker/g)?.length, 1);

    const zeros = variant({ points: [pt(1, 0, 0)], sla: { latencyMs: 0, percentile: 99, minThroughput: 0 } });
    const z = renderThroughputLatencyChart(zeros);
    assertWellFormedXml(z);
    assert.ok(!z.includes('NaN'));
    assert.ok(!z.includes('sla-throughput'), 'no floor line when the floor is 0');
  });

  it('escapes model and variant names', () => {
    const svg = renderThroughputLatencyChart(variant({ model: '<script>alert("x")</script>', variant: 'a&b' }));
    assertWellFormedXml(svg);
    assert.ok(!svg.includes('<script'));
    assert.ok(svg.includes('&lt;script&gt;'));
    assert.ok(svg.includes('a&amp;b'));
  });
});

describe('renderStageTimeline', () => {
  it('draws bars for timed stages only, scaled to the run span, with durations', () => {
    const svg = renderStageTimeline(STAGES, { width: 800 });
    assertWellFormedXml(svg);
    assert.ok(!svg.includes('NaN'));
    const bars = [...svg.matchAll(/<rect class="bar status-([a-z]+)"[^>]*>/g)];
    assert.deepEqual(bars.map((b) => b[1]), ['completed', 'completed', 'failed']);
    // Span is 240 s; bars fill [labelWidth=200, 800-96=704].
    const s = linearScale([0, 240_000], [200, 704]);
    assert.equal(attr(bars[0]![0], 'x'), 200);
    assert.ok(Math.abs(attr(bars[1]![0], 'x') - s(1200)) < 0.01);
    const last = bars[2]![0];
    assert.ok(Math.abs(attr(last, 'x') + attr(last, 'width') - 704) < 0.02);
    const durations = [...svg.matchAll(/class="duration"[^>]*>([^<]*)</g)].map((m) => m[1]);
    assert.deepEqual(durations, ['1.2 s', '3 m 05 s', '53.8 s']);
    // Untimed stages are listed but not drawn.
    assert.equal(svg.match(/class="stage-name"/g)?.length, 5);
    assert.ok(svg.includes('>promote</text>'));
    assert.ok(svg.includes('skipped · not timed'));
    assert.ok(svg.includes('pending · not timed'));
    // Colour by status.
    assert.match(bars[2]![0], /fill="#dc2626"/);
  });

  it('handles no stages, untimed-only and zero-length spans', () => {
    for (const stages of [
      [],
      [{ name: 'a', status: 'pending' as const }],
      [{ name: 'a', status: 'completed' as const, startedAt: '2024-01-01T00:00:00Z', endedAt: '2024-01-01T00:00:00Z' }],
      [{ name: 'bad', status: 'failed' as const, startedAt: 'not-a-date', endedAt: '2024-01-01T00:00:00Z' }],
    ]) {
      const svg = renderStageTimeline(stages);
      assertWellFormedXml(svg);
      assert.ok(!svg.includes('NaN'), JSON.stringify(stages));
    }
  });

  it('escapes stage names', () => {
    const svg = renderStageTimeline([{ name: '<script>x</script>', status: 'running', startedAt: '2024-01-01T00:00:00Z', endedAt: '2024-01-01T00:00:02Z' }]);
    assertWellFormedXml(svg);
    assert.ok(!svg.includes('<script'));
  });
});

describe('renderReportHtml', () => {
  it('is a balanced, self-contained HTML5 page with well-formed SVGs', () => {
    const html = renderReportHtml(report());
    assertBalancedHtml(html);
    assert.ok(html.includes('<meta charset="utf-8">'));
    assert.ok(!/\b(?:src|href)=/.test(html), 'no external resources');
    assert.ok(!/@import|url\(/.test(html), 'no external CSS');
    assert.ok(!html.includes('NaN'));
    assert.equal(html.match(/<svg /g)?.length, 3, 'timeline + one chart per variant');
  });

  it('has summary and stage tables', () => {
    const html = renderReportHtml(report({ outcome: 'rolled-back', failure: 'perf SLA missed' }));
    for (const s of ['gke/us-central1-a/nvidia-gcp-gke', 'triton-inference', '>7<', 'gs://bucket/models@v12', 'rolled-back', 'perf SLA missed']) {
      assert.ok(html.includes(s), s);
    }
    const stageTable = /<table class="stages">[\s\S]*?<\/table>/.exec(html)![0];
    assert.equal(stageTable.match(/<tr>/g)?.length, 1 + STAGES.length);
    assert.ok(stageTable.includes('3 m 05 s'));
    assert.ok(stageTable.includes('revision 7'));
    assert.ok(stageTable.includes('<td class="num">2</td>'), 'attempts');
    assert.ok(html.includes('class="timeline"'));
  });

  it('shows the simulator banner iff simulated', () => {
    const sim = renderReportHtml(report({ simulated: true }));
    const real = renderReportHtml(report({ simulated: false }));
    assert.ok(sim.includes('class="banner-simulated"'));
    assert.match(sim, /calibrated simulator, not from real GPUs/);
    assert.ok(!real.includes('banner-simulated"'));
    assert.ok(!real.includes('not from real GPUs'));
  });

  it('renders one section per variant with chart, point table, verdict and baseline', () => {
    const html = renderReportHtml(report());
    const sections = html.match(/<section class="variant"[\s\S]*?<\/section>/g) ?? [];
    assert.equal(sections.length, 2);
    const [first, second] = sections as [string, string];
    assert.ok(first.includes('resnet50') && first.includes('trt-fp16'));
    assert.ok(first.includes('<svg'));
    const rows = first.match(/<tbody>[\s\S]*?<\/tbody>/)![0].match(/<tr/g)!;
    assert.equal(rows.length, 4);
    assert.equal(first.match(/<tr class="within-sla">/g)?.length, 2);
    assert.ok(first.includes('PASSED'));
    assert.ok(first.includes('concurrency 4 meets the SLA'));
    assert.ok(first.includes('+20.0%'), 'best 300 vs baseline 250');
    // p50/p90/p95/p99 columns in ms: c=1 has p95 20 ms, p99 24 ms, p50 12 ms, p90 18 ms.
    assert.ok(first.includes('<td class="num">12</td><td class="num">18</td><td class="num">20</td><td class="num">24</td>'));
    assert.ok(second.includes('bert-large'));
    assert.ok(second.includes('No baseline available.'));
    assert.ok(pointWithinSla(pt(4, 300, 60), variant().sla));
    assert.ok(!pointWithinSla(pt(8, 380, 110), variant().sla));
    assert.ok(!pointWithinSla(pt(1, 100, 20), variant().sla), 'below throughput floor');
  });

  it('renders notes and empty states', () => {
    const html = renderReportHtml(report({ notes: [], variants: [], stages: [] }));
    assertBalancedHtml(html);
    assert.ok(html.includes('No notes.'));
    assert.ok(html.includes('No model variants'));
    assert.ok(html.includes('No stages recorded.'));
    const withNotes = renderReportHtml(report({ notes: ['a', 'b'] }));
    assert.ok(withNotes.includes('<ul class="notes"><li>a</li><li>b</li></ul>'));
  });

  it('never emits user text raw', () => {
    const evil = '<script>alert("x")</script>';
    const html = renderReportHtml(
      report({
        title: evil,
        target: evil,
        release: evil,
        repositoryVersion: evil,
        failure: evil,
        workflowId: evil,
        runId: evil,
        notes: [evil],
        stages: [{ name: evil, status: 'failed', detail: evil, startedAt: '2024-01-01T00:00:00Z', endedAt: '2024-01-01T00:00:01Z' }],
        variants: [variant({ model: evil, variant: evil, verdict: { passed: false, bestThroughput: null, latencyMsAtBest: null, reason: evil } })],
      }),
    );
    assert.ok(!html.includes('<script'));
    assert.ok(!html.includes('"x")'));
    assert.ok(html.includes('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;'));
    assertBalancedHtml(html);
  });
});
