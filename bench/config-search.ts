/**
 * The re-optimization's config search (src/search/config-search.ts, what the workflow runs) against
 * a de-noised exhaustive reference and Triton Model Analyzer's quick search, in one run on one real
 * Triton (CPU) measured by the real perf_analyzer. The run interleaves: reference round 1 (every
 * config of the space once, in a shuffled order), our search live, Model Analyzer, round 2, ours,
 * Model Analyzer, round 3, ours; drift over the run falls on every method alike. The reference
 * optimum is the best mean of the rounds; each method's pick is valued by the reference's mean of
 * it. Our search is also replayed from every config of the space as its start, each measurement
 * drawn from that config's recorded sweeps. Writes bench/results/config-search.md and the
 * measurements to config-search-sweeps.json.
 * Run: npm run bench:search (BENCH_RECORDED=1: the analysis again on the recorded measurements)
 */
import { access, copyFile, mkdir, mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { execa } from 'execa';
import { PROJECT_ROOT } from '../src/assets.js';
import {
  allCandidates,
  candidateKey,
  meanOf,
  type SearchOutcome,
  type SearchSettings,
  searchServingConfig,
  type ServingCandidate,
  servingCandidateOf,
} from '../src/search/config-search.js';
import { ReoptimizationSchema, type SearchSpace } from '../src/spec/schema.js';
import {
  exhaustiveReplays,
  fmt,
  label,
  median,
  type PointCosts,
  rankReference,
  recordedResiduals,
  type Reference,
  type ReferenceSweep,
  type ReplayOutcome,
  replayRow as replayRowOf,
  replaysFrom,
  type SearchStudy,
  searchMeasurementOf,
  sum,
} from './search-replay.js';
import { freePort } from '../src/targets/local/free-port.js';
import { mulberry32 } from '../src/sim/perf-model.js';
import { PERF_ANALYZER } from '../src/targets/local/perf-analyzer.js';
import { TRITONSERVER } from '../src/targets/local/triton-server.js';
import { parseModelConfig } from '../src/triton/model-config.js';
import { type Lab, type Measurement, MODEL, startLab, SWEEP_SETTINGS } from './local-triton.js';

const sla = { latencyMs: 10, percentile: 99 as const, minThroughput: 1 };
const concurrency = { start: 2, end: 14, step: 4 };
const space: SearchSpace = {
  instances: [1, 2, 3],
  maxBatchSize: [4, 8, 16],
  preferredBatchSizes: ['none', 'max-batch'],
  maxQueueDelayMicroseconds: [0, 500, 2000],
};
const constraints = { profileMaxBatch: 16, requestBatch: 1 };
/** The example's live config: where the live searches start. */
const live: ServingCandidate = { instances: 1, maxBatchSize: 8, preferredBatchSizes: [8], maxQueueDelayMicroseconds: 0 };
/** The workflow's defaults (a spec without `reoptimize`) and its span. */
const defaults = ReoptimizationSchema.parse({});
const settings: SearchSettings = { budget: defaults.maxCandidates, finalists: defaults.finalists, confirmSweeps: defaults.confirmSweeps, latencyBoundMs: sla.latencyMs, span: 'upper' };
/** Settings that spend about Model Analyzer's quick search's measurement time (replayed only). */
const quickSettings: SearchSettings = { ...settings, budget: 6, finalists: 3, confirmSweeps: 1 };
/** Screens sweep with windows this long (the workflow's screens: half the full window). */
const SCREEN_WINDOW_MS = SWEEP_SETTINGS.measurementIntervalMs / 2;
const ROUNDS = 3;
const study: SearchStudy = { sla, concurrency, space, constraints, rounds: ROUNDS };
const REPLAYS_PER_START = 20;
const MODEL_ANALYZER = join(PROJECT_ROOT, '.tools/model-analyzer/venv/bin/model-analyzer');
const RECORDED = join(PROJECT_ROOT, 'bench/results/config-search-sweeps.json');

interface LiveSearch {
  outcome: SearchOutcome;
  screens: number;
  confirms: number;
  perfSeconds: number;
  screenPerfSeconds: number;
  /** perf_analyzer's points measured by screens and by confirmations. */
  screenPoints: number;
  confirmPoints: number;
  seconds: number;
}

interface AnalyzerRun {
  config: ServingCandidate | null;
  measuredConfigs: number;
  measurements: number;
  perfSeconds: number;
  seconds: number;
  /** Why it picked nothing, or that an earlier attempt looped. */
  failure?: string;
}

interface Recorded {
  date: string;
  /** Per config key, one sweep per reference round. */
  reference: Reference;
  referenceSeconds: number;
  ours: LiveSearch[];
  analyzer: AnalyzerRun[];
}

function shuffled<T>(xs: readonly T[], random: () => number): T[] {
  const out = [...xs];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

const recordSweep = (m: Measurement): ReferenceSweep => ({
  score: m.score,
  perfSeconds: m.perfSeconds,
  points: m.points.map((p) => [p.concurrency, Math.round(p.throughput), Math.round(p.latencyUs.p99)]),
});

/** One live run of the workflow's search: screens with short windows, confirmations with full ones. */
async function liveSearch(lab: Lab, run: number): Promise<LiveSearch> {
  const started = performance.now();
  let perfSeconds = 0;
  let screenPerfSeconds = 0;
  let screens = 0;
  let confirms = 0;
  let screenPoints = 0;
  let confirmPoints = 0;
  const outcome = await searchServingConfig(space, constraints, live, settings, async (candidate, phase, round, span) => {
    const config = candidate ?? live;
    const m = await lab.measure(config, { score: 'at-bound', span, ...(phase === 'screen' ? { measurementIntervalMs: SCREEN_WINDOW_MS } : {}) });
    perfSeconds += m.perfSeconds;
    if (phase === 'screen') {
      screens++;
      screenPoints += m.points.length;
      screenPerfSeconds += m.perfSeconds;
    } else {
      confirms++;
      confirmPoints += m.points.length;
    }
    process.stderr.write(`  ours ${run} ${phase}${phase === 'confirm' ? ` ${round + 1}` : ''} ${candidateKey(config)}: ${fmt(m.score)} infer/s (${m.perfSeconds.toFixed(1)} s)\n`);
    return searchMeasurementOf(study, m.score, m.points);
  });
  return { outcome, screens, confirms, perfSeconds, screenPerfSeconds, screenPoints, confirmPoints, seconds: (performance.now() - started) / 1000 };
}

/** Consecutive "Existing measurement found" lines after which a quick search counts as looping. */
const LOOP_LINES = 2000;

/**
 * One Model Analyzer process. Its quick search can loop: yield configs it has measured, over and
 * over, without measuring (seen here with 1.44.0); such a run is stopped and reported as looping.
 */
async function modelAnalyzerProcess(dir: string): Promise<{ log: string; exitCode: number | undefined; looped: number }> {
  // stdin not a pipe: its tritonserver inherits it, and the python backend starts each stub by `bash -c`, which
  // reads ~/.bashrc when stdin is a socket (a pipe from node is) and SHLVL is 0 or unset. A PATH that file puts
  // first (pyenv's shims) then picks the stub's python3, one without the venv's numpy ("No module named 'numpy'").
  const child = execa(MODEL_ANALYZER, ['profile', '-f', join(dir, 'config.yaml')], { reject: false, all: true, cwd: dir, buffer: false, stdin: 'ignore' });
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
  // Its tritonserver and perf_analyzers run in sessions of their own: when it is killed (a loop, above) they
  // keep running, the server holding its ports. End every process group still running from this run's dir.
  const stat = (pid: string) => readFile(`/proc/${pid}/stat`, 'utf8').then((s) => Number(s.slice(s.lastIndexOf(')') + 2).split(' ')[2]), () => 0);
  const ownGroup = await stat('self');
  const strays = async () => {
    const groups = new Set<number>();
    for (const pid of (await readdir('/proc').catch(() => [])).filter((name) => /^\d+$/.test(name))) {
      if (!(await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).includes(dir)) continue;
      const group = await stat(pid);
      if (group > 1 && group !== ownGroup) groups.add(group);
    }
    return [...groups];
  };
  const signal = (groups: number[], sig: NodeJS.Signals) => groups.forEach((g) => { try { process.kill(-g, sig); } catch { /* gone */ } });
  const left = await strays();
  if (left.length > 0) {
    kept.unshift(`(ended ${left.length} process groups it left running)`);
    signal(left, 'SIGTERM');
    for (let i = 0; i < 20 && (await strays()).length > 0; i++) await new Promise((r) => setTimeout(r, 500));
    signal(await strays(), 'SIGKILL');
  }
  return { log: kept.join('\n'), exitCode, looped: repeats >= LOOP_LINES ? looped : 0 };
}

/**
 * Model Analyzer's quick search on the same model and server binary, over its space restricted to
 * ours (instances 1..3, max batch 4..16, dynamic batching on); perf_analyzer runs through a wrapper
 * that logs how long each ran. A run that loops is tried once more.
 */
async function modelAnalyzerRun(lab: Lab): Promise<AnalyzerRun> {
  const failures: string[] = [];
  for (let attempt = 1; attempt <= 2; attempt++) {
    const dir = await mkdtemp(join(tmpdir(), 'bench-ma-'));
    const repository = join(dir, 'repository');
    await mkdir(join(repository, MODEL, '1'), { recursive: true });
    await writeFile(join(repository, MODEL, 'config.pbtxt'), `name: "${MODEL}"\nbackend: "python"\nmax_batch_size: 8\ninstance_group [ { count: 1 kind: KIND_CPU } ]\n`);
    await copyFile(join(lab.dir, 'onnx', 'resnet-mini.onnx'), join(repository, MODEL, '1', 'model.onnx'));
    await copyFile(join(PROJECT_ROOT, 'deploy/local/triton_onnx_model.py'), join(repository, MODEL, '1', 'model.py'));
    const timings = join(dir, 'perf-times');
    const wrapper = join(dir, 'perf_analyzer');
    await writeFile(wrapper, `#!/usr/bin/env bash\nstart=$(date +%s.%N)\n"${PERF_ANALYZER}" "$@"\nrc=$?\necho "$start $(date +%s.%N)" >> "${timings}"\nexit $rc\n`, { mode: 0o755 });
    // Ports of its own: at Triton's defaults (8000-8002) any other server, such as one a killed analyzer left,
    // makes it refuse to start ("Another application ... is already using the desired port").
    const ports: number[] = [];
    while (ports.length < 3) {
      const port = await freePort();
      if (!ports.includes(port)) ports.push(port);
    }
    const tritonLog = join(dir, 'triton.log');
    const config = [
      `model_repository: ${repository}`,
      `profile_models:`,
      `  ${MODEL}:`,
      `    cpu_only: true`,
      `triton_launch_mode: local`,
      `triton_server_path: ${TRITONSERVER}`,
      `perf_analyzer_path: ${wrapper}`,
      `triton_http_endpoint: 127.0.0.1:${ports[0]}`,
      `triton_grpc_endpoint: 127.0.0.1:${ports[1]}`,
      `triton_metrics_url: http://127.0.0.1:${ports[2]}/metrics`,
      `triton_output_path: ${tritonLog}`,
      `run_config_search_mode: quick`,
      `run_config_search_min_instance_count: ${Math.min(...space.instances)}`,
      `run_config_search_max_instance_count: ${Math.max(...space.instances)}`,
      `run_config_search_min_model_batch_size: ${Math.min(...space.maxBatchSize)}`,
      `run_config_search_max_model_batch_size: ${Math.max(...space.maxBatchSize)}`,
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
    const run = await modelAnalyzerProcess(dir);
    const seconds = (performance.now() - started) / 1000;
    await writeFile(join(dir, 'model-analyzer.log'), run.log);
    const profiled = [...run.log.matchAll(/Profiling (\S+): concurrency=/g)].map((m) => m[1]);
    const perfSeconds = sum(
      (await readFile(timings, 'utf8').catch(() => ''))
        .trim()
        .split('\n')
        .filter(Boolean)
        .map((line) => line.split(' ').map(Number))
        .map(([from, to]) => to! - from!),
    );
    const measured = { measuredConfigs: new Set(profiled).size, measurements: profiled.length, perfSeconds, seconds };
    if (run.looped > 0) {
      failures.push(`attempt ${attempt} measured ${measured.measuredConfigs} configs, then looped ("Existing measurement found" ${run.looped} times in a row)`);
      continue;
    }
    const failed = (why: string): AnalyzerRun => ({ config: null, ...measured, failure: [...failures, why].join('; ') });
    if (run.exitCode !== 0) {
      // Its own message names no cause when the model fails to load; the server's log does.
      const loadFailure = (await readFile(tritonLog, 'utf8').catch(() => '')).split('\n').find((line) => line.includes('failed to load'));
      return failed(`exit ${run.exitCode}: ${run.log.trim().split('\n').at(-1)!.replaceAll(PROJECT_ROOT, '.')}${loadFailure ? ` (triton: ${loadFailure.slice(0, 300)})` : ''}`);
    }
    // It names its best configs, best first, when it writes their detailed reports.
    const best = /best configurations ([\w-]+?)[,:]/.exec(run.log)?.[1];
    if (best === undefined) return failed('no best config in its output');
    const parsed = parseModelConfig(await readFile(join(dir, 'configs', best, 'config.pbtxt'), 'utf8'), { name: MODEL });
    return { config: servingCandidateOf(parsed), ...measured, ...(failures.length > 0 ? { failure: failures.join('; ') } : {}) };
  }
  return { config: null, measuredConfigs: 0, measurements: 0, perfSeconds: 0, seconds: 0, failure: failures.join('; ') };
}

/** Every reference round, our live searches and Model Analyzer's, interleaved. */
async function measureAll(): Promise<Recorded> {
  const lab = await startLab({ sla, concurrency });
  const grid = allCandidates(space, constraints);
  const reference: Reference = Object.fromEntries(grid.map((c) => [candidateKey(c), []]));
  const ours: LiveSearch[] = [];
  const analyzer: AnalyzerRun[] = [];
  const analyzerInstalled = await access(MODEL_ANALYZER).then(() => true, () => false);
  let referenceSeconds = 0;
  try {
    for (let round = 1; round <= ROUNDS; round++) {
      process.stderr.write(`reference round ${round}/${ROUNDS}: ${grid.length} configs\n`);
      const started = performance.now();
      for (const [i, candidate] of shuffled(grid, mulberry32(round)).entries()) {
        const m = await lab.measure(candidate, { score: 'at-bound' });
        reference[candidateKey(candidate)]!.push(recordSweep(m));
        process.stderr.write(`  ${i + 1}/${grid.length} ${candidateKey(candidate)}: ${fmt(m.score)} infer/s (${m.perfSeconds.toFixed(1)} s)\n`);
      }
      referenceSeconds += (performance.now() - started) / 1000;
      process.stderr.write(`our search, live run ${round}\n`);
      ours.push(await liveSearch(lab, round));
      if (round < ROUNDS && analyzerInstalled) {
        process.stderr.write(`model analyzer, run ${round}\n`);
        analyzer.push(await modelAnalyzerRun(lab));
      }
    }
  } finally {
    await lab.stop();
  }
  return { date: new Date().toISOString().slice(0, 10), reference, referenceSeconds, ours, analyzer };
}

/** perf_analyzer's time per concurrency point, of screens and of confirmations, in the live runs. */
function pointCosts(recorded: Recorded): PointCosts {
  const per = (seconds: number, count: number) => seconds / Math.max(1, count);
  const { ours } = recorded;
  return {
    screen: per(sum(ours.map((o) => o.screenPerfSeconds)), sum(ours.map((o) => o.screenPoints))),
    confirm: per(sum(ours.map((o) => o.perfSeconds - o.screenPerfSeconds)), sum(ours.map((o) => o.confirmPoints))),
  };
}

async function report(recorded: Recorded): Promise<string> {
  const ranking = rankReference(study, recorded.reference);
  const { grid, ranked, optimum, pooledSd, noiseBand, referenceMean, referencePerf, withinNoise, ratio } = ranking;
  const random = mulberry32(2026);
  const residuals = recordedResiduals(study, recorded.reference);
  const draw = { random, residuals, cost: pointCosts(recorded) };
  const pct = (n: number, of: number) => `${n}/${of}`;
  const replays = await replaysFrom(study, recorded.reference, ranking, grid, REPLAYS_PER_START, settings, draw);
  const replaysFromLive = await replaysFrom(study, recorded.reference, ranking, [live], REPLAYS_PER_START * grid.length, settings, draw);
  const quickReplays = await replaysFrom(study, recorded.reference, ranking, grid, REPLAYS_PER_START, quickSettings, draw);
  const exhaustive = (sweeps: number) => exhaustiveReplays(study, recorded.reference, ranking, sweeps, REPLAYS_PER_START * grid.length, random, residuals);
  const replayRow = (what: string, rs: readonly ReplayOutcome[]) => replayRowOf(what, rs, referencePerf);
  const ours = recorded.ours;
  const ma = recorded.analyzer.filter((a) => a.config !== null);
  const rows = [
    `| exhaustive reference (${ROUNDS} sweeps per config, rounds interleaved with the searches) | ${label(optimum.c)} | ${fmt(optimum.mean)} | 1.00 | – | ${grid.length * ROUNDS} sweeps | ${referencePerf.toFixed(0)} s (1.00) | ${recorded.referenceSeconds.toFixed(0)} |`,
    ...ours.map((o, i) => `| our search, live run ${i + 1} (from the example's config) | ${label(o.outcome.best)} | ${fmt(referenceMean(o.outcome.best))} | ${ratio(o.outcome.best).toFixed(3)} | ${withinNoise(o.outcome.best) ? 'yes' : 'no'} | ${o.screens} screens + ${o.confirms} sweeps | ${o.perfSeconds.toFixed(0)} s (${(o.perfSeconds / referencePerf).toFixed(3)}) | ${o.seconds.toFixed(0)} |`),
    `| our search, live: median of ${ours.length} | – | – | **${median(ours.map((o) => ratio(o.outcome.best))).toFixed(3)}** | ${pct(ours.filter((o) => withinNoise(o.outcome.best)).length, ours.length)} | – | **${median(ours.map((o) => o.perfSeconds)).toFixed(0)} s (${(median(ours.map((o) => o.perfSeconds)) / referencePerf).toFixed(3)})** | ${median(ours.map((o) => o.seconds)).toFixed(0)} |`,
    replayRow(`our search, replayed ${replaysFromLive.length}× from the example's config`, replaysFromLive),
    replayRow(`our search, replayed ${REPLAYS_PER_START}× from each of the ${grid.length} configs`, replays),
    replayRow(
      `our search at about Model Analyzer's time (${quickSettings.budget} screens, ${quickSettings.finalists} finalists, ${quickSettings.confirmSweeps} rounds), replayed ${REPLAYS_PER_START}× from each config`,
      quickReplays,
    ),
    replayRow(`the exhaustive sweep itself with 1 sweep per config, replayed ${REPLAYS_PER_START * grid.length}×`, exhaustive(1)),
    replayRow(`the exhaustive sweep itself with ${ROUNDS} sweeps per config, replayed ${REPLAYS_PER_START * grid.length}×`, exhaustive(ROUNDS)),
    ...recorded.analyzer.map((a, i) =>
      a.config === null
        ? `| Model Analyzer 1.44 quick, run ${i + 1} | ${a.failure} | – | – | – | ${a.measurements} perf_analyzer runs | ${a.perfSeconds.toFixed(0)} s | ${a.seconds.toFixed(0)} |`
        : `| Model Analyzer 1.44 quick, run ${i + 1}${a.failure ? ` (${a.failure})` : ''} | ${label(a.config)} | ${fmt(referenceMean(a.config))} | ${ratio(a.config).toFixed(3)} | ${withinNoise(a.config) ? 'yes' : 'no'} | ${a.measuredConfigs} configs, ${a.measurements} perf_analyzer runs | ${a.perfSeconds.toFixed(0)} s (${(a.perfSeconds / referencePerf).toFixed(3)}) | ${a.seconds.toFixed(0)} |`,
    ),
    ...(ma.length > 0
      ? [`| Model Analyzer: median of ${ma.length} | – | – | **${median(ma.map((a) => ratio(a.config))).toFixed(3)}** | ${pct(ma.filter((a) => withinNoise(a.config!)).length, ma.length)} | – | **${median(ma.map((a) => a.perfSeconds)).toFixed(0)} s (${(median(ma.map((a) => a.perfSeconds)) / referencePerf).toFixed(3)})** | ${median(ma.map((a) => a.seconds)).toFixed(0)} |`]
      : []),
  ];
  const roundMeans = Array.from({ length: ROUNDS }, (_, r) => meanOf(ranked.map((x) => x.scores[r] ?? null)));
  return [
    `# Config search: the workflow's search vs a de-noised exhaustive reference and Model Analyzer (real Triton on CPU, real perf_analyzer)`,
    ``,
    `${recorded.date}, this machine (2 cores), one run of \`npm run bench:search\`. Model: resnet-mini (our ONNX CNN, python backend running ONNX Runtime).`,
    `SLA: p${sla.percentile} <= ${sla.latencyMs} ms. Score: the throughput at the latency bound, interpolated between the concurrencies swept (${concurrency.start}..${concurrency.end} step ${concurrency.step}, batch 1, perf_analyzer ${SWEEP_SETTINGS.measurementIntervalMs} ms windows, ${SWEEP_SETTINGS.stabilityPercentage}% stability; our screens ${SCREEN_WINDOW_MS} ms windows).`,
    `Space: instances ${JSON.stringify(space.instances)} × max batch ${JSON.stringify(space.maxBatchSize)} × preferred ${JSON.stringify(space.preferredBatchSizes)} × queue delay ${JSON.stringify(space.maxQueueDelayMicroseconds)} µs: ${grid.length} configs (Model Analyzer's quick space, instances × max batch with dynamic batching on and no preferred sizes, is inside it). Our search: ${settings.budget} screens at most, ${settings.finalists} finalists, ${settings.confirmSweeps} confirmation rounds with the incumbent.`,
    ``,
    `Every pick is valued by the reference's mean of it ("found / optimum"). "Near": within the reference's noise of the optimum (mean >= optimum − ${fmt(noiseBand)} infer/s, one standard error of a difference of two ${ROUNDS}-sweep means at the pooled per-sweep sd ${fmt(pooledSd)}). perf_analyzer time is the time perf_analyzer ran, against the reference's.`,
    ``,
    `| method | config picked | reference mean (infer/s) | found / optimum | near | measurements | perf_analyzer time (/ reference) | wall time (s) |`,
    `|---|---|---:|---:|---|---|---:|---:|`,
    ...rows,
    ``,
    `Reference rounds' means over all configs: ${roundMeans.map((m) => fmt(m)).join(', ')} infer/s (the drift the interleaving spreads over every method).`,
    ``,
    `## The reference`,
    ``,
    `| instances | max batch | preferred | queue delay (µs) | sweeps (infer/s at the bound) | mean |`,
    `|---:|---:|---|---:|---|---:|`,
    ...ranked.map(({ c, mean, scores }) => `| ${c.instances} | ${c.maxBatchSize} | [${c.preferredBatchSizes.join(',')}] | ${c.maxQueueDelayMicroseconds} | ${scores.map((s) => fmt(s)).join(', ')} | ${fmt(mean)} |`),
    ``,
  ].join('\n');
}

async function main(): Promise<void> {
  const recorded = process.env['BENCH_RECORDED'] === '1' ? (JSON.parse(await readFile(RECORDED, 'utf8')) as Recorded) : await measureAll();
  if (process.env['BENCH_RECORDED'] !== '1') {
    await mkdir(join(PROJECT_ROOT, 'bench/results'), { recursive: true });
    await writeFile(RECORDED, `${JSON.stringify(recorded)}\n`);
  }
  const text = await report(recorded);
  await writeFile(join(PROJECT_ROOT, 'bench/results/config-search.md'), text);
  process.stdout.write(text);
}

await main();
