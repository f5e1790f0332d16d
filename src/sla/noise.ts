/**
 * Measurement noise and the regression gate. A release's SLA-bounded throughput is the mean of
 * `repeats` sweeps; two such means of one unchanged config differ by noise alone, with a relative
 * standard deviation (the width) of √(CV₁²/n₁ + CV₂²/n₂). A gate that calls a drop larger than
 * z × width a regression rolls an unchanged release back with probability 1 − Φ(z), and misses a
 * real drop d with probability Φ((tolerance − d) / width). Pure. The distributions are stdlib's
 * (pure JavaScript, so they bundle into the workflow sandbox).
 */
import normalCdfAt from '@stdlib/stats-base-dists-normal-cdf';
import normalQuantile from '@stdlib/stats-base-dists-normal-quantile';
import tQuantile from '@stdlib/stats-base-dists-t-quantile';

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
  if (throughputs.some((t) => !Number.isFinite(t) || t < 0)) throw new Error('throughputs must be non-negative numbers');
  const mean = throughputs.reduce((a, b) => a + b, 0) / throughputs.length;
  if (mean === 0) throw new Error('noise of all-zero throughputs is undefined');
  const sd = Math.sqrt(throughputs.reduce((a, b) => a + (b - mean) ** 2, 0) / (throughputs.length - 1));
  return { samples: throughputs.length, mean, sd, cv: sd / mean };
}

/** Relative standard deviation of (mean A / mean B − 1) when A and B measure the same thing. */
export function differenceWidth(a: Pick<NoiseEstimate, 'cv' | 'samples'>, b: Pick<NoiseEstimate, 'cv' | 'samples'>): number {
  return Math.sqrt(a.cv ** 2 / a.samples + b.cv ** 2 / b.samples);
}

/** Standard normal CDF. */
export function normalCdf(x: number): number {
  return normalCdfAt(x, 0, 1);
}

/**
 * Beyond this many degrees of freedom Student's t is the normal distribution to within 1e-7, and
 * the library's t quantile loses precision (near 1e16 it returns 0): take the normal quantile.
 */
const NORMAL_DF = 1e8;

/**
 * The t with P(T > t) = p: Student's t with `df` degrees of freedom, or the normal distribution
 * when df is Infinity. For 0 < p < 0.5.
 */
export function upperQuantile(p: number, df = Number.POSITIVE_INFINITY): number {
  if (!(p > 0 && p < 0.5)) throw new Error(`a one-sided error rate must be in (0, 0.5), got ${p}`);
  if (!(df > 0)) throw new Error(`degrees of freedom must be > 0, got ${df}`);
  return df > NORMAL_DF ? normalQuantile(1 - p, 0, 1) : tQuantile(1 - p, df);
}

/**
 * The regression tolerance: the spec's, widened so that noise of this width rolls an unchanged
 * release back at most `falseRollbackRate` of the time. `df`: the degrees of freedom of the width's
 * estimate (few sweeps estimate the noise poorly, so Student's t widens it further).
 */
export function noiseAwareTolerance(
  width: number,
  { minimum, falseRollbackRate, df = Number.POSITIVE_INFINITY }: { minimum: number; falseRollbackRate: number; df?: number },
): number {
  return Math.min(0.95, Math.max(minimum, upperQuantile(falseRollbackRate, df) * width));
}

export interface RepeatedScore {
  /** Mean SLA-bounded throughput over the sweeps (a sweep with no point within the bound counts 0). */
  mean: number;
  samples: number;
  /** Coefficient of variation; null with one sweep or a zero mean. */
  cv: number | null;
}

export function repeatedScore(scores: readonly (number | null)[]): RepeatedScore {
  if (scores.length === 0) throw new Error('no sweeps to combine');
  const values = scores.map((s) => s ?? 0);
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  return { mean, samples: values.length, cv: values.length < 2 || mean === 0 ? null : estimateNoise(values).cv };
}

/**
 * The tolerance for comparing `current` with `baseline`: noise-aware when either side was
 * repeated (a side measured once is taken as noisy as the other), with Welch's degrees of freedom
 * for the noise estimated from the repeated sides; else the spec's.
 */
export function gateTolerance(
  current: RepeatedScore,
  baseline: { cv?: number | null; samples?: number } | null,
  { regressionTolerance, falseRollbackRate }: { regressionTolerance: number; falseRollbackRate: number },
): { tolerance: number; width: number | null } {
  const sides = [
    { cv: current.cv ?? null, samples: current.samples },
    { cv: baseline?.cv ?? null, samples: baseline?.samples ?? 1 },
  ];
  const estimated = sides.filter((s): s is { cv: number; samples: number } => s.cv !== null && s.samples > 1);
  if (estimated.length === 0) return { tolerance: regressionTolerance, width: null };
  const cv = estimated[0]!.cv;
  const [a, b] = sides.map((s) => ({ cv: s.cv ?? cv, samples: s.samples })) as [{ cv: number; samples: number }, { cv: number; samples: number }];
  const width = differenceWidth(a, b);
  const parts = estimated.map((s) => (s.cv ** 2 / s.samples) ** 2 / (s.samples - 1));
  const df = width === 0 ? Number.POSITIVE_INFINITY : estimated.reduce((sum, s) => sum + s.cv ** 2 / s.samples, 0) ** 2 / parts.reduce((x, y) => x + y, 0);
  return { tolerance: noiseAwareTolerance(width, { minimum: regressionTolerance, falseRollbackRate, df }), width };
}

