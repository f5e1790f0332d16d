import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  allCandidates,
  bestOf,
  candidateKey,
  finalistsOf,
  type MeasureCandidate,
  nextScreen,
  queueDelayBudget,
  raceSurvivors,
  type ScoredCandidate,
  searchServingConfig,
  type ServingCandidate,
} from '../../../src/search/config-search.js';
import { coordinateAscentNext } from '../../../src/search/coordinate-ascent.js';
import type { SearchSpace } from '../../../src/spec/schema.js';
import type { SweepSpan } from '../../../src/sla/sweep-span.js';

const space: SearchSpace = {
  instances: [1, 2, 3],
  maxBatchSize: [4, 8, 16],
  preferredBatchSizes: ['none', 'max-batch'],
  maxQueueDelayMicroseconds: [0, 500, 2000],
};
const constraints = { profileMaxBatch: 16, requestBatch: 1 };
const settings = { budget: 64, finalists: 2, confirmSweeps: 3, latencyBoundMs: 10 };
const config = (instances: number, maxBatchSize: number, preferred: number[] = [], delay = 0): ServingCandidate => ({
  instances,
  maxBatchSize,
  preferredBatchSizes: preferred,
  maxQueueDelayMicroseconds: delay,
});

/**
 * Around 2 instances × max batch 8 every single step is worse, and the optimum (3 × 4) is one step
 * along both axes at once. Preferred sizes and queue delay cost a little.
 */
const ridge: Record<string, number> = { '1,4': 60, '1,8': 80, '1,16': 70, '2,4': 85, '2,8': 100, '2,16': 90, '3,4': 120, '3,8': 90, '3,16': 75 };
const landscape = (c: ServingCandidate) => ridge[`${c.instances},${c.maxBatchSize}`]! - (c.preferredBatchSizes.length > 0 ? 3 : 0) - c.maxQueueDelayMicroseconds / 1000;

/** A measure that answers from a score function and logs every call. */
function measuring(score: (c: ServingCandidate) => number | null, incumbent: ServingCandidate, idleLatencyUs = 2000) {
  const calls: string[] = [];
  const spans: SweepSpan[] = [];
  const measure: MeasureCandidate = async (candidate, phase, round, span) => {
    calls.push(`${phase}${phase === 'confirm' ? round : ''} ${candidate === undefined ? 'incumbent' : candidateKey(candidate)}`);
    spans.push(span);
    return { score: score(candidate ?? incumbent), idleLatencyUs };
  };
  return { calls, spans, measure };
}

describe('config search: the space', () => {
  it('enumerates every valid config once: preferred sizes none, the max batch, or explicit sizes no larger than it', () => {
    const all = allCandidates({ ...space, preferredBatchSizes: ['none', 'max-batch', [8]] }, constraints);
    // 3 instances × 3 delays × (max batch 4: none, [4]; 8: none, [8] (twice named); 16: none, [16], [8]).
    assert.equal(all.length, 3 * 3 * (2 + 2 + 3));
    assert.equal(new Set(all.map(candidateKey)).size, all.length);
    assert.ok(all.every((c) => c.preferredBatchSizes.every((p) => p <= c.maxBatchSize)));
    assert.ok(all.some((c) => c.preferredBatchSizes.length === 0), 'dynamic batching without preferred sizes is in the space');
  });

  it('leaves out max batch sizes the profile or the request batch cannot take, and delays the latency budget cannot hold', () => {
    const all = allCandidates(space, { profileMaxBatch: 8, requestBatch: 8, maxQueueDelayMicroseconds: 1000 });
    assert.deepEqual([...new Set(all.map((c) => c.maxBatchSize))], [8]);
    assert.deepEqual([...new Set(all.map((c) => c.maxQueueDelayMicroseconds))].sort((a, b) => a - b), [0, 500]);
  });

  it('derives the queue delay budget from the bound and the latency of a request that never waits', () => {
    assert.equal(queueDelayBudget(10, 2600), 7400);
    assert.equal(queueDelayBudget(10, 12_000), 0);
    assert.equal(queueDelayBudget(10, undefined), undefined);
  });

  it('counts only compute in that latency: the queue delay the measured config may have waited is not spent', () => {
    assert.equal(queueDelayBudget(10, 2600, 500), 7900);
    assert.equal(queueDelayBudget(10, 300, 500), 10_000);
  });
});

