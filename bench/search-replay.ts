/**
 * Replaying the re-optimization's config search (src/search/config-search.ts) on an exhaustive
 * reference recorded by a benchmark: the CPU one (bench/config-search.ts) and the GPU one
 * (bench/gpu/search.ts). The reference is one sweep per config per round; a replayed measurement
 * of a config is its reference mean plus a recorded residual drawn at random, and its points a
 * recorded sweep of that config.
 */
import {
  allCandidates,
  candidateKey,
  meanOf,
  type SearchConstraints,
  type SearchMeasurement,
  type SearchSettings,
  searchServingConfig,
  type ServingCandidate,
} from '../src/search/config-search.js';
import type { SearchSpace } from '../src/spec/schema.js';
import { pointsOf, sweepSpan } from '../src/sla/sweep-span.js';
import { latencyAt, type LatencyPercentile, type PerfPoint } from '../src/triton/perf-types.js';

export interface SearchStudy {
  sla: { latencyMs: number; percentile: LatencyPercentile; minThroughput: number };
  concurrency: { start: number; end: number; step: number };
  space: SearchSpace;
  constraints: SearchConstraints;
  /** Reference sweeps per config. */
  rounds: number;
}

/** A sweep as recorded: its score, perf_analyzer's time, and its points as [concurrency, infer/s, p99 µs]. */
export interface ReferenceSweep {
  score: number | null;
  perfSeconds: number;
  points: [number, number, number][];
}

/** Per config key, one sweep per reference round. */
export type Reference = Record<string, ReferenceSweep[]>;

/** perf_analyzer's seconds per concurrency point, of screens and of confirmations. */
export type PointCosts = Record<'screen' | 'confirm', number>;

export const fmt = (x: number | null | undefined, digits = 0) => (x === null || x === undefined ? '–' : x.toFixed(digits));
export const label = (c: ServingCandidate) =>
  `${c.instances} inst, max batch ${c.maxBatchSize}, preferred [${c.preferredBatchSizes.join(',')}], delay ${c.maxQueueDelayMicroseconds} µs`;
