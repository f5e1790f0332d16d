import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { beatsByMargin, compareWithBaseline, evaluateSla, throughputAtBound } from '../../../src/sla/evaluate.js';
import type { PerfPoint } from '../../../src/triton/perf-types.js';

const point = (concurrency: number, throughput: number, p99Ms: number): PerfPoint => ({
  concurrency,
  throughput,
  latencyUs: { avg: p99Ms * 600, p50: p99Ms * 600, p90: p99Ms * 800, p95: p99Ms * 900, p99: p99Ms * 1000 },
});

describe('SLA gate', () => {
  const sweep = [point(1, 560, 60), point(4, 2400, 85), point(8, 3600, 99), point(10, 4050, 130)];

  it('takes the best throughput within the latency bound', () => {
    const verdict = evaluateSla(sweep, { latencyMs: 100, percentile: 99, minThroughput: 3500 });
    assert.equal(verdict.passed, true);
    assert.equal(verdict.bestThroughput, 3600);
    assert.equal(verdict.concurrencyAtBest, 8);
    assert.equal(verdict.latencyMsAtBest, 99);
  });

  it('fails when the floor is not reached within the bound', () => {
    const verdict = evaluateSla(sweep, { latencyMs: 90, percentile: 99, minThroughput: 3500 });
    assert.equal(verdict.passed, false);
    assert.equal(verdict.bestThroughput, 2400);
    assert.match(verdict.reason, /< floor 3500/);
  });

  it('uses the requested percentile', () => {
    // p90 is 0.8 × p99 here: at p90 <= 100 ms the c=10 point (104 ms) still misses, c=8 (79 ms) fits.
    const verdict = evaluateSla(sweep, { latencyMs: 100, percentile: 90, minThroughput: 1 });
    assert.equal(verdict.bestThroughput, 3600);
  });

  it('says when no point is within the bound', () => {
    const verdict = evaluateSla(sweep, { latencyMs: 10, percentile: 99, minThroughput: 1 });
    assert.equal(verdict.passed, false);
    assert.equal(verdict.bestThroughput, null);
    assert.match(verdict.reason, /fastest p99 60\.0 ms/);
    assert.match(evaluateSla([], { latencyMs: 10, percentile: 99, minThroughput: 1 }).reason, /no measurements/);
  });

  it('flags a regression beyond the tolerance only', () => {
    assert.equal(compareWithBaseline(3300, 3600, 0.1).regressed, false);
    const regressed = compareWithBaseline(3000, 3600, 0.1);
    assert.equal(regressed.regressed, true);
    assert.ok(Math.abs(regressed.change! + 1 / 6) < 1e-9);
    assert.equal(compareWithBaseline(null, 3600, 0.1).regressed, true);
    assert.equal(compareWithBaseline(100, null, 0.1).regressed, false);
  });

  it('promotes only a candidate better by the margin', () => {
    assert.equal(beatsByMargin(3700, 3600, 0.05), false);
    assert.equal(beatsByMargin(3800, 3600, 0.05), true);
    assert.equal(beatsByMargin(null, 3600, 0.05), false);
    assert.equal(beatsByMargin(10, null, 0.05), true);
  });
});

describe('throughput at the latency bound', () => {
  const sweep = [point(1, 560, 60), point(4, 2400, 85), point(8, 3600, 99), point(10, 4050, 130)];
  const bound = (latencyMs: number) => throughputAtBound(sweep, { latencyMs, percentile: 99 });

  it('interpolates between the last point within the bound and the first beyond it', () => {
    // 115 ms lies 16/31 of the way from c=8 (99 ms, 3600/s) to c=10 (130 ms, 4050/s).
    assert.ok(Math.abs(bound(115)! - (3600 + (16 / 31) * 450)) < 1e-9);
    assert.equal(bound(99), 3600);
  });

  it('is the best point when every point is within the bound, and null when none is', () => {
    assert.equal(bound(200), 4050);
    assert.equal(bound(50), null);
  });

  it('never ranks below the best point within the bound (throughput can fall past the knee)', () => {
    const falling = [point(2, 3000, 5), point(6, 3400, 8), point(10, 2000, 20)];
    assert.equal(throughputAtBound(falling, { latencyMs: 10, percentile: 99 }), 3400);
  });

  it('reads the SLA percentile and takes points in concurrency order', () => {
    assert.equal(throughputAtBound([...sweep].reverse(), { latencyMs: 115, percentile: 99 }), bound(115));
    // p90 is 0.8 × p99: c=10 is 104 ms at p90, within 110 ms.
    assert.equal(throughputAtBound(sweep, { latencyMs: 110, percentile: 90 }), 4050);
  });
});
