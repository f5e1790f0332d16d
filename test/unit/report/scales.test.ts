import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { axisScale, elapsedScale, formatDuration, formatNumber, safeExtent } from '../../../src/report/scales.js';
import { assertNiceTicks } from '../../helpers/report.js';

describe('axisScale', () => {
  it('extends the data to a round domain and ticks it in 1-2-5 steps from end to end', () => {
    for (const [lo, hi, n] of [
      [0, 115.5, 6],
      [0, 399, 6],
      [0, 1, 5],
      [0, 9, 4],
      [-3, 7, 6],
      [0, 3.3, 5],
      [12, 987, 7],
      [0.001, 0.0042, 4],
      [5, 5e6, 6],
      [-50, -2, 5],
    ] as const) {
      const s = axisScale([lo, hi], [0, 100], n);
      const [d0, d1] = s.domain() as [number, number];
      assert.ok(d0 <= lo && d1 >= hi, `domain [${d0}, ${d1}] covers [${lo}, ${hi}]`);
      const t = s.ticks(n);
      assertNiceTicks(t, [d0, d1]);
      // `===`, not Object.is: a domain bound may come back as -0.
      assert.ok(t[0] === d0, `first tick is the domain start for [${lo}, ${hi}]`);
      assert.ok(t[t.length - 1] === d1, `last tick is the domain end for [${lo}, ${hi}]`);
      assert.ok(t.length >= 2 && t.length <= 3 * n, `about ${n} ticks: ${t}`);
    }
  });

  it('rounds the report chart extents to the expected round bounds', () => {
    // The fixture chart: latency up to 110 ms × 1.05, throughput up to 380 × 1.05.
    assert.deepEqual(axisScale([0, 115.5], [0, 1], 6).domain(), [0, 120]);
    assert.deepEqual(axisScale([0, 399], [0, 1], 6).domain(), [0, 400]);
    assert.deepEqual(axisScale([0, 1], [0, 1], 5).ticks(5), [0, 0.2, 0.4, 0.6, 0.8, 1]);
  });

  it('maps domain to range, including inverted ranges', () => {
    const s = axisScale([0, 120], [72, 616], 6);
    assert.equal(s(0), 72);
    assert.equal(s(120), 616);
    assert.equal(s(60), 344);
    const y = axisScale([0, 400], [320, 24], 6);
    assert.equal(y(0), 320);
    assert.equal(y(400), 24);
    assert.equal(y(150), 209);
  });

  it('handles degenerate input without NaN', () => {
    for (const [lo, hi] of [[0, 0], [5, 5], [NaN, NaN], [10, 0], [0, Infinity]] as const) {
      const s = axisScale([lo, hi], [0, 100], 5);
      const d = s.domain();
      assertNiceTicks(s.ticks(5), d);
      assert.ok(d[1]! > d[0]!, `non-empty domain for [${lo}, ${hi}]`);
      assert.ok(Number.isFinite(s(d[0]!)) && Number.isFinite(s(d[1]!)));
    }
    assert.deepEqual(axisScale([0, 0], [0, 1], 5).ticks(5), [0, 0.2, 0.4, 0.6, 0.8, 1]);
    assert.deepEqual(axisScale([10, 0], [0, 1], 3).ticks(3), [0, 5, 10]);
    const flat = axisScale([5, 5], [0, 100], 5);
    assert.equal(flat(5), 50, 'a single value sits mid-range');
    assert.equal(axisScale([0, 1], [10, 20], 5)(NaN), 10, 'NaN maps to the start of the range');
  });

  it('labels ticks with the precision their step needs', () => {
    const frac = axisScale([0, 1], [0, 1], 5);
    assert.deepEqual(frac.ticks(5).map(frac.tickFormat(5)), ['0.0', '0.2', '0.4', '0.6', '0.8', '1.0']);
    const whole = axisScale([0, 115.5], [0, 1], 6);
    assert.deepEqual(whole.ticks(6).map(whole.tickFormat(6)), ['0', '20', '40', '60', '80', '100', '120']);
  });
});

describe('safeExtent', () => {
  it('orders bounds, replaces non-finite ones and widens zero-width extents', () => {
    assert.deepEqual(safeExtent(1, 3), [1, 3]);
    assert.deepEqual(safeExtent(3, 1), [1, 3]);
    assert.deepEqual(safeExtent(0, 0), [0, 1]);
    assert.deepEqual(safeExtent(10, 10), [9, 11]);
    assert.deepEqual(safeExtent(NaN, NaN), [0, 1]);
    assert.deepEqual(safeExtent(2, Infinity), [2, 3]);
  });
});

describe('elapsedScale', () => {
  it('maps 0..span onto the range exactly, with round ticks inside the span', () => {
    const s = elapsedScale(240_000, [200, 704]);
    assert.deepEqual(s.domain(), [0, 240_000], 'not extended: bars fill the range');
    assert.equal(s(0), 200);
    assert.equal(s(240_000), 704);
    assert.equal(s(120_000), 452);
    const t = s.ticks(6);
    assertNiceTicks(t, [0, 240_000]);
    assert.equal(t[0], 0);
  });

  it('zero-length spans and non-finite values never give NaN', () => {
    for (const span of [0, -5, NaN, Infinity]) {
      const s = elapsedScale(span, [0, 100]);
      assert.deepEqual(s.domain(), [0, 1], `span ${span}`);
      assert.ok(Number.isFinite(s(0)));
    }
    assert.equal(elapsedScale(1000, [10, 20])(NaN), 10);
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

describe('formatNumber', () => {
  it('drops trailing zeros and shows a dash for missing values', () => {
    assert.equal(formatNumber(300), '300');
    assert.equal(formatNumber(12.34), '12.3');
    assert.equal(formatNumber(12.0), '12');
    assert.equal(formatNumber(0.126, 2), '0.13');
    assert.equal(formatNumber(null), '—');
    assert.equal(formatNumber(undefined), '—');
    assert.equal(formatNumber(NaN), '—');
  });
});
