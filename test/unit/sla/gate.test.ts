import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FailureType } from '../../../src/ports/errors.js';
import type { ReleaseEntry } from '../../../src/release/record.js';
import { evaluateSla } from '../../../src/sla/evaluate.js';
import { baselineFor, judge, judgeLegacyVariant, judgeVariant, type Sweep } from '../../../src/sla/gate.js';
import { SlaSchema } from '../../../src/spec/schema.js';
import type { PerfPoint } from '../../../src/triton/perf-types.js';

const sla = SlaSchema.parse({ latencyMs: 50, minThroughput: 500, repeats: 3 });
const model = { name: 'resnet50', sla };
const variant = { name: 'resnet50-1', instances: 1, maxBatchSize: 32 };
const models = [{ name: model.name }];
const liveEntry = { generation: 4, repositoryVersion: 'v-live' };

const point = (concurrency: number, throughput: number, p99Ms: number): PerfPoint => ({
  concurrency,
  throughput,
  latencyUs: { avg: p99Ms * 600, p50: p99Ms * 500, p90: p99Ms * 800, p95: p99Ms * 900, p99: p99Ms * 1000 },
});
/** A sweep whose best point within the SLA's 50 ms serves `throughput` infer/s. */
const sweep = (throughput: number): Sweep => {
  const points = [point(1, throughput / 2, 10), point(2, throughput, 40), point(4, throughput * 1.1, 80)];
  return { points, verdict: evaluateSla(points, sla) };
};
/** A sweep with no point within the bound (or, given `cutShortAt`, one perf_analyzer stopped). */
const inconclusive = (cutShortAt?: number): Sweep => {
  const points = [point(1, 300, 70)];
  return { points, verdict: evaluateSla(points, sla), ...(cutShortAt === undefined ? {} : { cutShort: { concurrency: cutShortAt, message: 'unstable' } }) };
};
const conclusive = (...throughputs: number[]) => ({ conclusive: throughputs.map(sweep), inconclusive: [] });
const baseline = (samples: number[]) => ({ variant: variant.name, bestThroughput: samples.reduce((a, b) => a + b, 0) / samples.length, latencyMsAtBest: 40, samples });

