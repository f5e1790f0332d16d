/**
 * Search for a better Triton serving config (instance count × max batch size × preferred batch
 * sizes × queue delay) under the SLA. Coordinate ascent: from the best config so far, measure the
 * untried values along one dimension at a time; stop at a config none of whose axis neighbours is
 * better, or at the budget. It measures a few axes instead of the whole grid. Pure.
 */
import type { SearchSpace } from '../spec/schema.js';
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

export function isValidCandidate(c: ServingCandidate, constraints: SearchConstraints): boolean {
  return (
    c.maxBatchSize <= constraints.profileMaxBatch &&
    c.maxBatchSize >= constraints.requestBatch &&
    c.preferredBatchSizes.every((size) => size <= c.maxBatchSize)
  );
}

/** Every valid config of the space (what an exhaustive sweep measures). */
export function allCandidates(space: SearchSpace, constraints: SearchConstraints): ServingCandidate[] {
  const out: ServingCandidate[] = [];
  for (const instances of space.instances)
    for (const maxBatchSize of space.maxBatchSize)
      for (const preferredBatchSizes of space.preferredBatchSizes)
        for (const maxQueueDelayMicroseconds of space.maxQueueDelayMicroseconds) {
          const candidate = { instances, maxBatchSize, preferredBatchSizes, maxQueueDelayMicroseconds };
          if (isValidCandidate(candidate, constraints)) out.push(candidate);
        }
  return out;
}

function axisNeighbours(space: SearchSpace, from: ServingCandidate): ServingCandidate[] {
  return [
    ...space.instances.map((instances) => ({ ...from, instances })),
    ...space.maxBatchSize.map((maxBatchSize) => ({ ...from, maxBatchSize })),
    ...space.preferredBatchSizes.map((preferredBatchSizes) => ({ ...from, preferredBatchSizes })),
    ...space.maxQueueDelayMicroseconds.map((maxQueueDelayMicroseconds) => ({ ...from, maxQueueDelayMicroseconds })),
  ];
}

const scoreOf = (s: ScoredCandidate) => s.score ?? Number.NEGATIVE_INFINITY;

export function bestOf(scored: readonly ScoredCandidate[]): ScoredCandidate | undefined {
  return scored.reduce<ScoredCandidate | undefined>((best, s) => (best === undefined || scoreOf(s) > scoreOf(best) ? s : best), undefined);
}

/**
 * The next config to measure, or null when the search is done. `scored` holds the incumbent
 * (the live config with its live score) and every measurement so far, in order.
 */
export function nextCandidate(
  space: SearchSpace,
  constraints: SearchConstraints,
  scored: readonly ScoredCandidate[],
  budget: number,
  incumbents = 1,
): ServingCandidate | null {
  if (scored.length - incumbents >= budget) return null;
  const best = bestOf(scored);
  if (best === undefined) return null;
  const tried = new Set(scored.map((s) => candidateKey(s.candidate)));
  for (const neighbour of axisNeighbours(space, best.candidate)) {
    if (!tried.has(candidateKey(neighbour)) && isValidCandidate(neighbour, constraints)) return neighbour;
  }
  return null;
}
