import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { DrillSample, LoadDrillResult } from '../../../src/plan/load-drill.js';
import { drillTimelineLayout, renderDrillTimeline } from '../../../src/report/drill-chart.js';
import { renderReportHtml } from '../../../src/report/page.js';
import { assertBalancedHtml, assertWellFormedXml, attr, findTag, report } from '../../helpers/report.js';

function look(at: number, replicas: number, readyReplicas: number, nodes: number, metric: number | null | 'no-hpa', phase: DrillSample['phase'] = at < 120 ? 'load' : 'cooldown'): DrillSample {
  return {
    at,
    phase,
    replicas,
    readyReplicas,
    nodes,
    serving: readyReplicas === replicas,
    hpa: metric === 'no-hpa' ? null : { currentReplicas: replicas, desiredReplicas: replicas, metric, held: false },
  };
}

/** Load for 120 s at target 500 µs: one pod → two, one node → two, and back. */
const SAMPLES: DrillSample[] = [
  look(0, 1, 1, 1, null),
  look(30, 1, 1, 1, 900),
  look(60, 2, 1, 1, 950),
  look(90, 2, 2, 2, 600),
  look(120, 2, 2, 2, null),
  look(150, 2, 2, 2, 100),
  look(180, 2, 2, 2, 'no-hpa'),
  look(210, 1, 1, 2, 50),
  look(240, 1, 1, 1, 40),
];

function drill(over: Partial<LoadDrillResult> = {}): LoadDrillResult {
  return {
    outcome: 'scaled-up-and-back',
    variant: 'resnet50-trt',
    concurrency: 16,
    target: 500,
    metric: 'triton-queue-time-us',
    baseline: { replicas: 1, nodes: 1 },
    peak: { replicas: 2, nodes: 2, metric: 950 },
    scaleUpSeconds: 90,
    nodeAddedSeconds: 90,
    scaleDownSeconds: 120,
    loadSeconds: 120,
    samples: SAMPLES,
    decisions: [
      { at: 30, currentReplicas: 1, metric: 900, hpaDesired: 2, pipelineDesired: 2 },
      { at: 150, currentReplicas: 2, metric: 100, hpaDesired: 2, pipelineDesired: 1 },
    ],
    message: '1→2 pods, 1→2 nodes in 90 s under the load, back in 120 s after it',
    ...over,
  };
}

/** The vertices of a path's `d` (M/L commands only), with whether each starts a subpath. */
function vertices(d: string): { move: boolean; x: number; y: number }[] {
  const out = [...d.matchAll(/([ML])(-?[\d.]+),(-?[\d.]+)/g)].map((m) => ({ move: m[1] === 'M', x: Number(m[2]), y: Number(m[3]) }));
  assert.equal(d.replace(/([ML])(-?[\d.]+),(-?[\d.]+)/g, '').trim(), '', `only M/L commands in ${d}`);
  return out;
}

function seriesPaths(svg: string, cls: string): string[] {
  return [...svg.matchAll(new RegExp(`<path class="series ${cls}" d="([^"]*)"`, 'g'))].map((m) => m[1]!);
}

const close = (a: number, b: number, why: string) => assert.ok(Math.abs(a - b) <= 0.011, `${why}: ${a} vs ${b}`);