describe('config search: screening', () => {
  it('steps from the best config so far, instances first, then max batch, both together, preferred, delay', () => {
    const screened: ScoredCandidate[] = [{ candidate: config(2, 8), score: 100 }];
    const order: string[] = [];
    for (let next = nextScreen(space, constraints, screened, 64); next !== null && order.length < 11; next = nextScreen(space, constraints, screened, 64)) {
      order.push(candidateKey(next));
      screened.push({ candidate: next, score: 0 });
    }
    assert.deepEqual(order, ['i3-b8-p-d0', 'i1-b8-p-d0', 'i2-b16-p-d0', 'i2-b4-p-d0', 'i3-b4-p-d0', 'i1-b16-p-d0', 'i3-b16-p-d0', 'i1-b4-p-d0', 'i2-b8-p8-d0', 'i2-b8-p-d500']);
  });

  it('starts from the grid point nearest an incumbent that is off the grid', () => {
    const next = nextScreen(space, constraints, [{ candidate: config(2, 7, [7], 100), score: 50 }], 64);
    assert.equal(candidateKey(next!), 'i2-b8-p8-d0');
  });

  it('stops at the budget, or when every neighbour of the best is screened', () => {
    const screened: ScoredCandidate[] = [{ candidate: config(1, 4), score: 1 }];
    for (let i = 0; i < 3; i++) screened.push({ candidate: nextScreen(space, constraints, screened, 3)!, score: 0 });
    assert.equal(nextScreen(space, constraints, screened, 3), null);

    const line: SearchSpace = { instances: [1, 2, 3], maxBatchSize: [4], preferredBatchSizes: ['none'], maxQueueDelayMicroseconds: [0] };
    const walked: ScoredCandidate[] = [{ candidate: config(1, 4), score: 10 }];
    for (let next = nextScreen(line, constraints, walked, 64); next !== null; next = nextScreen(line, constraints, walked, 64)) walked.push({ candidate: next, score: 5 });
    // 2 instances is worse than 1, whose only neighbour it is: 3 instances, two steps away, is never screened.
    assert.deepEqual(walked.map((s) => s.candidate.instances), [1, 2]);
  });

  it('walks from the nearest config the constraints allow when the best one is ruled out (a delay over the budget)', () => {
    const budget = { ...constraints, maxQueueDelayMicroseconds: 400 };
    const screened: ScoredCandidate[] = [{ candidate: config(2, 8, [], 2000), score: 100 }];
    for (let next = nextScreen(space, budget, screened, 6); next !== null; next = nextScreen(space, budget, screened, 6)) screened.push({ candidate: next, score: 50 });
    assert.deepEqual(
      screened.slice(1).map((s) => candidateKey(s.candidate)),
      ['i2-b8-p-d0', 'i3-b8-p-d0', 'i1-b8-p-d0', 'i2-b16-p-d0', 'i2-b4-p-d0', 'i3-b4-p-d0'],
    );
  });

  it('keeps the screened configs that beat the incumbent, best first', () => {
    const screened = [80, 90, null, 70, 120, 100].map((score, i) => ({ candidate: config(1, 4, [], i), score }));
    assert.deepEqual(finalistsOf(screened, 2).map((f) => f.score), [120, 100]);
    assert.deepEqual(finalistsOf([{ candidate: config(1, 4), score: null }, { candidate: config(2, 4), score: 5 }], 2).map((f) => f.score), [5]);
  });
});

