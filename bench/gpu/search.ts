/**
 * The re-optimization's config search replayed on the GPU: the exhaustive ResNet50 grid of
 * SEARCH_GRID, swept on the GPU round by round (bench/gpu/run.py .gpu-run/search.json OUT --round N),
 * is the reference; the workflow's search (src/search/config-search.ts) is replayed on it from
 * every config of the grid, as bench/config-search.ts replays it on the CPU reference.
 *
 *   npx tsx bench/gpu/search.ts [RECORDING.json ...]   (default: test/fixtures/gpu/h200-search-*.json)
 *
 * Writes bench/results/gpu-search.md and prints it.
 */
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../../src/assets.js';
import { candidateKey, type SearchSettings, servingCandidateOf } from '../../src/search/config-search.js';
import { evaluateSla, throughputAtBound } from '../../src/sla/evaluate.js';
import { ReoptimizationSchema } from '../../src/spec/schema.js';
import { mulberry32 } from '../../src/sim/perf-model.js';
import { parseModelConfig } from '../../src/triton/model-config.js';
import {
  exhaustiveReplays,
  fmt,
  label,
  rankReference,
  recordedResiduals,
  type Reference,
  type ReferenceSweep,
  replayRow,
  replaysFrom,
  type SearchStudy,
  sum,
} from '../search-replay.js';
import { type GpuRecording, sweepPoints } from './recording.js';
import { SEARCH_GRID } from './settings.js';

const FIXTURES = join(PROJECT_ROOT, 'test/fixtures/gpu');

/** The seed's ResNet50 latency bound (p99 <= 100 ms) on the grid's requests (batch 32); every config that meets it scores. */
export const GPU_SEARCH_STUDY: SearchStudy = {
  sla: { latencyMs: 100, percentile: 99, minThroughput: 1 },
  concurrency: { start: SEARCH_GRID.concurrencies[0], end: SEARCH_GRID.concurrencies.at(-1)!, step: SEARCH_GRID.concurrencies[1] - SEARCH_GRID.concurrencies[0] },
  space: {
    instances: [...SEARCH_GRID.instances],
    maxBatchSize: [...SEARCH_GRID.maxBatchSizes],
    preferredBatchSizes: ['none'],
    maxQueueDelayMicroseconds: [...SEARCH_GRID.queueDelaysUs],
  },
  constraints: { profileMaxBatch: Math.max(...SEARCH_GRID.maxBatchSizes), requestBatch: 32 },
  rounds: SEARCH_GRID.rounds,
};

const defaults = ReoptimizationSchema.parse({});
export const GPU_SEARCH_SETTINGS: SearchSettings = {
  budget: defaults.maxCandidates,
  finalists: defaults.finalists,
  confirmSweeps: defaults.confirmSweeps,
  latencyBoundMs: GPU_SEARCH_STUDY.sla.latencyMs,
  span: 'upper',
};
const REPLAYS_PER_START = 20;

/** The recordings' sweeps as the search's reference: per config, its sweeps in round order, scored at the bound. */
export function gpuReference(recordings: readonly GpuRecording[]): Reference {
  const reference: Reference = {};
  const sweeps = recordings.flatMap((r) => r.sweeps.map((sweep) => ({ sweep, config: r.configs[sweep.model]! })));
  for (const { sweep, config } of sweeps.sort((a, b) => a.sweep.round - b.sweep.round)) {
    const planned = SEARCH_GRID.concurrencies.length;
    if (sweep.points.length < planned) continue; // cut short by a run's deadline; measured again in a later run
    const points = sweepPoints(sweep);
    const verdict = evaluateSla(points, GPU_SEARCH_STUDY.sla);
    const recorded: ReferenceSweep = {
      score: verdict.passed ? throughputAtBound(points, GPU_SEARCH_STUDY.sla) : null,
      perfSeconds: sum(sweep.points.map((p) => p.seconds)),
      points: points.map((p) => [p.concurrency, Math.round(p.throughput), Math.round(p.latencyUs.p99)]),
    };
    (reference[candidateKey(servingCandidateOf(parseModelConfig(config)))] ??= []).push(recorded);
  }
  return reference;
}

