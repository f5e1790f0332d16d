import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type ConcurrencyRange, concurrenciesOf, lowerRange, pointsOf, sweepSpan, upperRange } from '../../../src/sla/sweep-span.js';
import type { PerfPoint } from '../../../src/triton/perf-types.js';

const sla = { latencyMs: 10, percentile: 99 as const };
const point = (concurrency: number, p99Ms: number): PerfPoint => {
  const us = p99Ms * 1000;
  return { concurrency, throughput: concurrency * 100, latencyUs: { avg: us, p50: us, p90: us, p95: us, p99: us } };
};

/** A server whose p99 grows by `msPerRequest` a concurrency; logs the ranges swept. */
function server(msPerRequest: number) {
  const swept: ConcurrencyRange[] = [];
  const sweep = async (range: ConcurrencyRange) => {
    swept.push(range);
    return { points: concurrenciesOf(range).map((c) => point(c, c * msPerRequest)) };
  };
  return { swept, sweep };
}

describe('sweep span', () => {
  it('splits a range into its top two concurrencies and the rest, as perf_analyzer steps it', () => {
    assert.deepEqual(concurrenciesOf({ start: 2, end: 14, step: 4 }), [2, 6, 10, 14]);
    assert.deepEqual(upperRange({ start: 2, end: 14, step: 4 }), { start: 10, end: 14, step: 4 });
    assert.deepEqual(lowerRange({ start: 2, end: 14, step: 4 }), { start: 2, end: 6, step: 4 });
    // An end the steps never reach: perf_analyzer's last concurrency is 9.
    assert.deepEqual(upperRange({ start: 1, end: 10, step: 4 }), { start: 5, end: 9, step: 4 });
    assert.deepEqual(lowerRange({ start: 1, end: 10, step: 4 }), { start: 1, end: 1, step: 4 });
    assert.deepEqual(upperRange({ start: 3, end: 3, step: 1 }), { start: 3, end: 3, step: 1 });
    assert.equal(lowerRange({ start: 3, end: 4, step: 1 }), null);
  });

  it('sweeps the whole range in one sweep when asked', async () => {
    const { swept, sweep } = server(1);
    const parts = await sweepSpan({ start: 2, end: 14, step: 4 }, 'whole', sla, sweep);
    assert.equal(parts.length, 1);
    assert.deepEqual(swept, [{ start: 2, end: 14, step: 4 }]);
  });

  it('stops at the top two points when one is within the bound', async () => {
    // p99 10 ms at c=10: within; 14 ms at c=14: beyond. The score lies between them.
    const { swept, sweep } = server(1);
    const parts = await sweepSpan({ start: 2, end: 14, step: 4 }, 'upper', sla, sweep);
    assert.deepEqual(swept, [{ start: 10, end: 14, step: 4 }]);
    assert.deepEqual(parts.flatMap((p) => p.points.map((q) => q.concurrency)), [10, 14]);
  });

  it('sweeps the rest of the range when both top points are beyond the bound', async () => {
    const { swept, sweep } = server(2);
    const parts = await sweepSpan({ start: 2, end: 14, step: 4 }, 'upper', sla, sweep);
    assert.deepEqual(swept, [{ start: 10, end: 14, step: 4 }, { start: 2, end: 6, step: 4 }]);
    assert.deepEqual(parts.flatMap((p) => p.points.map((q) => q.concurrency)), [10, 14, 2, 6]);
  });

  it('sweeps no further when perf_analyzer cut the top sweep short: it is inconclusive whatever the rest measures', async () => {
    const swept: ConcurrencyRange[] = [];
    await sweepSpan({ start: 2, end: 14, step: 4 }, 'upper', sla, async (range) => {
      swept.push(range);
      return { points: [], cutShort: { concurrency: range.start } };
    });
    assert.deepEqual(swept, [{ start: 10, end: 14, step: 4 }]);
  });

  it('merges the sweeps of a span by concurrency', () => {
    assert.deepEqual(pointsOf([{ points: [point(10, 1), point(14, 2)] }, { points: [point(2, 1), point(6, 1)] }]).map((p) => p.concurrency), [2, 6, 10, 14]);
  });

  it('has nothing more to sweep on a range of two', async () => {
    const { swept, sweep } = server(100);
    await sweepSpan({ start: 1, end: 2, step: 1 }, 'upper', sla, sweep);
    assert.deepEqual(swept, [{ start: 1, end: 2, step: 1 }]);
  });
});