describe('renderDrillTimeline', () => {
  it('is a well-formed, labelled svg image with the axis titles', () => {
    const svg = renderDrillTimeline(drill());
    assertWellFormedXml(svg);
    assert.ok(!svg.includes('NaN'));
    assert.match(svg, /^<svg [^>]*role="img" aria-label="[^"]+"/);
    assert.match(svg, /<title>[^<]+<\/title>/);
    for (const t of ['seconds since the load started', 'pods / nodes', 'triton-queue-time-us (µs)', '>target 500 µs<', 'load stopped (120 s)']) {
      assert.ok(svg.includes(t), t);
    }
    assert.ok(svg.includes('class="legend"'));
  });

  it('draws one step line per count series, 2n − 1 vertices, each value held until the next look', () => {
    const svg = renderDrillTimeline(drill(), { width: 800, height: 400 });
    const L = drillTimelineLayout(drill(), { width: 800, height: 400 });
    for (const [cls, value] of [
      ['replicas', (s: DrillSample) => s.replicas],
      ['ready-replicas', (s: DrillSample) => s.readyReplicas],
      ['nodes', (s: DrillSample) => s.nodes],
    ] as const) {
      const paths = seriesPaths(svg, cls);
      assert.equal(paths.length, 1, `one ${cls} path`);
      const v = vertices(paths[0]!);
      assert.equal(v.length, 2 * SAMPLES.length - 1, `${cls} vertices`);
      assert.equal(v.filter((p) => p.move).length, 1, `${cls} is unbroken`);
      SAMPLES.forEach((s, i) => {
        const at = v[i === 0 ? 0 : 2 * i]!;
        close(at.x, L.x(s.at), `${cls} x at ${s.at}`);
        close(at.y, L.yCount(value(s)), `${cls} y at ${s.at}`);
        if (i > 0) {
          const riserFoot = v[2 * i - 1]!;
          close(riserFoot.x, L.x(s.at), `${cls} step x at ${s.at}`);
          close(riserFoot.y, L.yCount(value(SAMPLES[i - 1]!)), `${cls} holds the previous value until ${s.at}`);
        }
      });
    }
    // Replicas 1 → 2 → 1: a level higher at 60 s than at 30 s.
    const rep = vertices(seriesPaths(svg, 'replicas')[0]!);
    assert.ok(rep[4]!.y < rep[2]!.y, 'two pods plot above one');
  });

  it('has integer count ticks from 0 to above the peak, and a metric axis from 0 over max(peak, target) × 1.1', () => {
    const L = drillTimelineLayout(drill());
    assert.ok(L.countTicks.every(Number.isInteger), `integer ticks ${L.countTicks}`);
    assert.equal(L.countTicks[0], 0);
    assert.ok(L.yCount.domain()[1]! >= 3, 'peak 2 + 1');
    assert.ok(L.countTicks.includes(3));
    assert.equal(L.yMetric.domain()[0], 0);
    assert.ok(L.yMetric.domain()[1]! >= 950 * 1.1, `metric domain ${L.yMetric.domain()}`);
    // A target above every reading still fits.
    const high = drillTimelineLayout(drill({ target: 5000 }));
    assert.ok(high.yMetric.domain()[1]! >= 5500);
    // Peaks counted from the looks when the summary under-reports them.
    assert.ok(drillTimelineLayout(drill({ peak: { replicas: 0, nodes: 0, metric: null } })).yMetric.domain()[1]! >= 1045);
  });

  it('puts the target line at the metric axis value of the target', () => {
    const svg = renderDrillTimeline(drill(), { width: 800, height: 400 });
    const L = drillTimelineLayout(drill(), { width: 800, height: 400 });
    const line = findTag(svg, 'target-line');
    const [lo, hi] = L.yMetric.domain() as [number, number];
    const expected = L.plot.bottom - ((500 - lo) / (hi - lo)) * (L.plot.bottom - L.plot.top);
    close(attr(line, 'y1'), expected, 'target y1');
    close(attr(line, 'y2'), expected, 'target y2');
    close(attr(line, 'x1'), L.plot.left, 'spans the plot');
    close(attr(line, 'x2'), L.plot.right, 'spans the plot');
    assert.match(line, /stroke-dasharray=/);
  });

  it('marks the load stopping at x(loadSeconds) and shades the load phase up to it', () => {
    const svg = renderDrillTimeline(drill(), { width: 800, height: 400 });
    const L = drillTimelineLayout(drill(), { width: 800, height: 400 });
    const line = findTag(svg, 'load-stopped');
    const expected = L.plot.left + ((120 - L.x.domain()[0]!) / (L.x.domain()[1]! - L.x.domain()[0]!)) * (L.plot.right - L.plot.left);
    close(attr(line, 'x1'), expected, 'load-stopped x1');
    close(attr(line, 'x2'), expected, 'load-stopped x2');
    assert.match(line, /stroke-dasharray=/);
    const band = findTag(svg, 'load-band');
    close(attr(band, 'x'), L.plot.left, 'band starts at 0 s');
    close(attr(band, 'x') + attr(band, 'width'), expected, 'band ends where the load stopped');
    // The x axis runs from 0 over the last look.
    assert.equal(L.x.domain()[0], 0);
    assert.ok(L.x.domain()[1]! >= 240);
  });

  it('breaks the metric line where the HPA had no reading', () => {
    const svg = renderDrillTimeline(drill(), { width: 800, height: 400 });
    const L = drillTimelineLayout(drill(), { width: 800, height: 400 });
    const paths = seriesPaths(svg, 'metric');
    assert.equal(paths.length, 1, 'one metric path');
    const v = vertices(paths[0]!);
    // Readings at 30, 60, 90 | 150 | 210, 240: three runs, six vertices.
    assert.equal(v.length, 6);
    assert.deepEqual(v.map((p) => p.move), [true, false, false, true, true, false]);
    const read = SAMPLES.filter((s) => s.hpa?.metric != null);
    read.forEach((s, i) => {
      close(v[i]!.x, L.x(s.at), `metric x at ${s.at}`);
      close(v[i]!.y, L.yMetric(s.hpa!.metric!), `metric y at ${s.at}`);
    });
    // The lone reading at 150 s gets a dot, since a one-vertex subpath draws nothing.
    const dots = [...svg.matchAll(/<circle class="dot metric"[^>]*>/g)];
    assert.equal(dots.length, 1);
    close(attr(dots[0]![0], 'cx'), L.x(150), 'dot at 150 s');
  });

  it('renders an all-null metric as an empty line with a note, the counts still drawn', () => {
    const samples = SAMPLES.map((s) => ({ ...s, hpa: s.hpa === null ? null : { ...s.hpa, metric: null } }));
    const d = drill({ samples, peak: { replicas: 2, nodes: 2, metric: null } });
    const svg = renderDrillTimeline(d);
    assertWellFormedXml(svg);
    assert.ok(!svg.includes('NaN'));
    assert.deepEqual(seriesPaths(svg, 'metric'), ['']);
    assert.ok(svg.includes('the HPA read no triton-queue-time-us'));
    assert.equal(vertices(seriesPaths(svg, 'replicas')[0]!).length, 2 * samples.length - 1);
    const L = drillTimelineLayout(d);
    assert.ok(L.yMetric.domain()[1]! >= 550, 'the target alone sets the metric axis');
    assert.ok(svg.includes('class="target-line"'));
  });

  it('renders a single look as one-vertex lines with dots', () => {
    const d = drill({ samples: [look(0, 1, 1, 1, 300)], loadSeconds: 0, decisions: [] });
    const svg = renderDrillTimeline(d);
    assertWellFormedXml(svg);
    assert.ok(!svg.includes('NaN'));
    for (const cls of ['replicas', 'ready-replicas', 'nodes', 'metric']) {
      const paths = seriesPaths(svg, cls);
      assert.equal(paths.length, 1, cls);
      assert.equal(vertices(paths[0]!).length, 1, cls);
      assert.equal(svg.match(new RegExp(`<circle class="dot ${cls}"`, 'g'))?.length, 1, `${cls} dot`);
    }
    const L = drillTimelineLayout(d);
    assert.ok(L.x.domain()[1]! > L.x.domain()[0]!, 'a zero-length span is widened');
  });

  it('renders no samples as a short svg without throwing', () => {
    const svg = renderDrillTimeline(drill({ samples: [], decisions: [] }));
    assertWellFormedXml(svg);
    assert.match(svg, /role="img"/);
    assert.match(svg, /No samples/);
    assert.ok(!svg.includes('class="series'));
    assert.ok(!svg.includes('NaN'));
  });

  it('uses each metric\'s unit on its axis', () => {
    assert.ok(renderDrillTimeline(drill({ metric: 'triton-inflight-requests', target: 4 })).includes('triton-inflight-requests (requests)'));
    assert.ok(renderDrillTimeline(drill({ metric: 'gpu-utilization', target: 70 })).includes('gpu-utilization (%)'));
  });

  it('escapes the variant in its labels', () => {
    const svg = renderDrillTimeline(drill({ variant: '<b>"x"</b>' }));
    assertWellFormedXml(svg);
    assert.ok(!svg.includes('<b>'));
  });
});

