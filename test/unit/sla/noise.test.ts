import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { differenceWidth, estimateNoise, gateTolerance, historyTolerance, noiseAwareTolerance, normalCdf, pooledNoise, promotionVerdict, repeatedScore, upperQuantile } from '../../../src/sla/noise.js';

const close = (a: number, b: number, eps = 1e-6) => assert.ok(Math.abs(a - b) < eps, `${a} vs ${b}`);

describe('measurement noise and the regression gate (pure)', () => {
  it('estimates mean, sample deviation and CV', () => {
    const noise = estimateNoise([90, 100, 110]);
    assert.equal(noise.mean, 100);
    assert.equal(noise.sd, 10);
    assert.equal(noise.cv, 0.1);
    assert.equal(noise.samples, 3);
  });

  it('refuses too few or non-positive measurements', () => {
    assert.throws(() => estimateNoise([100]), /at least 2/);
    assert.throws(() => estimateNoise([100, -1]), /non-negative/);
    assert.throws(() => estimateNoise([0, 0]), /all-zero/);
  });

  it('computes the normal CDF and its upper quantiles', () => {
    close(normalCdf(0), 0.5, 1e-7);
    close(normalCdf(1.959964), 0.975);
    close(normalCdf(-3), 0.0013499);
    close(upperQuantile(0.025), 1.959964, 1e-4);
    close(upperQuantile(0.01), 2.326348, 1e-4);
    assert.throws(() => upperQuantile(0.5), /\(0, 0.5\)/);
  });

  it("computes Student's t quantiles (t tables)", () => {
    close(upperQuantile(0.01, 2), 6.965, 1e-3);
    close(upperQuantile(0.01, 4), 3.747, 1e-3);
    close(upperQuantile(0.025, 10), 2.228, 1e-3);
    close(upperQuantile(0.01, 1), 31.821, 1e-2);
    assert.ok(upperQuantile(0.01, 1000) - upperQuantile(0.01) < 0.01);
    assert.throws(() => upperQuantile(0.01, 0), /degrees of freedom/);
  });

  it('matches textbook t and z quantiles to 1e-4', () => {
    // One-sided tables: t(0.95, 1), t(0.95, 5), t(0.975, 10), z(0.95), z(0.99).
    close(upperQuantile(0.05, 1), 6.3138, 1e-4);
    close(upperQuantile(0.05, 5), 2.015, 1e-4);
    close(upperQuantile(0.025, 10), 2.2281, 1e-4);
    close(upperQuantile(0.05), 1.6449, 1e-4);
    close(upperQuantile(0.01), 2.3263, 1e-4);
    close(normalCdf(1.6449), 0.95, 1e-4);
    // Welch's degrees of freedom are fractional: between the neighbouring integers' quantiles.
    assert.ok(upperQuantile(0.01, 4.5) < upperQuantile(0.01, 4) && upperQuantile(0.01, 4.5) > upperQuantile(0.01, 5));
    // Very many degrees of freedom: the normal quantile, not a degenerate 0.
    close(upperQuantile(0.01, 1e20), upperQuantile(0.01), 1e-9);
    close(upperQuantile(0.01, 1e8), upperQuantile(0.01), 1e-6);
  });

  it('narrows the width of a difference of means with more sweeps', () => {
    close(differenceWidth({ cv: 0.1, samples: 1 }, { cv: 0.1, samples: 1 }), 0.1 * Math.SQRT2);
    close(differenceWidth({ cv: 0.1, samples: 4 }, { cv: 0.1, samples: 4 }), 0.1 * Math.SQRT2 / 2);
  });

  it('widens the tolerance with the noise, never below the minimum', () => {
    assert.equal(noiseAwareTolerance(0.01, { minimum: 0.1, falseRollbackRate: 0.01 }), 0.1);
    close(noiseAwareTolerance(0.1, { minimum: 0.05, falseRollbackRate: 0.01 }), 0.2326348, 1e-4);
    assert.equal(noiseAwareTolerance(2, { minimum: 0.05, falseRollbackRate: 0.01 }), 0.95);
  });

  it('keeps false rollbacks at the chosen rate: the tolerance is the quantile times the width', () => {
    const width = 0.05;
    const tolerance = noiseAwareTolerance(width, { minimum: 0, falseRollbackRate: 0.01 });
    close(1 - normalCdf(tolerance / width), 0.01, 1e-5);
  });

  it('combines repeated sweeps: a sweep with nothing within the bound counts 0', () => {
    assert.deepEqual(repeatedScore([100]), { mean: 100, samples: 1, cv: null });
    const r = repeatedScore([90, 110, null]);
    close(r.mean, 200 / 3);
    assert.equal(r.samples, 3);
    assert.ok(r.cv! > 0.5);
    assert.throws(() => repeatedScore([]), /no sweeps/);
  });

  it("keeps the spec's tolerance without repeats, and widens it by both sides' noise with them", () => {
    const settings = { regressionTolerance: 0.05, falseRollbackRate: 0.01 };
    assert.deepEqual(gateTolerance({ mean: 100, samples: 1, cv: null }, null, settings), { tolerance: 0.05, width: null });
    assert.deepEqual(gateTolerance({ mean: 100, samples: 1, cv: null }, { samples: 1 }, settings), { tolerance: 0.05, width: null });
    const repeated = repeatedScore([90, 100, 110]);
    // Against a baseline measured once: taken as noisy as this side; the noise is estimated from 3 sweeps (2 degrees of freedom).
    const againstOnce = gateTolerance(repeated, null, settings);
    close(againstOnce.width!, Math.sqrt(0.01 / 3 + 0.01));
    close(againstOnce.tolerance, upperQuantile(0.01, 2) * againstOnce.width!, 1e-9);
    // Both sides of 3 sweeps: Welch's 4 degrees of freedom.
    const againstRepeated = gateTolerance(repeated, { cv: 0.1, samples: 3 }, settings);
    close(againstRepeated.width!, Math.sqrt(0.02 / 3));
    close(againstRepeated.tolerance, upperQuantile(0.01, 4) * againstRepeated.width!, 1e-9);
    // A repeated baseline makes the gate noise-aware for a release measured once.
    const fromBaseline = gateTolerance({ mean: 95, samples: 1, cv: null }, { cv: 0.1, samples: 3 }, settings);
    close(fromBaseline.width!, Math.sqrt(0.01 + 0.01 / 3));
    assert.equal(gateTolerance(repeatedScore([100, 100.1]), { cv: 0.001, samples: 2 }, settings).tolerance, 0.05, "quiet: the spec's minimum");
    assert.deepEqual(gateTolerance(repeatedScore([100, 100]), { cv: 0, samples: 2 }, settings), { tolerance: 0.05, width: 0 });
  });

  it('pools the noise of several releases, each against its own mean', () => {
    assert.equal(pooledNoise([[100]]), null);
    const pooled = pooledNoise([[100, 110], [1000, 1100], [50]])!;
    assert.equal(pooled.df, 2);
    // Each pair deviates by ±4.76% of its mean: the same relative noise at any speed.
    close(pooled.cv, Math.sqrt(2 * (0.05 / 1.05) ** 2));
  });

  it('takes the gate tolerance from the history, so the release under test cannot loosen it', () => {
    const settings = { regressionTolerance: 0.05, falseRollbackRate: 0.01 };
    const history = [[1600, 1500, 1700], [1550, 1650, 1600], [1610, 1520, 1680]];
    const gate = historyTolerance(history, { current: [1600, 1600, 1600], baseline: 3 }, settings);
    assert.ok(gate.tolerance > 0.1 && gate.tolerance < 0.25, String(gate.tolerance));
    assert.equal(gate.df, 8, 'the quiet new sweeps add degrees of freedom');
    // A noisy release's own spread cannot widen it: the history's tolerance stands.
    assert.ok(historyTolerance(history, { current: [1600, 900, 2300], baseline: 3 }, settings).tolerance <= historyTolerance(history, { current: [1600], baseline: 3 }, settings).tolerance + 1e-12);
    // A thin, noisy history (one release, df 2) is capped: a drop beyond half is always a regression.
    assert.equal(historyTolerance([[2000, 1500, 2400]], { current: [300, 320, 310], baseline: 3 }, settings).tolerance, 0.5);
    // The old gate, fed the release's own sweeps [1600, 0, 1600], widened to its cap and passed a 33% drop.
    const old = gateTolerance(repeatedScore([1600, 0, 1600]), { cv: 0.02, samples: 3 }, settings);
    assert.equal(old.tolerance, 0.95);
    assert.deepEqual(historyTolerance([], { current: [1, 1, 1], baseline: 3 }, settings), { tolerance: 0.05, width: null, df: null }, "no history: the spec's");
    assert.deepEqual(historyTolerance([[100], [100]], { current: [100], baseline: 1 }, settings), { tolerance: 0.05, width: null, df: null }, 'single sweeps carry no noise');
  });

  it('promotes only what beats the incumbent by the margin and by more than noise', () => {
    const settings = { margin: 0.05, falsePromotionRate: 0.05 };
    const quiet = [[100, 101, 99], [200, 202, 198]];
    const clear = promotionVerdict([120, 121, 119], [100, 101, 99], quiet, settings);
    assert.equal(clear.promote, true, clear.reason);
    close(clear.improvement!, 0.2);
    assert.equal(promotionVerdict([104, 104, 104], [100, 100, 100], quiet, settings).promote, false, 'inside the margin');
    // 8% better on average, but sweeps that vary by ±10% cannot tell.
    const noisy = promotionVerdict([118, 98, 108], [110, 90, 100], [], settings);
    assert.equal(noisy.promote, false, noisy.reason);
    assert.ok(noisy.threshold > 0.08);
    assert.equal(promotionVerdict([120, null, 121], [100, 100, 100], quiet, settings).promote, false, 'a candidate sweep outside the SLA');
    assert.equal(promotionVerdict([120, 121], [null, null], quiet, settings).promote, true, 'the incumbent met the SLA in no sweep');
  });
});
