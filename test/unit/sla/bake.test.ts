import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { bakeVerdict } from '../../../src/sla/bake.js';
import type { PerfPoint } from '../../../src/triton/perf-types.js';

const sla = { latencyMs: 50, percentile: 99 as const, minThroughput: 100 };
const point = (concurrency: number, throughput: number, p99Ms: number): PerfPoint => ({
  concurrency,
  throughput,
  latencyUs: { avg: p99Ms * 600, p50: p99Ms * 500, p90: p99Ms * 800, p95: p99Ms * 900, p99: p99Ms * 1000 },
});
const preview = [point(1, 400, 10), point(2, 700, 14), point(4, 900, 30)];

describe('bake verdict', () => {
  it('passes a live release that serves as its preview did, within the tolerance', () => {
    const verdict = bakeVerdict([point(1, 380, 11)], preview, 1, sla, 0.1);
    assert.equal(verdict.regressed, false, verdict.reason);
    assert.deepEqual(verdict.preview, { throughput: 400, latencyMs: 10 });
    assert.match(verdict.reason, /-5\.0%, tolerance -10\.0%/);
  });

  it('regresses on a throughput drop beyond the tolerance', () => {
    const verdict = bakeVerdict([point(1, 300, 12)], preview, 1, sla, 0.1);
    assert.equal(verdict.regressed, true);
    assert.match(verdict.reason, /vs the preview's 400\.0 infer\/s \(-25\.0%/);
  });

  it('regresses when the latency bound is broken, whatever the throughput', () => {
    const verdict = bakeVerdict([point(2, 900, 60)], preview, 2, sla, 0.1);
    assert.equal(verdict.regressed, true);
    assert.match(verdict.reason, /above the SLA's 50 ms/);
  });

  it('regresses when the live sweep never reached the bake concurrency', () => {
    const verdict = bakeVerdict([point(2, 700, 14)], preview, 1, sla, 0.1);
    assert.equal(verdict.regressed, true);
    assert.equal(verdict.live, null);
  });

  it('judges against the SLA alone where the preview has no point', () => {
    const verdict = bakeVerdict([point(3, 100, 20)], preview, 3, sla, 0.1);
    assert.equal(verdict.regressed, false);
    assert.equal(verdict.preview, null);
  });
});