export async function gpuSearchReport(recordings: readonly GpuRecording[]): Promise<string> {
  const study = GPU_SEARCH_STUDY;
  const reference = gpuReference(recordings);
  const ranking = rankReference(study, reference);
  const { grid, ranked, optimum, pooledSd, noiseBand, referencePerf } = ranking;
  const missing = ranked.filter((r) => r.scores.length === 0).map((r) => candidateKey(r.c));
  if (missing.length > 0) throw new Error(`the recordings hold no full sweep of ${missing.join(', ')}`);
  const short = ranked.filter((r) => r.scores.length < study.rounds).map((r) => label(r.c));
  const random = mulberry32(2026);
  const residuals = recordedResiduals(study, reference);
  const points = sum(Object.values(reference).flat().map((s) => s.points.length));
  // Every GPU point ran with the full window: screens and confirmations cost alike here.
  // Replays count the stable points a search would measure: the reference's time over its own stable points.
  const perPoint = referencePerf / points;
  const draw = { random, residuals, cost: { screen: perPoint, confirm: perPoint } };
  const replays = await replaysFrom(study, reference, ranking, grid, REPLAYS_PER_START, GPU_SEARCH_SETTINGS, draw);
  const rows = [
    `| exhaustive reference (${study.rounds} sweeps per config, shuffled rounds) | ${label(optimum.c)} | ${fmt(optimum.mean)} | 1.00 | – | ${grid.length * study.rounds} sweeps | ${referencePerf.toFixed(0)} s (1.00) | – |`,
    replayRow(`our search, replayed ${REPLAYS_PER_START}× from each of the ${grid.length} configs`, replays, referencePerf),
    replayRow(`the exhaustive sweep itself with 1 sweep per config, replayed ${REPLAYS_PER_START * grid.length}×`, exhaustiveReplays(study, reference, ranking, 1, REPLAYS_PER_START * grid.length, random, residuals), referencePerf),
  ];
  const gpu = recordings[0]?.gpu ?? '';
  return [
    `# Config search on the GPU: the workflow's search replayed on an exhaustive ResNet50 grid (${gpu})`,
    ``,
    `ResNet50 fp16 in PyTorch, Triton's python backend, KIND_GPU; perf_analyzer with batch-32 requests at c = ${SEARCH_GRID.concurrencies.join(', ')}, 2 s windows, stability 20%. ` +
      `SLA: p${study.sla.percentile} <= ${study.sla.latencyMs} ms (the seed's ResNet50 bound). Score: the throughput at the bound, interpolated between the concurrencies swept. ` +
      `Space: instances ${JSON.stringify(study.space.instances)} × max batch ${JSON.stringify(study.space.maxBatchSize)} × no preferred sizes × queue delay ${JSON.stringify(study.space.maxQueueDelayMicroseconds)} µs: ${grid.length} configs, ${study.rounds} rounds in shuffled orders, ${points} stable points. ` +
      `Our search: ${GPU_SEARCH_SETTINGS.budget} screens at most, ${GPU_SEARCH_SETTINGS.finalists} finalists, ${GPU_SEARCH_SETTINGS.confirmSweeps} confirmation rounds; perf_analyzer time ${perPoint.toFixed(1)} s a stable point (the reference's time over its stable points).`,
    ``,
    ...(short.length > 0 ? [`Fewer than ${study.rounds} full sweeps (the GPU time ran out): ${short.join('; ')}.`, ``] : []),
    `"Near": within the reference's noise of the optimum (mean >= optimum − ${fmt(noiseBand)} infer/s; pooled per-sweep sd ${fmt(pooledSd)}).`,
    ``,
    `| method | config picked | reference mean (infer/s) | found / optimum | near | measurements | perf_analyzer time (/ reference) | wall time (s) |`,
    `|---|---|---:|---:|---|---|---:|---:|`,
    ...rows,
    ``,
    `## The reference`,
    ``,
    `| instances | max batch | queue delay (µs) | sweeps (infer/s at the bound) | mean |`,
    `|---:|---:|---:|---|---:|`,
    ...ranked.map(({ c, mean, scores }) => `| ${c.instances} | ${c.maxBatchSize} | ${c.maxQueueDelayMicroseconds} | ${scores.map((s) => fmt(s)).join(', ')} | ${fmt(mean)} |`),
    ``,
  ].join('\n');
}

async function main(): Promise<void> {
  const paths = process.argv.length > 2 ? process.argv.slice(2) : (await readdir(FIXTURES)).filter((f) => f.startsWith('h200-search') && f.endsWith('.json')).map((f) => join(FIXTURES, f));
  const recordings = await Promise.all(paths.map(async (p) => JSON.parse(await readFile(p, 'utf8')) as GpuRecording));
  const text = await gpuSearchReport(recordings);
  await writeFile(join(PROJECT_ROOT, 'bench/results/gpu-search.md'), text);
  console.log(text);
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