describe('regression gate (pure)', () => {
  it('passes a release as fast as the live one, and shows its median sweep', () => {
    const live = baseline([1000, 1004, 996]);
    const result = judgeVariant(model, variant, conclusive(1010, 990, 1000), live, [live.samples]);
    assert.equal(result.verdict.passed, true);
    assert.equal(result.verdict.bestThroughput, 1000);
    assert.deepEqual(result.sweeps, [1010, 990, 1000]);
    assert.equal(result.comparison.regressed, false, result.comparison.reason);
    assert.equal(result.baselineThroughput, 1000);
    assert.equal(result.repeated?.mean, 1000);
    assert.deepEqual(judge(models, [result], liveEntry), { passed: true });
  });

  it('fails as SlaNotMet when no variant of a model reaches its throughput floor', () => {
    const slow = judgeVariant(model, variant, conclusive(400, 410, 390), null, []);
    const fast = judgeVariant(model, { ...variant, name: 'resnet50-4', instances: 4 }, conclusive(900, 910, 890), null, []);
    assert.equal(slow.verdict.passed, false);
    assert.equal(slow.comparison.regressed, false);
    const verdict = judge(models, [slow], liveEntry);
    assert.ok(!verdict.passed && verdict.failure === FailureType.SlaNotMet);
    assert.deepEqual(verdict.unmetModels, ['resnet50']);
    assert.equal(verdict.message, `SLA not met for resnet50 (resnet50-1: ${slow.verdict.reason})`);
    assert.match(verdict.message, /400\.0 infer\/s .* < floor 500 infer\/s/);
    // One variant of the model meeting the SLA is enough.
    assert.deepEqual(judge(models, [slow, fast], liveEntry), { passed: true });
  });

  it('fails as SlaRegression on a drop beyond the noise of a quiet history, naming the live entry', () => {
    const live = baseline([1000, 1002, 998]);
    const result = judgeVariant(model, variant, conclusive(800, 805, 795), live, [live.samples, [1100, 1101, 1099]]);
    assert.equal(result.verdict.passed, true, 'the SLA alone is met');
    assert.equal(result.comparison.regressed, true);
    assert.equal(result.repeated?.tolerance, sla.regressionTolerance, 'quiet noise leaves the spec tolerance');
    const verdict = judge(models, [result], liveEntry);
    assert.ok(!verdict.passed && verdict.failure === FailureType.SlaRegression);
    assert.deepEqual(verdict.regressed, [result]);
    assert.equal(verdict.message, `performance regressed against the live release (record generation 4, v-live): resnet50-1 ${result.comparison.reason}`);
    assert.match(verdict.message, /800\.0 vs baseline 1000\.0 infer\/s \(-20\.0%, tolerance -10\.0%\)/);
  });

  it('passes a drop the record\'s noise history explains, however far past the spec tolerance', () => {
    const live = baseline([1000, 1200, 800]);
    const result = judgeVariant(model, variant, conclusive(880, 900, 860), live, [live.samples, [1100, 900, 1000]]);
    assert.ok(result.comparison.change! < -sla.regressionTolerance, 'a fixed 10% gate would roll it back');
    assert.equal(result.comparison.regressed, false, result.comparison.reason);
    assert.ok(result.repeated!.tolerance > 0.12 && result.repeated!.width !== null);
    assert.deepEqual(judge(models, [result], liveEntry), { passed: true });
  });

  it('fails a variant with too few conclusive sweeps: a regression where a baseline exists, no throughput averaged in', () => {
    const sweeps = { conclusive: [sweep(1000)], inconclusive: [inconclusive(), inconclusive(4), inconclusive()] };
    const live = baseline([1000, 1004, 996]);
    const result = judgeVariant(model, variant, sweeps, live, [live.samples]);
    assert.equal(result.verdict.passed, false);
    assert.equal(result.verdict.bestThroughput, null, 'never the next baseline');
    assert.equal(result.inconclusiveSweeps, 3);
    assert.equal(result.repeated, undefined);
    assert.match(result.verdict.reason, /^inconclusive: 1 of 3 sweeps within p99 <= 50 ms after 4 \(no point within the bound, cut short at c=4, no point within the bound\)$/);
    assert.equal(result.comparison.regressed, true);
    assert.match(result.comparison.reason, /; baseline 1000\.0 infer\/s$/);
    const verdict = judge(models, [result], liveEntry);
    assert.ok(!verdict.passed && verdict.failure === FailureType.SlaRegression, 'a regression is reported before the SLA');

    const firstDeploy = judgeVariant(model, variant, { conclusive: [], inconclusive: [inconclusive(), inconclusive(), inconclusive()] }, null, []);
    assert.deepEqual(firstDeploy.points, inconclusive().points, 'the last inconclusive sweep is shown');
    assert.equal(firstDeploy.comparison.regressed, false);
    const unmet = judge(models, [firstDeploy], { revision: undefined });
    assert.ok(!unmet.passed && unmet.failure === FailureType.SlaNotMet);
  });

  it('judges a first deploy (no baseline) on the SLA alone, with the spec tolerance', () => {
    const result = judgeVariant(model, variant, conclusive(700, 720, 680), null, []);
    assert.equal(result.baselineThroughput, null);
    assert.deepEqual(result.comparison, { regressed: false, change: null, reason: 'no baseline from a previous release' });
    assert.equal(result.repeated?.tolerance, sla.regressionTolerance);
    assert.equal(result.repeated?.width, null);
    assert.deepEqual(judge(models, [result], { revision: undefined }), { passed: true });
  });

  it('falls back to the per-revision baseline, without samples, before the record has an entry', () => {
    const legacy = { revision: 7, repositoryVersion: 'v-old', deploymentId: 'd', measuredAt: '2026-01-01T00:00:00.000Z', variants: [{ variant: variant.name, bestThroughput: 950, latencyMsAtBest: 41, samples: 3, cv: 0.02 }] };
    assert.deepEqual(baselineFor(null, legacy, variant.name), { ...legacy.variants[0], samples: [] });
    const entry = { baselines: [baseline([1000, 1004, 996])] } as unknown as ReleaseEntry;
    assert.equal(baselineFor(entry, legacy, variant.name)?.bestThroughput, 1000);
    assert.equal(baselineFor(null, null, variant.name), null);
  });

  it('keeps the per-revision gate of runs started before release records: every sweep counts', () => {
    const counted = judgeLegacyVariant(model, variant, [sweep(1000), inconclusive(), sweep(990)], null);
    assert.equal(counted.verdict.bestThroughput, 990, 'the median sweep');
    assert.equal(counted.repeated?.mean, (1000 + 990) / 3, 'the inconclusive sweep counts as 0');

    const previous = { variant: variant.name, bestThroughput: 1000, latencyMsAtBest: 40 };
    const result = judgeLegacyVariant(model, variant, [sweep(700), sweep(720), sweep(710)], previous);
    assert.equal(result.comparison.regressed, true, result.comparison.reason);
    const verdict = judge(models, [result], { revision: 7 });
    assert.ok(!verdict.passed && verdict.failure === FailureType.SlaRegression);
    assert.match(verdict.message, /^performance regressed against revision 7: resnet50-1 710\.0 vs baseline 1000\.0 infer\/s/);
  });
});
