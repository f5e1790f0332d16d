/**
 * The workflow's config search replayed on the exhaustive ResNet50 grid recorded on an NVIDIA H200
 * (bench/gpu/search.ts; test/fixtures/gpu/h200-search-*.json): the reference the recordings make,
 * and where the search lands from every start.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { GPU_SEARCH_SETTINGS, GPU_SEARCH_STUDY, gpuReference } from '../../../bench/gpu/search.js';
import type { GpuRecording } from '../../../bench/gpu/recording.js';
import { rankReference, recordedResiduals, replaysFrom } from '../../../bench/search-replay.js';
import { mulberry32 } from '../../../src/sim/perf-model.js';

const dir = new URL('../../fixtures/gpu/', import.meta.url);
const recordings = readdirSync(dir)
  .filter((f) => f.startsWith('h200-search-'))
  .map((f) => JSON.parse(readFileSync(new URL(f, dir), 'utf8')) as GpuRecording);
const reference = gpuReference(recordings);
const ranking = rankReference(GPU_SEARCH_STUDY, reference);

test('the GPU reference: every config of the grid with its full sweeps, scored at the p99 bound', () => {
  assert.equal(recordings.length, 3);
  assert.equal(ranking.grid.length, 12);
  const sweeps = ranking.ranked.map((r) => r.scores.length);
  assert.equal(sweeps.filter((n) => n === 2).length, 11);
  assert.equal(sweeps.filter((n) => n === 1).length, 1, 'one config kept a single full sweep: the GPU time ran out');
  for (const r of ranking.ranked) for (const score of r.scores) assert.ok(score !== null && score > 1500, `${JSON.stringify(r.c)}: ${score}`);
});

test('on the GPU the instance count is the strongest axis: every 4-instance config beats every 2-instance one, which beats every 1-instance one', () => {
  const order = ranking.ranked.map((r) => r.c.instances);
  assert.deepEqual(order, [...order].sort((a, b) => b - a));
  assert.equal(ranking.optimum.c.instances, 4);
  assert.ok(ranking.optimum.mean > 2.5 * ranking.ranked.at(-1)!.mean);
});

test('the search replayed from every config lands within the noise of the optimum at least 9 times in 10, at under 0.6 of the exhaustive perf_analyzer time', async () => {
  const residuals = recordedResiduals(GPU_SEARCH_STUDY, reference);
  const cost = { screen: 1, confirm: 1 };
  const replays = await replaysFrom(GPU_SEARCH_STUDY, reference, ranking, ranking.grid, 5, GPU_SEARCH_SETTINGS, { random: mulberry32(16), residuals, cost });
  const near = replays.filter((r) => r.near).length;
  assert.ok(near >= 0.9 * replays.length, `${near}/${replays.length}`);
  const points = replays.map((r) => r.perf).sort((a, b) => a - b);
  const referencePoints = Object.values(reference).flat().reduce((n, s) => n + s.points.length, 0);
  assert.ok(points[points.length >> 1]! < 0.6 * referencePoints, `median ${points[points.length >> 1]} points of ${referencePoints}`);
});
