import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { renderStageTimeline, stageDurationMs, TIMELINE_LAYOUT } from '../../../src/report/timeline.js';
import { assertWellFormedXml, attr, STAGES } from '../../helpers/report.js';

describe('stageDurationMs', () => {
  it('is the time between start and end, or null when either is missing or invalid', () => {
    assert.equal(stageDurationMs(STAGES[1]!), 185_000);
    assert.equal(stageDurationMs(STAGES[3]!), null, 'never started');
    assert.equal(stageDurationMs(STAGES[4]!), null, 'still running');
    assert.equal(stageDurationMs({ name: 'x', status: 'failed', startedAt: 'not-a-date', endedAt: '2024-01-01T00:00:00Z' }), null);
    assert.equal(stageDurationMs({ name: 'x', status: 'failed', startedAt: '2024-01-01T00:00:01Z', endedAt: '2024-01-01T00:00:00Z' }), null, 'ends before it starts');
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
    assert.equal(TIMELINE_LAYOUT.labelWidth, 200);
    const s = (ms: number) => 200 + (ms / 240_000) * (704 - 200);
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

  it('puts round elapsed-time ticks inside the run span, ascending from 0', () => {
    const svg = renderStageTimeline(STAGES, { width: 800 });
    const axis = /<g class="time-axis"[^>]*>(.*?)<\/g>/.exec(svg)![1]!;
    const ticks = [...axis.matchAll(/<text x="([^"]*)"[^>]*>([^<]*)<\/text>/g)].map((m) => ({ x: Number(m[1]), label: m[2]! }));
    assert.ok(ticks.length >= 2, 'at least two ticks');
    assert.deepEqual(ticks[0], { x: 200, label: '0' });
    for (let i = 1; i < ticks.length; i++) assert.ok(ticks[i]!.x > ticks[i - 1]!.x, 'ascending');
    assert.ok(ticks.every((t) => t.x >= 200 && t.x <= 704), 'inside the bar area');
    // 240 s in round steps: 50 s apart.
    assert.deepEqual(ticks.map((t) => t.label), ['0', '50.0 s', '1 m 40 s', '2 m 30 s', '3 m 20 s']);
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
