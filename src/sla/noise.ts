/**
 * Measurement noise and the regression gate. Two measurements of one unchanged config differ by
 * noise alone; their relative difference has a standard deviation of about √2 × CV (CV: the
 * coefficient of variation of one measurement). A gate that calls a drop larger than
 * z × √2 × CV a regression rolls an unchanged release back with probability about 1 − Φ(z),
 * and misses a real drop d with probability about Φ((threshold − d) / (√2 × CV)).
 */

export interface NoiseEstimate {
  samples: number;
  mean: number;
  /** Sample standard deviation (n − 1). */
  sd: number;
  /** sd / mean. */
  cv: number;
}

export function estimateNoise(throughputs: readonly number[]): NoiseEstimate {
  if (throughputs.length < 2) throw new Error(`noise needs at least 2 measurements, got ${throughputs.length}`);
  if (throughputs.some((t) => !Number.isFinite(t) || t <= 0)) throw new Error('throughputs must be positive numbers');
  const mean = throughputs.reduce((a, b) => a + b, 0) / throughputs.length;
  const sd = Math.sqrt(throughputs.reduce((a, b) => a + (b - mean) ** 2, 0) / (throughputs.length - 1));
  return { samples: throughputs.length, mean, sd, cv: sd / mean };
}

/** The regression tolerance for this noise: at least `minimum`, and z noise widths of a difference. */
export function noiseAwareTolerance(noise: NoiseEstimate, { minimum, z }: { minimum: number; z: number }): number {
  if (!(z > 0)) throw new Error(`z must be > 0, got ${z}`);
  return Math.min(0.95, Math.max(minimum, z * Math.SQRT2 * noise.cv));
}

/** Standard normal CDF (Abramowitz–Stegun 7.1.26; error below 1.5e-7). */
export function normalCdf(x: number): number {
  const t = 1 / (1 + 0.3275911 * (Math.abs(x) / Math.SQRT2));
  const poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  const erf = 1 - poly * Math.exp(-(x * x) / 2);
  return x >= 0 ? (1 + erf) / 2 : (1 - erf) / 2;
}

/** Expected error rates of a tolerance under this noise: unchanged releases rolled back, and a real drop missed. */
export function expectedGateErrors(noise: NoiseEstimate, tolerance: number, realDrop: number): { falseRollback: number; missedRegression: number } {
  const width = Math.SQRT2 * noise.cv;
  if (width === 0) return { falseRollback: 0, missedRegression: realDrop > tolerance ? 0 : 1 };
  return { falseRollback: 1 - normalCdf(tolerance / width), missedRegression: normalCdf((tolerance - realDrop) / width) };
}
