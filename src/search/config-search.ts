/**
 * Search for a better Triton serving config (instance count × max batch size × preferred batch
 * sizes × queue delay) under the SLA, in two phases. Screening: from the incumbent, a best-first
 * neighbourhood walk over the space's grid (one step along an axis, or instances and max batch
 * together), each config measured once with short windows, always stepping from the best config
 * screened so far, until every neighbour of it is screened or the budget is spent; the incumbent
 * is screened again last, and the screens that beat its two make the finalists. Confirmation:
 * the best few screened configs and the incumbent, swept in turns (round-robin), so drift over the
 * session falls on all of them alike, the worse half of the finalists dropping out after each
 * round; the best mean wins. Triton's semantics shrink the space:
 * dynamic batching is always on, preferred sizes are none, the max batch or explicit sizes no larger
 * than it, and a queue delay the latency budget cannot hold is never tried. Pure.
 */
import type { PreferredChoice, SearchSpace } from '../spec/schema.js';
import type { SweepSpan } from '../sla/sweep-span.js';
import type { ModelConfigInput } from '../triton/model-config.js';

export interface ServingCandidate {
  instances: number;
  maxBatchSize: number;
  preferredBatchSizes: number[];
  maxQueueDelayMicroseconds: number;
}

export interface SearchConstraints {
  /** The chosen TensorRT profile's max batch: Triton cannot batch beyond it. */
  profileMaxBatch: number;
  /** The batch size clients send (perf requests): max batch size must admit it. */
  requestBatch: number;
  /** The longest queue delay the latency budget leaves once a request's compute time is paid (µs). */
  maxQueueDelayMicroseconds?: number;
}

export interface ScoredCandidate {
  candidate: ServingCandidate;
  /** SLA-bounded throughput (null: no point within the latency bound). */
  score: number | null;
}

/** The serving config a model config describes (without dynamic batching: no preferred sizes, no delay). */
export function servingCandidateOf(config: Pick<ModelConfigInput, 'instances' | 'maxBatchSize' | 'dynamicBatching'>): ServingCandidate {
  return {
    instances: config.instances,
    maxBatchSize: config.maxBatchSize,
    preferredBatchSizes: config.dynamicBatching?.preferredBatchSizes ?? [],
    maxQueueDelayMicroseconds: config.dynamicBatching?.maxQueueDelayMicroseconds ?? 0,
  };
}

export function candidateKey(c: ServingCandidate): string {
  return `i${c.instances}-b${c.maxBatchSize}-p${c.preferredBatchSizes.join('.')}-d${c.maxQueueDelayMicroseconds}`;
}

/** The preferred batch sizes a choice names for a max batch size. */
export function preferredSizes(choice: PreferredChoice, maxBatchSize: number): number[] {
  if (choice === 'none') return [];
  if (choice === 'max-batch') return [maxBatchSize];
  return choice;
}

export function isValidCandidate(c: ServingCandidate, constraints: SearchConstraints): boolean {
  return (
    c.maxBatchSize <= constraints.profileMaxBatch &&
    c.maxBatchSize >= constraints.requestBatch &&
    c.preferredBatchSizes.every((size) => size <= c.maxBatchSize) &&
    c.maxQueueDelayMicroseconds <= (constraints.maxQueueDelayMicroseconds ?? Number.POSITIVE_INFINITY)
  );
}

/**
 * The queue delay the latency bound leaves: the bound less a request's compute time, that is the
 * latency at the lowest concurrency measured (at the SLA's percentile) less the queue delay the
 * measured config itself may have added. Undefined (no bound) without a measurement.
 */
export function queueDelayBudget(boundMs: number, latencyAtLowestConcurrencyUs: number | undefined, measuredDelayUs = 0): number | undefined {
  if (latencyAtLowestConcurrencyUs === undefined) return undefined;
  const compute = Math.max(0, latencyAtLowestConcurrencyUs - measuredDelayUs);
  return Math.max(0, Math.round(boundMs * 1000 - compute));
}

