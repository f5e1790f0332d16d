/**
 * The search re-optimizations ran before screening and confirmation (config-search.ts): coordinate
 * ascent from the best config so far, measuring the untried values along one axis at a time. Kept
 * for runs started before it (they replay it); new runs never take it. Pure.
 */
import type { SearchSpace } from '../spec/schema.js';
import { bestOf, candidateKey, isValidCandidate, preferredSizes, type ScoredCandidate, type SearchConstraints, type ServingCandidate } from './config-search.js';

/** The search settings' defaults when these runs started: a run whose request and spec set none replays with them. */
export const COORDINATE_ASCENT_DEFAULTS: { maxCandidates: number; finalists: number; space: SearchSpace } = {
  maxCandidates: 8,
  finalists: 2,
  space: { instances: [1, 2, 4], maxBatchSize: [16, 32], preferredBatchSizes: [[16], [32]], maxQueueDelayMicroseconds: [100, 1000] },
};

function axisNeighbours(space: SearchSpace, from: ServingCandidate): ServingCandidate[] {
  return [
    ...space.instances.map((instances) => ({ ...from, instances })),
    ...space.maxBatchSize.map((maxBatchSize) => ({ ...from, maxBatchSize })),
    ...space.preferredBatchSizes.map((choice) => ({ ...from, preferredBatchSizes: preferredSizes(choice, from.maxBatchSize) })),
    ...space.maxQueueDelayMicroseconds.map((maxQueueDelayMicroseconds) => ({ ...from, maxQueueDelayMicroseconds })),
  ];
}

/** The next config to measure, or null when the search is done; `scored` starts with the incumbent. */
export function coordinateAscentNext(space: SearchSpace, constraints: SearchConstraints, scored: readonly ScoredCandidate[], budget: number): ServingCandidate | null {
  if (scored.length - 1 >= budget) return null;
  const best = bestOf(scored);
  if (best === undefined) return null;
  const tried = new Set(scored.map((s) => candidateKey(s.candidate)));
  for (const neighbour of axisNeighbours(space, best.candidate)) {
    if (!tried.has(candidateKey(neighbour)) && isValidCandidate(neighbour, constraints)) return neighbour;
  }
  return null;
}