describe('config search: screening then confirmation', () => {
  it('races the finalists: after each round the better half stays, two at least', () => {
    const entrant = (score: number) => ({ candidate: config(1, 4, [], score), samples: [score] });
    assert.deepEqual(raceSurvivors([10, 40, 30, 20, 50].map(entrant)).map((f) => f.samples[0]), [50, 40, 30]);
    assert.deepEqual(raceSurvivors([10, 30, 20].map(entrant)).map((f) => f.samples[0]), [30, 20]);
    assert.deepEqual(raceSurvivors([10, 30].map(entrant)).map((f) => f.samples[0]), [30, 10]);
  });

  it('sweeps four finalists in the first round and the better two after it, and picks among those two', async () => {
    const start = config(1, 8, [8]);
    const { calls, measure } = measuring(landscape, start);
    const outcome = await searchServingConfig(space, constraints, start, { ...settings, finalists: 4 }, measure);
    const perRound = [0, 1, 2].map((r) => calls.filter((c) => c.startsWith(`confirm${r} `)).length);
    assert.deepEqual(perRound, [5, 3, 3]);
    assert.deepEqual(outcome.confirmation!.finalists.map((f) => f.samples.length), [3, 3, 1, 1]);
    assert.equal(candidateKey(outcome.best), 'i3-b4-p-d0');
  });

  it('reaches an optimum that only a joint move of instances and max batch finds, in fewer measurements than the grid', async () => {
    const start = config(1, 8, [8]);
    const { calls, measure } = measuring(landscape, start);
    const outcome = await searchServingConfig(space, constraints, start, settings, measure);
    assert.equal(candidateKey(outcome.best), 'i3-b4-p-d0');
    assert.ok(outcome.screened.length < allCandidates(space, constraints).length, `${outcome.screened.length} screens`);
    assert.equal(new Set(outcome.screened.map((s) => candidateKey(s.candidate))).size, outcome.screened.length, 'never screens a config twice');
    assert.equal(calls.filter((c) => c.startsWith('confirm')).length, 3 * 3);
  });

  it('confirms in turns, the incumbent first in every round, and lets the confirmation overrule a flattering screen', async () => {
    const start = config(2, 8);
    // The one screen of 3 × 8 flatters it; every confirmation sweep of it says what it is.
    let flattered = false;
    const score = (c: ServingCandidate) => {
      if (candidateKey(c) === 'i3-b8-p-d0' && !flattered) {
        flattered = true;
        return 500;
      }
      return landscape(c);
    };
    const { calls, measure } = measuring(score, start);
    const outcome = await searchServingConfig(space, constraints, start, settings, measure);
    const confirms = calls.filter((c) => c.startsWith('confirm'));
    assert.deepEqual(confirms.slice(0, 3), ['confirm0 incumbent', 'confirm0 i3-b8-p-d0', 'confirm0 i3-b4-p-d0']);
    assert.deepEqual(confirms.map((c) => c.split(' ')[0]), ['confirm0', 'confirm0', 'confirm0', 'confirm1', 'confirm1', 'confirm1', 'confirm2', 'confirm2', 'confirm2']);
    assert.equal(candidateKey(outcome.best), 'i3-b4-p-d0');
    assert.deepEqual(outcome.confirmation!.incumbent, [100, 100, 100]);
  });

  it('screens the incumbent again last, so a server that slowed after its first screen still finds the better config', async () => {
    const start = config(2, 8);
    // Every measurement after the first runs 25% slow: no neighbour's screen beats the incumbent's first.
    let measured = 0;
    const { calls, measure } = measuring((c) => landscape(c) * (measured++ === 0 ? 1 : 0.75), start);
    const outcome = await searchServingConfig(space, constraints, start, settings, measure);
    assert.ok(outcome.screened.slice(1).every((s) => s.score! < outcome.screened[0]!.score!));
    assert.deepEqual(outcome.incumbentScreens, [100, 75]);
    assert.equal(calls.filter((c) => c === 'screen incumbent').length, 2);
    assert.equal(candidateKey(outcome.best), 'i3-b4-p-d0');
  });

  it('keeps the incumbent, confirming nothing, when no screen beats it', async () => {
    const start = config(3, 4);
    const { calls, measure } = measuring(landscape, start);
    const outcome = await searchServingConfig(space, constraints, start, settings, measure);
    assert.equal(outcome.confirmation, null);
    assert.equal(outcome.best, start);
    assert.ok(calls.every((c) => c.startsWith('screen')));
  });

  it('keeps the incumbent when its confirmation sweeps are the best mean', async () => {
    const start = config(2, 8);
    // Screens of the others are lucky; confirmed, they fall below the incumbent.
    const { measure } = measuring((c) => (c.instances === 2 && c.maxBatchSize === 8 ? 100 : 0), start);
    let screens = 0;
    const outcome = await searchServingConfig(space, constraints, start, settings, async (candidate, phase, round, span) =>
      phase === 'screen' && candidate !== undefined && screens++ === 0 ? { score: 150 } : measure(candidate, phase, round, span),
    );
    assert.equal(outcome.best, start);
    assert.deepEqual(outcome.confirmation!.finalists.map((f) => f.samples), [[0, 0, 0]]);
  });

  it('sweeps the whole range once, for the idle latency, and every other measurement at the span asked', async () => {
    const start = config(1, 8);
    const whole = measuring(landscape, start);
    await searchServingConfig(space, constraints, start, settings, whole.measure);
    assert.ok(whole.spans.every((s) => s === 'whole'));
    const upper = measuring(landscape, start);
    await searchServingConfig(space, constraints, start, { ...settings, span: 'upper' }, upper.measure);
    assert.deepEqual(upper.calls, whole.calls, 'the span changes what a sweep measures, not what the search measures');
    assert.deepEqual(upper.spans, ['whole', ...upper.spans.slice(1).map(() => 'upper')]);
    assert.ok(upper.spans.length > 2);
  });

  it('never screens a queue delay the latency budget cannot hold', async () => {
    const start = config(2, 8);
    // A request takes 9.6 ms unqueued against a 10 ms bound: 400 µs are left.
    const { calls, measure } = measuring(landscape, start, 9600);
    await searchServingConfig(space, constraints, start, settings, measure);
    assert.ok(calls.every((c) => !/-d(500|2000)$/.test(c)), calls.join('\n'));
  });

  it('ranks a config without any point within the SLA below every other', async () => {
    const start = config(2, 8);
    const { measure } = measuring((c) => (c.instances === 3 ? null : landscape(c)), start);
    const outcome = await searchServingConfig(space, constraints, start, settings, measure);
    assert.equal(outcome.best, start);
    assert.ok(outcome.screened.some((s) => s.candidate.instances === 3 && s.score === null));
  });
});

describe('coordinate ascent (runs started before screening replay it)', () => {
  const legacySpace: SearchSpace = { instances: [1, 2, 4], maxBatchSize: [32], preferredBatchSizes: [[32]], maxQueueDelayMicroseconds: [100] };
  it('measures the untried values of each axis from the best so far, then stops', () => {
    const scored: ScoredCandidate[] = [{ candidate: config(1, 32, [32], 100), score: 10 }];
    for (let next = coordinateAscentNext(legacySpace, { profileMaxBatch: 32, requestBatch: 16 }, scored, 8); next; next = coordinateAscentNext(legacySpace, { profileMaxBatch: 32, requestBatch: 16 }, scored, 8)) {
      scored.push({ candidate: next, score: next.instances * 10 });
    }
    assert.deepEqual(scored.map((s) => s.candidate.instances), [1, 2, 4]);
    assert.equal(bestOf(scored)!.candidate.instances, 4);
  });
});
