import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { allCandidates, bestOf, candidateKey, nextCandidate, type ScoredCandidate, type ServingCandidate } from '../../../src/search/config-search.js';
import type { SearchSpace } from '../../../src/spec/schema.js';

const space: SearchSpace = {
  instances: [1, 2, 4],
  maxBatchSize: [16, 32],
  preferredBatchSizes: [[16], [32]],
  maxQueueDelayMicroseconds: [100, 1000],
};
const constraints = { profileMaxBatch: 32, requestBatch: 16 };

/** A separable landscape with its optimum at 4 instances, batch 32, preferred 32, 100 µs. */
function landscape(c: ServingCandidate): number {
  return c.instances * 1000 + (c.maxBatchSize === 32 ? 300 : 0) + (c.preferredBatchSizes[0] === 32 ? 200 : 0) + (c.maxQueueDelayMicroseconds === 100 ? 50 : 0);
}

function search(start: ServingCandidate, budget: number, score: (c: ServingCandidate) => number | null = landscape): ScoredCandidate[] {
  const scored: ScoredCandidate[] = [{ candidate: start, score: score(start) }];
  for (let next = nextCandidate(space, constraints, scored, budget); next; next = nextCandidate(space, constraints, scored, budget)) {
    scored.push({ candidate: next, score: score(next) });
  }
  return scored;
}

describe('config search', () => {
  it('enumerates only valid configs', () => {
    const all = allCandidates(space, constraints);
    assert.equal(all.length, 3 * (2 * 2 - 1) * 2); // max batch 16 cannot take preferred 32
    assert.ok(all.every((c) => c.preferredBatchSizes.every((p) => p <= c.maxBatchSize)));
  });

  it('finds the optimum of a separable landscape with fewer measurements than the grid', () => {
    const start = { instances: 1, maxBatchSize: 16, preferredBatchSizes: [16], maxQueueDelayMicroseconds: 1000 };
    const scored = search(start, 64);
    const best = bestOf(scored)!;
    assert.deepEqual(best.candidate, { instances: 4, maxBatchSize: 32, preferredBatchSizes: [32], maxQueueDelayMicroseconds: 100 });
    assert.ok(scored.length - 1 < allCandidates(space, constraints).length, `${scored.length - 1} measurements`);
    assert.equal(new Set(scored.map((s) => candidateKey(s.candidate))).size, scored.length, 'never measures a config twice');
  });

  it('respects the budget', () => {
    const start = { instances: 1, maxBatchSize: 16, preferredBatchSizes: [16], maxQueueDelayMicroseconds: 1000 };
    assert.equal(search(start, 3).length - 1, 3);
  });

  it('stops at once when the incumbent has no better axis neighbour', () => {
    const optimum = { instances: 4, maxBatchSize: 32, preferredBatchSizes: [32], maxQueueDelayMicroseconds: 100 };
    const scored = search(optimum, 64);
    // Measures each valid axis neighbour once (max batch 16 cannot hold preferred 32), finds nothing better, stops.
    assert.equal(bestOf(scored)!.candidate, optimum);
    assert.equal(scored.length - 1, 2 + 0 + 1 + 1);
  });

  it('treats configs without any SLA-compliant point as worst', () => {
    const start = { instances: 2, maxBatchSize: 32, preferredBatchSizes: [32], maxQueueDelayMicroseconds: 100 };
    const scored = search(start, 64, (c) => (c.instances === 4 ? null : landscape(c)));
    assert.ok(scored.some((s) => s.candidate.instances === 4 && s.score === null));
    assert.equal(bestOf(scored)!.candidate.instances, 2);
  });
});