export const sum = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0);
export const median = (xs: readonly number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 === 1 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

/** What the search learns from a sweep: its score, and the latency at the range's lowest concurrency where it swept that. */
export function searchMeasurementOf(study: SearchStudy, score: number | null, points: readonly PerfPoint[]): SearchMeasurement {
  const idle = points.find((p) => p.concurrency === study.concurrency.start);
  return { score, ...(idle === undefined ? {} : { idleLatencyUs: latencyAt(idle, study.sla.percentile) }) };
}

/**
 * The recorded noise: each reference sweep's deviation from its config's mean and its round's
 * drift (a two-way residual), scaled up for the degrees of freedom the two means took.
 */
export function recordedResiduals(study: SearchStudy, reference: Reference): number[] {
  const configs = Object.values(reference).map((sweeps) => sweeps.map((s) => s.score ?? 0));
  const grand = meanOf(configs.flat());
  const roundEffect = Array.from({ length: study.rounds }, (_, r) => meanOf(configs.map((c) => c[r] ?? null)) - grand);
  const residuals = configs.flatMap((c) => c.map((x, r) => x - meanOf(c) - roundEffect[r]!));
  const n = residuals.length;
  const scale = Math.sqrt(n / (n - configs.length - (study.rounds - 1)));
  return residuals.map((e) => e * scale);
}

/**
 * The search replayed in a session like a live run's: a measurement of a config is its reference
 * mean plus a recorded residual drawn at random (drift within a session falls on every config
 * alike, so it is left out); its points, for the idle latency and the points a span measures, a
 * recorded sweep of that config; its perf_analyzer time, `cost` per point measured.
 */
export async function replaySearch(
  study: SearchStudy,
  reference: Reference,
  start: ServingCandidate,
  settings: SearchSettings,
  draw: { random: () => number; residuals: readonly number[]; cost: PointCosts },
): Promise<{ pick: ServingCandidate; perfSeconds: number }> {
  const { random, residuals, cost } = draw;
  let perfSeconds = 0;
  const outcome = await searchServingConfig(study.space, study.constraints, start, settings, async (candidate, phase, _round, span) => {
    const sweeps = reference[candidateKey(candidate ?? start)]!;
    const sweep = sweeps[Math.floor(random() * sweeps.length)]!;
    const points = sweep.points.map(([c, throughput, p99]) => ({ concurrency: c, throughput, latencyUs: { avg: p99, p50: p99, p90: p99, p95: p99, p99 } }));
    const measured = pointsOf(await sweepSpan(study.concurrency, span, study.sla, async (range) => ({ points: points.filter((p) => p.concurrency >= range.start && p.concurrency <= range.end) })));
    perfSeconds += measured.length * cost[phase];
    const score = Math.max(0, meanOf(sweeps.map((s) => s.score)) + residuals[Math.floor(random() * residuals.length)]!);
    return searchMeasurementOf(study, score, measured);
  });
  return { pick: outcome.best, perfSeconds };
}

/**
 * The exhaustive sweep replayed with `sweeps` per config (its measurements drawn as the search's
 * replays draw them): how near its own optimum the reference's method comes at that cost.
 */
export function exhaustiveReplay(study: SearchStudy, reference: Reference, sweeps: number, random: () => number, residuals: readonly number[]): ServingCandidate {
  const measured = allCandidates(study.space, study.constraints).map((c) => {
    const mean = meanOf(reference[candidateKey(c)]!.map((s) => s.score));
    const draws = Array.from({ length: sweeps }, () => mean + residuals[Math.floor(random() * residuals.length)]!);
    return { c, mean: meanOf(draws) };
  });
  return measured.reduce((a, b) => (b.mean > a.mean ? b : a)).c;
}

/** The reference ranked, its optimum, and how a pick is valued against it. */
export function rankReference(study: SearchStudy, reference: Reference) {
  const grid = allCandidates(study.space, study.constraints);
  const referenceMean = (c: ServingCandidate) => meanOf(reference[candidateKey(c)]?.map((s) => s.score) ?? []);
  const ranked = grid.map((c) => ({ c, mean: referenceMean(c), scores: reference[candidateKey(c)]!.map((s) => s.score) })).sort((a, b) => b.mean - a.mean);
  const optimum = ranked[0]!;
  // Within noise of the optimum: its mean less one standard error of the difference of two means
  // (the sd pooled over the configs with more than one sweep).
  const sd = (xs: number[]) => Math.sqrt(sum(xs.map((x) => (x - meanOf(xs)) ** 2)) / (xs.length - 1));
  const pooledSd = Math.sqrt(meanOf(ranked.filter((r) => r.scores.length > 1).map((r) => sd(r.scores.map((s) => s ?? 0)) ** 2)));
  const noiseBand = pooledSd * Math.sqrt(2 / study.rounds);
  return {
    grid,
    ranked,
    optimum,
    pooledSd,
    noiseBand,
    referenceMean,
    referencePerf: sum(Object.values(reference).flat().map((s) => s.perfSeconds)),
    withinNoise: (c: ServingCandidate) => referenceMean(c) >= optimum.mean - noiseBand,
    ratio: (c: ServingCandidate | null) => (c === null ? 0 : referenceMean(c) / optimum.mean),
  };
}

export interface ReplayOutcome {
  ratio: number;
  perf: number;
  near: boolean;
}

/** The search replayed `times` from each start. */
export async function replaysFrom(
  study: SearchStudy,
  reference: Reference,
  ranking: ReturnType<typeof rankReference>,
  starts: readonly ServingCandidate[],
  times: number,
  settings: SearchSettings,
  draw: { random: () => number; residuals: readonly number[]; cost: PointCosts },
): Promise<ReplayOutcome[]> {
  const out: ReplayOutcome[] = [];
  for (const start of starts) {
    for (let i = 0; i < times; i++) {
      const { pick, perfSeconds } = await replaySearch(study, reference, start, settings, draw);
      out.push({ ratio: ranking.ratio(pick), perf: perfSeconds, near: ranking.withinNoise(pick) });
    }
  }
  return out;
}

/** The exhaustive sweep replayed `times` with `sweeps` per config. */
export function exhaustiveReplays(study: SearchStudy, reference: Reference, ranking: ReturnType<typeof rankReference>, sweeps: number, times: number, random: () => number, residuals: readonly number[]): ReplayOutcome[] {
  return Array.from({ length: times }, () => {
    const pick = exhaustiveReplay(study, reference, sweeps, random, residuals);
    return { ratio: ranking.ratio(pick), perf: (ranking.referencePerf * sweeps) / study.rounds, near: ranking.withinNoise(pick) };
  });
}

/** A table row of replays (the columns of the config-search tables). */
export function replayRow(what: string, rs: readonly ReplayOutcome[], referencePerf: number): string {
  const ratios = rs.map((r) => r.ratio).sort((a, b) => a - b);
  const perf = median(rs.map((r) => r.perf));
  return `| ${what} (each measurement its reference mean plus a recorded residual drawn at random) | – | – | median ${median(ratios).toFixed(3)}, 10th percentile ${ratios[Math.floor(ratios.length / 10)]!.toFixed(3)}, worst ${ratios[0]!.toFixed(3)} | ${rs.filter((r) => r.near).length}/${rs.length} | – | median ${perf.toFixed(0)} s (${(perf / referencePerf).toFixed(3)}) | – |`;
}