/** A grid point: an index into each axis of the space (axes sorted; preferred choices in the space's order). */
type GridPoint = readonly [instances: number, maxBatch: number, preferred: number, delay: number];

interface Grid {
  instances: number[];
  maxBatchSize: number[];
  preferred: PreferredChoice[];
  delays: number[];
}

const ascending = (xs: readonly number[]) => [...new Set(xs)].sort((a, b) => a - b);

function gridOf(space: SearchSpace): Grid {
  return {
    instances: ascending(space.instances),
    maxBatchSize: ascending(space.maxBatchSize),
    preferred: space.preferredBatchSizes,
    delays: ascending(space.maxQueueDelayMicroseconds),
  };
}

function candidateAt(grid: Grid, [i, b, p, d]: GridPoint): ServingCandidate | undefined {
  const instances = grid.instances[i];
  const maxBatchSize = grid.maxBatchSize[b];
  const choice = grid.preferred[p];
  const maxQueueDelayMicroseconds = grid.delays[d];
  if (instances === undefined || maxBatchSize === undefined || choice === undefined || maxQueueDelayMicroseconds === undefined) return undefined;
  return { instances, maxBatchSize, preferredBatchSizes: preferredSizes(choice, maxBatchSize), maxQueueDelayMicroseconds };
}

const nearestIndex = (values: readonly number[], x: number) =>
  values.reduce((best, v, i) => (Math.abs(v - x) < Math.abs(values[best]! - x) ? i : best), 0);

/** The grid point nearest a config (the incumbent may be off the grid). */
function nearestPoint(grid: Grid, c: ServingCandidate): GridPoint {
  const same = (choice: PreferredChoice) => preferredSizes(choice, c.maxBatchSize).join() === c.preferredBatchSizes.join();
  const p = Math.max(0, grid.preferred.findIndex(same));
  return [nearestIndex(grid.instances, c.instances), nearestIndex(grid.maxBatchSize, c.maxBatchSize), p, nearestIndex(grid.delays, c.maxQueueDelayMicroseconds)];
}

function gridPoints(grid: Grid): GridPoint[] {
  const points: GridPoint[] = [];
  for (let i = 0; i < grid.instances.length; i++)
    for (let b = 0; b < grid.maxBatchSize.length; b++)
      for (let p = 0; p < grid.preferred.length; p++) for (let d = 0; d < grid.delays.length; d++) points.push([i, b, p, d]);
  return points;
}

/** Every valid config of the space (what an exhaustive sweep measures), each once. */
export function allCandidates(space: SearchSpace, constraints: SearchConstraints): ServingCandidate[] {
  const grid = gridOf(space);
  const out = new Map<string, ServingCandidate>();
  for (const point of gridPoints(grid)) {
    const candidate = candidateAt(grid, point)!;
    if (isValidCandidate(candidate, constraints)) out.set(candidateKey(candidate), candidate);
  }
  return [...out.values()];
}

/**
 * The valid grid point fewest steps from `point` (itself when valid), so that a walk from a config
 * the constraints rule out (an incumbent whose delay the budget cannot hold) still has neighbours.
 */
function nearestValidPoint(grid: Grid, point: GridPoint, constraints: SearchConstraints): GridPoint | undefined {
  const steps = (q: GridPoint) => q.reduce((n, index, axis) => n + Math.abs(index - point[axis]!), 0);
  return gridPoints(grid)
    .filter((q) => isValidCandidate(candidateAt(grid, q)!, constraints))
    .reduce<GridPoint | undefined>((best, q) => (best === undefined || steps(q) < steps(best) ? q : best), undefined);
}

/**
 * Steps from a grid point, in the order they are tried: instances (the strongest axis on every
 * server measured), max batch, both together (more instances often want smaller batches, and back),
 * the other preferred choices, then the queue delay.
 */