/**
 * Pooled relative noise of several sweep sets, each one release's sweeps of one variant (the
 * release record's history): each set is normalised by its own mean, so releases of different
 * speed pool. Null when no set has two sweeps.
 */
export function pooledNoise(sets: readonly (readonly number[])[]): { cv: number; df: number } | null {
  let squares = 0;
  let df = 0;
  for (const set of sets) {
    const mean = set.reduce((a, b) => a + b, 0) / set.length;
    if (set.length < 2 || !(mean > 0)) continue;
    squares += set.reduce((sum, x) => sum + (x / mean - 1) ** 2, 0);
    df += set.length - 1;
  }
  return df === 0 ? null : { cv: Math.sqrt(squares / df), df };
}

export interface GateTolerance {
  tolerance: number;
  /** Relative sd of (new mean / baseline mean − 1) under noise alone; null without noise history. */
  width: number | null;
  /** Degrees of freedom of the noise estimate; null without noise history. */
  df: number | null;
}

/** The most a gate tolerates losing, however noisy: a drop beyond half is a regression. */
export const MAX_GATE_TOLERANCE = 0.5;

/**
 * The regression gate's tolerance from the release record's noise history: the width
 * cv √(1/n + 1/n_baseline) widened by Student's t for the noise estimate's degrees of freedom.
 * The new release's conclusive sweeps may join the estimate only where that narrows the
 * tolerance (more degrees of freedom), never where their spread would widen it, so a noisy or
 * broken release cannot loosen its own gate. Without history, the spec's fixed tolerance.
 */
export function historyTolerance(
  history: readonly (readonly number[])[],
  sweeps: { current: readonly number[]; baseline: number },
  { regressionTolerance, falseRollbackRate }: { regressionTolerance: number; falseRollbackRate: number },
): GateTolerance {
  const n = Math.max(sweeps.current.length, 1);
  const gateFor = (noise: { cv: number; df: number }): GateTolerance => {
    const width = noise.cv * Math.sqrt(1 / n + 1 / Math.max(sweeps.baseline, 1));
    const df = width === 0 ? Number.POSITIVE_INFINITY : noise.df;
    const tolerance = Math.min(MAX_GATE_TOLERANCE, noiseAwareTolerance(width, { minimum: regressionTolerance, falseRollbackRate, df }));
    return { tolerance, width, df: noise.df };
  };
  const fromHistory = pooledNoise(history);
  if (fromHistory === null) return { tolerance: regressionTolerance, width: null, df: null };
  const withCurrent = pooledNoise([...history, sweeps.current]);
  const gates = [gateFor(fromHistory), ...(withCurrent === null ? [] : [gateFor(withCurrent)])];
  return gates.reduce((a, b) => (b.tolerance < a.tolerance ? b : a));
}

export interface PromotionVerdict {
  promote: boolean;
  /** Candidate mean / incumbent mean − 1 (null: a side has no sweep within the SLA). */
  improvement: number | null;
  /** The improvement needed: the margin, or more where the noise could fake it. */
  threshold: number;
  reason: string;
}

/**
 * Re-optimization's decision between a candidate and the incumbent, each swept `n` times in the
 * same session (fresh sweeps, not the search's, so a lucky search sweep is not rewarded). The
 * candidate must beat the incumbent by the margin, and by more than noise would give it
 * `falsePromotionRate` of the time (noise pooled from the record's history and both sides).
 * Every sweep of the candidate must be conclusive (within the SLA).
 */
export function promotionVerdict(
  candidate: readonly (number | null)[],
  incumbent: readonly (number | null)[],
  history: readonly (readonly number[])[],
  { margin, falsePromotionRate }: { margin: number; falsePromotionRate: number },
): PromotionVerdict {
  const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
  const conclusive = (xs: readonly (number | null)[]) => xs.filter((x): x is number => x !== null);
  const c = conclusive(candidate);
  const i = conclusive(incumbent);
  if (c.length === 0 || c.length < candidate.length) {
    return { promote: false, improvement: null, threshold: margin, reason: `${candidate.length - c.length} of ${candidate.length} candidate sweeps had no point within the SLA` };
  }
  const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  if (i.length === 0) {
    return { promote: true, improvement: null, threshold: margin, reason: 'the incumbent met the SLA in none of its sweeps; every candidate sweep did' };
  }
  const improvement = mean(c) / mean(i) - 1;
  const noise = pooledNoise([...history, c, i]);
  const threshold = noise === null ? margin : noiseAwareTolerance(noise.cv * Math.sqrt(1 / c.length + 1 / i.length), { minimum: margin, falseRollbackRate: falsePromotionRate, df: noise.df });
  const promote = improvement >= threshold;
  return {
    promote,
    improvement,
    threshold,
    reason: `${mean(c).toFixed(1)} vs incumbent ${mean(i).toFixed(1)} infer/s (${improvement >= 0 ? '+' : ''}${pct(improvement)}, needs +${pct(threshold)}; ${c.length} and ${i.length} sweeps)`,
  };
}
