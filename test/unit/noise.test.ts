import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { estimateNoise, expectedGateErrors, noiseAwareTolerance, normalCdf } from '../../src/sla/noise.js';

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
    assert.throws(() => estimateNoise([100, 0]), /positive/);
  });

  it('widens the tolerance with the noise, never below the minimum', () => {
    const quiet = estimateNoise([100, 100.5, 99.5]);
    assert.equal(noiseAwareTolerance(quiet, { minimum: 0.1, z: 3 }), 0.1);
    const noisy = estimateNoise([80, 100, 120]);
    assert.ok(Math.abs(noiseAwareTolerance(noisy, { minimum: 0.1, z: 3 }) - 3 * Math.SQRT2 * 0.2) < 1e-12);
  });

  it('computes the normal CDF', () => {
    assert.ok(Math.abs(normalCdf(0) - 0.5) < 1e-7);
    assert.ok(Math.abs(normalCdf(1.959964) - 0.975) < 1e-6);
    assert.ok(Math.abs(normalCdf(-3) - 0.0013499) < 1e-6);
  });

  it('predicts the gate\'s error rates: a 3-sigma tolerance rarely rolls back an unchanged release', () => {
    const noise = estimateNoise([95, 100, 105]);
    const tolerance = noiseAwareTolerance(noise, { minimum: 0, z: 3 });
    const rates = expectedGateErrors(noise, tolerance, 0.5);
    assert.ok(Math.abs(rates.falseRollback - 0.0013499) < 1e-5);
    assert.ok(rates.missedRegression < 1e-4, 'a 50% drop is caught');
  });
});
