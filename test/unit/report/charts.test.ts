import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CHART_MARGIN, CHART_TICK_COUNT, chartLayout, pointWithinSla, renderThroughputLatencyChart } from '../../../src/report/charts.js';
import { assertNiceTicks, assertWellFormedXml, attr, findTag, pt, variant } from '../../helpers/report.js';

describe('chartLayout', () => {
  it('scales round domains covering the data and the SLA, ticked end to end', () => {
    const v = variant({ points: [pt(1, 1200, 3), pt(4, 4100, 9)], sla: { latencyMs: 7, percentile: 95, minThroughput: 1000 } });
    const L = chartLayout(v);
    for (const [scale, ticks, max] of [
      [L.x, L.xTicks, 9],
      [L.y, L.yTicks, 4100],
    ] as const) {
      const [d0, d1] = scale.domain() as [number, number];
      assert.ok(d0 <= 0 && d1 >= max, `domain [${d0}, ${d1}] covers [0, ${max}]`);
      assertNiceTicks(ticks, [d0, d1]);
      assert.deepEqual(ticks, scale.ticks(CHART_TICK_COUNT));
      assert.equal(ticks[0], d0);
      assert.equal(ticks[ticks.length - 1], d1);
    }
    assert.equal(L.x(L.xTicks[0]!), L.plot.left);
    assert.equal(L.y(L.yTicks[0]!), L.plot.bottom);
  });
});

describe('renderThroughputLatencyChart', () => {
  it('places the SLA lines and region at the scaled coordinates', () => {
    const v = variant();
    const svg = renderThroughputLatencyChart(v, { width: 640, height: 420 });
    assertWellFormedXml(svg);
    assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);

    // Independent computation: latency up to 110 ms × 1.05 rounds to [0, 120] ms,
    // throughput up to 380 × 1.05 to [0, 400] infer/s.
    const left = CHART_MARGIN.left;
    const right = 640 - CHART_MARGIN.right;
    const top = CHART_MARGIN.top;
    const bottom = 420 - CHART_MARGIN.bottom;
    const expX = left + (100 / 120) * (right - left);
    const expY = bottom - (150 / 400) * (bottom - top);
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
    assert.deepEqual(L.x.domain(), [0, 120]);
    assert.deepEqual(L.y.domain(), [0, 400]);
    assert.deepEqual([L.xTicks[0], L.xTicks.at(-1)], [0, 120]);
    assert.deepEqual([L.yTicks[0], L.yTicks.at(-1)], [0, 400]);
    assertNiceTicks(L.xTicks, [0, 120]);
    assertNiceTicks(L.yTicks, [0, 400]);
    assert.ok(Math.abs(L.x(100) - expX) < 1e-9);
    assert.ok(Math.abs(L.y(150) - expY) < 1e-9);
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

  it('labels every tick with the scale’s own tick format', () => {
    const v = variant({ points: [pt(1, 0.3, 0.4), pt(2, 0.9, 0.8)], sla: { latencyMs: 1, percentile: 95, minThroughput: 0.5 } });
    const svg = renderThroughputLatencyChart(v);
    const L = chartLayout(v);
    const group = (cls: string) => new RegExp(`<g class="${cls}"[^>]*>(.*?)</g>`).exec(svg)![1]!;
    const texts = (cls: string) => [...group(cls).matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]);
    assert.deepEqual(texts('x-ticks'), L.xTicks.map(L.x.tickFormat(CHART_TICK_COUNT)));
    assert.deepEqual(texts('y-ticks'), L.yTicks.map(L.y.tickFormat(CHART_TICK_COUNT)));
    assert.ok(texts('x-ticks').includes('0.2'), 'fractional steps keep their decimals');
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

describe('pointWithinSla', () => {
  it('needs both the latency bound and the throughput floor', () => {
    assert.ok(pointWithinSla(pt(4, 300, 60), variant().sla));
    assert.ok(!pointWithinSla(pt(8, 380, 110), variant().sla));
    assert.ok(!pointWithinSla(pt(1, 100, 20), variant().sla), 'below throughput floor');
  });
});