function neighbours(grid: Grid, [i, b, p, d]: GridPoint): GridPoint[] {
  const steps: GridPoint[] = [
    [i + 1, b, p, d],
    [i - 1, b, p, d],
    [i, b + 1, p, d],
    [i, b - 1, p, d],
    [i + 1, b - 1, p, d],
    [i - 1, b + 1, p, d],
    [i + 1, b + 1, p, d],
    [i - 1, b - 1, p, d],
    ...grid.preferred.map((_, other) => [i, b, other, d] as const).filter(([, , other]) => other !== p),
    [i, b, p, d + 1],
    [i, b, p, d - 1],
  ];
  return steps.filter((step) => step.every((index) => index >= 0));
}

const scoreOf = (s: ScoredCandidate) => s.score ?? Number.NEGATIVE_INFINITY;

export function bestOf(scored: readonly ScoredCandidate[]): ScoredCandidate | undefined {
  return scored.reduce<ScoredCandidate | undefined>((best, s) => (best === undefined || scoreOf(s) > scoreOf(best) ? s : best), undefined);
}

/**
 * The next config to screen, or null when screening is done. `screened` holds every screen so far,
 * in order, the incumbent first; `budget` bounds the screens after the incumbent's.
 */
export function nextScreen(space: SearchSpace, constraints: SearchConstraints, screened: readonly ScoredCandidate[], budget: number): ServingCandidate | null {
  if (screened.length - 1 >= budget) return null;
  const best = bestOf(screened);
  if (best === undefined) return null;
  const grid = gridOf(space);
  const tried = new Set(screened.map((s) => candidateKey(s.candidate)));
  const from = nearestValidPoint(grid, nearestPoint(grid, best.candidate), constraints);
  if (from === undefined) return null;
  for (const point of [from, ...neighbours(grid, from)]) {
    const candidate = candidateAt(grid, point);
    if (candidate !== undefined && !tried.has(candidateKey(candidate)) && isValidCandidate(candidate, constraints)) return candidate;
  }
  return null;
}

/**
 * The screened configs worth confirming: the best `count` that beat the incumbent's screens (their
 * mean; screened[0] is the incumbent's first), best first.
 */
export function finalistsOf(screened: readonly ScoredCandidate[], count: number, incumbentScreens: readonly (number | null)[] = [screened[0]?.score ?? null]): ScoredCandidate[] {
  const bar = incumbentScreens.every((s) => s === null) ? null : meanOf(incumbentScreens);
  return screened
    .slice(1)
    .filter((c) => c.score !== null && (bar === null || c.score > bar))
    .sort((a, b) => b.score! - a.score!)
    .slice(0, count);
}

/** The mean of a config's confirmation sweeps; a sweep outside the SLA counts as 0. */
export function meanOf(samples: readonly (number | null)[]): number {
  return samples.length === 0 ? 0 : samples.reduce<number>((sum, s) => sum + (s ?? 0), 0) / samples.length;
}

/** One measurement the search asks for: a config's SLA-bounded throughput, and its latency when idle. */
export interface SearchMeasurement {
  score: number | null;
  /** The latency at the lowest concurrency swept, at the SLA's percentile (µs): what a request costs without queueing. */
  idleLatencyUs?: number;
}

/**
 * Measures `candidate` (undefined: the incumbent exactly as it serves): `screen` is one short
 * sweep (the incumbent's `round` 0 first, 1 after the others); `confirm` one full sweep, the
 * `round`th of that config; either over `span` of the SLA's concurrencies.
 */
export type MeasureCandidate = (candidate: ServingCandidate | undefined, phase: 'screen' | 'confirm', round: number, span: SweepSpan) => Promise<SearchMeasurement>;

export interface SearchSettings {
  /** Screens after the incumbent's. */
  budget: number;
  /** The best screens swept in the first confirmation round; each later round keeps the better half, two at least. */
  finalists: number;
  /** Confirmation rounds: the incumbent and every finalist still in the race, one full sweep each. */
  confirmSweeps: number;
  latencyBoundMs: number;
  /**
   * The concurrencies every sweep but the incumbent's first measures (default the whole range);
   * that one sweeps the whole range, for the idle latency the queue-delay budget needs.
   */
  span?: SweepSpan;
}

