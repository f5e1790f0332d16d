/**
 * Config search against the exhaustive optimum, on one real Triton (CPU) measured by the real
 * perf_analyzer: every config of the space is measured once (the exhaustive sweep), then the
 * pipeline's search (src/search/config-search.ts, what the re-optimization workflow runs) runs
 * live from the example's config with fresh measurements, and is replayed on the sweep's numbers
 * from every config of the space as a start. If Triton Model Analyzer is installed
 * (scripts/setup-model-analyzer.sh), its quick search runs on the same model and server binary,
 * and the config it picks is measured by the same harness. Writes bench/results/config-search.md
 * and the measurements to config-search-sweeps.json.
 * Run: npm run bench:search (BENCH_RECORDED=1: the search again on the recorded measurements)
 */
import { access, copyFile, mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { execa } from 'execa';
import { PROJECT_ROOT } from '../src/assets.js';
import { allCandidates, bestOf, candidateKey, nextCandidate, type ScoredCandidate, type ServingCandidate, servingCandidateOf } from '../src/search/config-search.js';
import type { SearchSpace } from '../src/spec/schema.js';
import { PERF_ANALYZER } from '../src/targets/local/perf-analyzer.js';
import { TRITONSERVER } from '../src/targets/local/triton-server.js';
import { parseModelConfig } from '../src/triton/model-config.js';
import { type Lab, MODEL, startLab } from './local-triton.js';

const sla = { latencyMs: 10, percentile: 99 as const, minThroughput: 1 };
const concurrency = { start: 2, end: 14, step: 4 };
const space: SearchSpace = {
  instances: [1, 2, 3],
  maxBatchSize: [4, 8, 16],
  preferredBatchSizes: [[4], [8], [16]],
  maxQueueDelayMicroseconds: [0, 500, 2000],
};
const constraints = { profileMaxBatch: 16, requestBatch: 1 };
/** The example's live config: where the live search starts. */
const live: ServingCandidate = { instances: 1, maxBatchSize: 8, preferredBatchSizes: [8], maxQueueDelayMicroseconds: 0 };
const budget = 16;
const MODEL_ANALYZER = join(PROJECT_ROOT, '.tools/model-analyzer/venv/bin/model-analyzer');

const fmt = (x: number | null | undefined, digits = 0) => (x === null || x === undefined ? '–' : x.toFixed(digits));
const label = (c: ServingCandidate) =>
  `${c.instances} inst, max batch ${c.maxBatchSize}, preferred [${c.preferredBatchSizes.join(',')}], delay ${c.maxQueueDelayMicroseconds} µs`;
const scoreOf = (s: ScoredCandidate | undefined) => s?.score ?? 0;

/** The search driven by `measure` from `start`; returns every config it measured, the start first. */
async function search(start: ServingCandidate, measure: (c: ServingCandidate) => Promise<number | null>): Promise<ScoredCandidate[]> {
  const scored: ScoredCandidate[] = [{ candidate: start, score: await measure(start) }];
  for (let next = nextCandidate(space, constraints, scored, budget); next !== null; next = nextCandidate(space, constraints, scored, budget)) {
    scored.push({ candidate: next, score: await measure(next) });
  }
  return scored;
}

interface AnalyzerPick {
  config: ServingCandidate;
  measuredConfigs: number;
  measurements: number;
  seconds: number;
  /** Earlier runs that looped. */
  failures: string[];
}

/** Model Analyzer's quick search on the same model; the config it reports best under the latency budget. */
/** Consecutive "Existing measurement found" lines after which a quick search counts as looping. */
const LOOP_LINES = 2000;

/**
 * One Model Analyzer run. Its quick search can loop: yield configs it has measured, over and over,
 * without measuring (seen here with 1.44.0); such a run is stopped and reported as looping.
 */
async function modelAnalyzerRun(dir: string): Promise<{ log: string; exitCode: number | undefined; looped: number }> {
  const child = execa(MODEL_ANALYZER, ['profile', '-f', join(dir, 'config.yaml')], { reject: false, all: true, cwd: dir, buffer: false });
  const kept: string[] = [];
  let repeats = 0;
  let looped = 0;
  for await (const line of createInterface({ input: child.all! })) {
    if (!line.includes('Existing measurement found')) {
      repeats = 0;
      if (!line.includes('Saved checkpoint')) kept.push(line);
      continue;
    }
    looped++;
    if (++repeats === LOOP_LINES) child.kill();
  }
  const { exitCode } = await child;
  return { log: kept.join('\n'), exitCode, looped: repeats >= LOOP_LINES ? looped : 0 };
}

/** Model Analyzer's quick search on the same model (up to 2 runs if it loops); the config it reports best under the latency budget. */
async function runModelAnalyzer(lab: Lab): Promise<AnalyzerPick | string> {
  if (!(await access(MODEL_ANALYZER).then(() => true, () => false))) return 'not installed (scripts/setup-model-analyzer.sh)';
  const failures: string[] = [];
  for (let attempt = 1; attempt <= 2; attempt++) {
    const dir = await mkdtemp(join(tmpdir(), 'bench-ma-'));
    const repository = join(dir, 'repository');
    await mkdir(join(repository, MODEL, '1'), { recursive: true });
    await writeFile(join(repository, MODEL, 'config.pbtxt'), `name: "${MODEL}"\nbackend: "python"\nmax_batch_size: 8\ninstance_group [ { count: 1 kind: KIND_CPU } ]\n`);
    await copyFile(join(lab.dir, 'onnx', 'resnet-mini.onnx'), join(repository, MODEL, '1', 'model.onnx'));
    await copyFile(join(PROJECT_ROOT, 'deploy/local/triton_onnx_model.py'), join(repository, MODEL, '1', 'model.py'));
    const config = [
      `model_repository: ${repository}`,
      `profile_models:`,
      `  ${MODEL}:`,
      `    cpu_only: true`,
      `triton_launch_mode: local`,
      `triton_server_path: ${TRITONSERVER}`,
      `perf_analyzer_path: ${PERF_ANALYZER}`,
      `run_config_search_mode: quick`,
      `run_config_search_max_instance_count: ${Math.max(...space.instances)}`,
      `run_config_search_max_model_batch_size: ${constraints.profileMaxBatch}`,
      `run_config_search_max_concurrency: ${concurrency.end + 2}`,
      `latency_budget: ${sla.latencyMs}`,
      `output_model_repository_path: ${join(dir, 'configs')}`,
      `override_output_model_repository: true`,
      `checkpoint_directory: ${join(dir, 'checkpoints')}`,
      `export_path: ${join(dir, 'results')}`,
    ].join('\n');
    await mkdir(join(dir, 'results'));
    await writeFile(join(dir, 'config.yaml'), config);
    const started = performance.now();
    const run = await modelAnalyzerRun(dir);
    const seconds = (performance.now() - started) / 1000;
    await writeFile(join(dir, 'model-analyzer.log'), run.log);
    const profiled = [...run.log.matchAll(/Profiling (\S+): concurrency=/g)].map((m) => m[1]);
    const measuredConfigs = new Set(profiled).size;
    if (run.looped > 0) {
      failures.push(`run ${attempt}: measured ${measuredConfigs} configs (${profiled.length} perf_analyzer runs), then looped without measuring ("Existing measurement found for run config. Skipping profile" ${run.looped} times in a row); stopped after ${seconds.toFixed(0)} s`);
      continue;
    }
    if (run.exitCode !== 0) return [...failures, `run ${attempt}: exit ${run.exitCode}: ${run.log.trim().split('\n').at(-1)!.replaceAll(PROJECT_ROOT, '.')}`].join('; ');
    // It names its best configs, best first, when it writes their detailed reports.
    const best = /best configurations ([\w-]+?)[,:]/.exec(run.log)?.[1];
    if (best === undefined) return [...failures, `run ${attempt}: no best config in its output`].join('; ');
    const parsed = parseModelConfig(await readFile(join(dir, 'configs', best, 'config.pbtxt'), 'utf8'), { name: MODEL });
    return { config: servingCandidateOf(parsed), measuredConfigs, measurements: profiled.length, seconds, failures };
  }
  return failures.join('; ');
}

const RECORDED = join(PROJECT_ROOT, 'bench/results/config-search-sweeps.json');

/** What a measuring run recorded (scores by candidate key), so the analysis can run again on the same numbers. */
interface Recorded {
  date: string;
  sweep: Record<string, number | null>;
  sweepSeconds: number;
  live: Record<string, number | null>;
  liveSeconds: number;
}

async function main(): Promise<void> {
  // BENCH_RECORDED=1: the sweep's and the live search's recorded numbers; only Model Analyzer runs again.
  const recorded = process.env['BENCH_RECORDED'] === '1' ? (JSON.parse(await readFile(RECORDED, 'utf8')) as Recorded) : null;
  const lab = await startLab({ sla, concurrency });
  try {
    const grid = allCandidates(space, constraints);
    const sweep: Record<string, number | null> = recorded?.sweep ?? {};
    let started = performance.now();
    if (recorded === null) {
      process.stderr.write(`exhaustive sweep: ${grid.length} configs\n`);
      for (const [i, candidate] of grid.entries()) {
        const m = await lab.measure(candidate);
        sweep[candidateKey(candidate)] = m.score;
        process.stderr.write(`  ${i + 1}/${grid.length} ${candidateKey(candidate)}: ${fmt(m.score)} infer/s (${m.seconds.toFixed(1)} s)\n`);
      }
    }
    const exhaustiveSeconds = recorded?.sweepSeconds ?? (performance.now() - started) / 1000;
    const truth = (c: ServingCandidate) => sweep[candidateKey(c)] ?? null;
    const optimum = bestOf(grid.map((candidate) => ({ candidate, score: truth(candidate) })))!;

    process.stderr.write('live search\n');
    started = performance.now();
    const liveScores: Record<string, number | null> = recorded?.live ?? {};
    const liveRun = await search(live, async (c) => {
      if (recorded !== null) return recorded.live[candidateKey(c)] ?? null;
      const m = await lab.measure(c);
      liveScores[candidateKey(c)] = m.score;
      process.stderr.write(`  ${candidateKey(c)}: ${fmt(m.score)} infer/s\n`);
      return m.score;
    });
    const liveSeconds = recorded?.liveSeconds ?? (performance.now() - started) / 1000;
    const livePick = bestOf(liveRun)!;
    const date = recorded?.date ?? new Date().toISOString().slice(0, 10);
    if (recorded === null) {
      await mkdir(join(PROJECT_ROOT, 'bench/results'), { recursive: true });
      await writeFile(RECORDED, `${JSON.stringify({ date, sweep, sweepSeconds: exhaustiveSeconds, live: liveScores, liveSeconds }, null, 2)}\n`);
    }

    const replays = await Promise.all(grid.map((start) => search(start, async (c) => truth(c))));
    const replayRatios = replays.map((r) => scoreOf(bestOf(r)) / scoreOf(optimum));
    const replayCounts = replays.map((r) => r.length);
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

    process.stderr.write('model analyzer\n');
    const analyzer = await runModelAnalyzer(lab);
    const analyzerScore = typeof analyzer === 'string' ? null : (await lab.measure(analyzer.config)).score;

    const rows = [
      `| exhaustive sweep | ${label(optimum.candidate)} | ${fmt(optimum.score)} | 1.00 | ${grid.length} | 1.00 | ${exhaustiveSeconds.toFixed(0)} |`,
      `| our search, live (fresh measurements, from the example's config) | ${label(livePick.candidate)} | ${fmt(truth(livePick.candidate))} (${fmt(livePick.score)} in the search) | ${(scoreOf({ candidate: livePick.candidate, score: truth(livePick.candidate) }) / scoreOf(optimum)).toFixed(2)} | ${liveRun.length} | ${(liveRun.length / grid.length).toFixed(2)} | ${liveSeconds.toFixed(0)} |`,
      `| our search, replayed on the sweep from each of the ${grid.length} configs | – | – | mean ${mean(replayRatios).toFixed(2)}, worst ${Math.min(...replayRatios).toFixed(2)} | mean ${mean(replayCounts).toFixed(1)}, max ${Math.max(...replayCounts)} | ${(mean(replayCounts) / grid.length).toFixed(2)} | – |`,
      typeof analyzer === 'string'
        ? `| Triton Model Analyzer 1.44 quick search | ${analyzer} | – | – | – | – | – |`
        : `| Triton Model Analyzer 1.44 quick search (its space: instances × max batch × dynamic batching on)${analyzer.failures.length > 0 ? ` [${analyzer.failures.join('; ')}]` : ''} | ${label(analyzer.config)} | ${fmt(analyzerScore)} (measured by our harness) | ${((analyzerScore ?? 0) / scoreOf(optimum)).toFixed(2)} | ${analyzer.measuredConfigs} configs, ${analyzer.measurements} perf_analyzer runs | ${(analyzer.measuredConfigs / grid.length).toFixed(2)} | ${analyzer.seconds.toFixed(0)} |`,
    ];
    const sweepTable = grid
      .map((c) => ({ c, s: truth(c) }))
      .sort((a, b) => (b.s ?? -1) - (a.s ?? -1))
      .map(({ c, s }) => `| ${c.instances} | ${c.maxBatchSize} | [${c.preferredBatchSizes.join(',')}] | ${c.maxQueueDelayMicroseconds} | ${fmt(s)} |`);
    const report = [
      `# Config search vs the exhaustive optimum (real Triton on CPU, real perf_analyzer)`,
      ``,
      `${date}, this machine (2 cores). Model: resnet-mini (our ONNX CNN, python backend running ONNX Runtime).`,
      `SLA: p${sla.percentile} <= ${sla.latencyMs} ms; score = the highest throughput among concurrencies ${concurrency.start}..${concurrency.end} step ${concurrency.step} within it (batch 1, perf_analyzer 1 s windows, 50% stability).`,
      `Space: instances ${JSON.stringify(space.instances)} × max batch ${JSON.stringify(space.maxBatchSize)} × preferred ${JSON.stringify(space.preferredBatchSizes)} × queue delay ${JSON.stringify(space.maxQueueDelayMicroseconds)} µs, preferred <= max batch: ${grid.length} configs. Search budget ${budget}.`,
      ``,
      `| method | best config found | its SLA-bounded throughput (infer/s, sweep) | found / optimum | measurements | / exhaustive | wall time (s) |`,
      `|---|---|---:|---:|---:|---:|---:|`,
      ...rows,
      ``,
      `"found / optimum" uses the sweep's number for the config found, so both sides are one measurement of each config; the optimum is itself the best of ${grid.length} noisy measurements.`,
      ``,
      `## The sweep`,
      ``,
      `| instances | max batch | preferred | queue delay (µs) | infer/s within SLA |`,
      `|---:|---:|---|---:|---:|`,
      ...sweepTable,
      ``,
    ].join('\n');
    await writeFile(join(PROJECT_ROOT, 'bench/results/config-search.md'), report);
    process.stdout.write(report);
  } finally {
    await lab.stop();
  }
}

await main();