describe('renderReportHtml with a load drill', () => {
  it('adds a Load drill section after Performance with its summary, timeline and decisions', () => {
    const html = renderReportHtml(report({ loadDrill: drill() }));
    assertBalancedHtml(html);
    assert.ok(!html.includes('NaN'));
    const headings = [...html.matchAll(/<h2>([^<]*)<\/h2>/g)].map((m) => m[1]);
    assert.deepEqual(headings, ['Summary', 'Stages', 'Performance', 'Load drill', 'Notes']);
    const section = /<section class="drill-section">[\s\S]*?<\/section>/.exec(html)![0];
    assert.ok(section.includes('<span class="badge drill-scaled-up-and-back">scaled-up-and-back</span>'));
    for (const s of ['resnet50-trt', '>16<', 'triton-queue-time-us: peak 950 µs, target 500 µs', '>90 s<', '>120 s<', '1→2 pods, 1→2 nodes in 90 s']) assert.ok(section.includes(s), s);
    assert.match(section, /Pods \(baseline → peak\)<\/th><td>1 → 2<\/td>/);
    assert.match(section, /Nodes \(baseline → peak\)<\/th><td>1 → 2<\/td>/);
    assert.equal(section.match(/<svg /g)?.length, 1);
    assert.ok(section.includes('class="drill-chart"'));

    const decisions = /<table class="decisions">[\s\S]*?<\/table>/.exec(section)![0];
    const rows = decisions.match(/<tbody>[\s\S]*?<\/tbody>/)![0].match(/<tr[ >][\s\S]*?<\/tr>/g)!;
    assert.equal(rows.length, 2);
    assert.ok(rows[0]!.startsWith('<tr>'));
    assert.ok(rows[0]!.includes('✓') && !rows[0]!.includes('✗'));
    assert.ok(rows[0]!.includes('<td class="num">30</td><td class="num">1</td><td class="num">900</td><td class="num">2</td><td class="num">2</td>'));
    assert.ok(rows[1]!.startsWith('<tr class="disagree">'));
    assert.ok(rows[1]!.includes('✗') && !rows[1]!.includes('✓'));
    assert.ok(rows[1]!.includes('<td class="num">150</td><td class="num">2</td><td class="num">100</td><td class="num">2</td><td class="num">1</td>'));
  });

  it('shows missing times as dashes and no decisions as a note', () => {
    const html = renderReportHtml(
      report({ loadDrill: drill({ outcome: 'no-scale-up', scaleUpSeconds: null, nodeAddedSeconds: null, scaleDownSeconds: null, decisions: [], samples: [] }) }),
    );
    assertBalancedHtml(html);
    const section = /<section class="drill-section">[\s\S]*?<\/section>/.exec(html)![0];
    assert.ok(section.includes('badge drill-no-scale-up'));
    assert.match(section, /Scaled up after<\/th><td><span class="muted">—<\/span>/);
    assert.match(section, /Node added after<\/th><td><span class="muted">—<\/span>/);
    assert.ok(!section.includes('<table class="decisions">'));
    assert.ok(section.includes('No samples'));
  });

  it('escapes the drill\'s text', () => {
    const evil = '<script>alert("x")</script>';
    const html = renderReportHtml(report({ loadDrill: drill({ variant: evil, message: evil }) }));
    assert.ok(!html.includes('<script'));
    assertBalancedHtml(html);
  });

  it('has no Load drill section without a drill', () => {
    const html = renderReportHtml(report());
    assert.ok(!html.includes('Load drill'));
    assert.ok(!html.includes('drill-section'));
    assert.ok(!html.includes('drill-chart'));
  });
});