export interface ConfirmedCandidate {
  candidate: ServingCandidate;
  /** SLA-bounded throughput of each confirmation sweep, in round order (null: not within the SLA). */
  samples: (number | null)[];
}

export interface SearchOutcome {
  /** Every screen, the incumbent's first. */
  screened: ScoredCandidate[];
  /** The incumbent's screens: first, and again after the others (drift over the screening shows between the two). */
  incumbentScreens: (number | null)[];
  /** Null when no screened config beat the mean of the incumbent's screens. */
  confirmation: { incumbent: (number | null)[]; finalists: ConfirmedCandidate[] } | null;
  /** The best confirmed mean of the incumbent and the finalists swept in every round (the incumbent when nothing was confirmed). */
  best: ServingCandidate;
}

/**
 * The finalists that stay in the race after a round: the better half by confirmed mean, two at
 * least (a race of two is decided by every round), best first.
 */
export function raceSurvivors(racing: readonly ConfirmedCandidate[]): ConfirmedCandidate[] {
  const keep = Math.max(2, Math.ceil(racing.length / 2));
  return [...racing].sort((a, b) => meanOf(b.samples) - meanOf(a.samples)).slice(0, keep);
}

/**
 * Screening, then confirmation as a race in rounds: each round sweeps the incumbent, then each
 * finalist still racing; after a round the worse half drops out, so the sweeps go to the configs
 * that could win, and drift over the session falls on the incumbent and those alike.
 */
export async function searchServingConfig(
  space: SearchSpace,
  constraints: SearchConstraints,
  incumbent: ServingCandidate,
  settings: SearchSettings,
  measure: MeasureCandidate,
): Promise<SearchOutcome> {
  const span = settings.span ?? 'whole';
  const first = await measure(undefined, 'screen', 0, 'whole');
  const bounded = { ...constraints, maxQueueDelayMicroseconds: queueDelayBudget(settings.latencyBoundMs, first.idleLatencyUs, incumbent.maxQueueDelayMicroseconds) };
  const screened: ScoredCandidate[] = [{ candidate: incumbent, score: first.score }];
  for (let next = nextScreen(space, bounded, screened, settings.budget); next !== null; next = nextScreen(space, bounded, screened, settings.budget)) {
    screened.push({ candidate: next, score: (await measure(next, 'screen', 0, span)).score });
  }
  // The screens are judged against the incumbent's first and last, so that a session whose
  // server slowed (or sped up) after the first screen does not rank every neighbour by the change.
  const incumbentScreens = [first.score];
  if (screened.length > 1) incumbentScreens.push((await measure(undefined, 'screen', 1, span)).score);
  const finalists = finalistsOf(screened, settings.finalists, incumbentScreens);
  if (finalists.length === 0) return { screened, incumbentScreens, confirmation: null, best: incumbent };

  const incumbentSamples: (number | null)[] = [];
  const confirmed: ConfirmedCandidate[] = finalists.map((f) => ({ candidate: f.candidate, samples: [] }));
  let racing = confirmed;
  for (let round = 0; round < settings.confirmSweeps; round++) {
    if (round > 0) racing = raceSurvivors(racing);
    incumbentSamples.push((await measure(undefined, 'confirm', round, span)).score);
    for (const finalist of racing) finalist.samples.push((await measure(finalist.candidate, 'confirm', round, span)).score);
  }
  const best = racing.reduce<ConfirmedCandidate>((a, b) => (meanOf(b.samples) > meanOf(a.samples) ? b : a), { candidate: incumbent, samples: incumbentSamples });
  return { screened, incumbentScreens, confirmation: { incumbent: incumbentSamples, finalists: confirmed }, best: best.candidate };
}
