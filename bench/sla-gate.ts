/**
 * The regression gate's error rates on this machine's noise, from real measurements: repeated
 * perf_analyzer sweeps of one unchanged config on a real Triton (CPU), and of two real regressions
 * (preferred batch sizes that the load never fills; the model made slower on purpose), and of a
 * change that costs nothing at this load (1 instance instead of 2), all as examples/local.yaml
 * serves and measures its variant mini-2. Trials then draw a baseline release
 * and a new release from those sweeps and apply the gate the deployment workflow applies
 * (compareWithBaseline with gateTolerance): fixed tolerances with one sweep per release, and the
 * noise-aware tolerance with repeated sweeps. Writes bench/results/sla-gate.md.
 * Run: npm run bench:gate (BENCH_SWEEPS=12,6,4: sweeps of the unchanged config, of each regression, of
 * the last case; BENCH_RECORDED=1: only the trials, on the sweeps recorded in bench/results).
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../src/assets.js';
import { servingCandidateOf, type ServingCandidate } from '../src/search/config-search.js';
import { compareWithBaseline, type SlaBound } from '../src/sla/evaluate.js';
import { mulberry32 } from '../src/sim/perf-model.js';
import { estimateNoise, gateTolerance, repeatedScore } from '../src/sla/noise.js';
import { parseSpecText } from '../src/spec/load.js';
import { startLab, type ModelFile } from './local-triton.js';

const trials = 4000;
const [unchangedSweeps, regressionSweeps, sameSpeedSweeps] = (process.env['BENCH_SWEEPS'] ?? '12,6,4').split(',').map(Number) as [number, number, number];

/** The local example's SLA and its best variant: the gate measured as `npm start -- --target local` runs it. */
async function exampleServing() {
  const parsed = parseSpecText(await readFile(join(PROJECT_ROOT, 'examples/local.yaml'), 'utf8'));
  if (!parsed.ok) throw new Error('examples/local.yaml is invalid');
  const model = parsed.spec.models[0]!;
  const variant = model.variants.find((v) => v.name === 'mini-2')!;
  const serving: ServingCandidate = servingCandidateOf(variant);
  return {
    sla: model.sla,
    serving,
    cases: [
      { name: 'unchanged', candidate: serving, model: 'resnet-mini' as ModelFile, sweeps: unchangedSweeps },
      // Regressions at this load: batches wait for 8 requests that c <= 4 never sends; a 4x wider model.
      { name: 'preferred batch [8] instead of [4,8]', candidate: { ...serving, preferredBatchSizes: [8] }, model: 'resnet-mini' as ModelFile, sweeps: regressionSweeps },
      { name: 'slower model (4x channels)', candidate: serving, model: 'resnet-mini-slow' as ModelFile, sweeps: regressionSweeps },
      // A change that costs nothing at this load (c <= 4 on 2 cores): not a regression.
      { name: `1 instance instead of ${serving.instances}`, candidate: { ...serving, instances: 1 }, model: 'resnet-mini' as ModelFile, sweeps: sameSpeedSweeps },
    ],
  };
}

interface Gate {
  name: string;
  repeats: number;
  regressionTolerance: number;
  /** Present: the noise-aware gate (tolerance widened to this false-rollback rate). */
  falseRollbackRate?: number;
}
const gates: Gate[] = [
  { name: 'fixed 5%', repeats: 1, regressionTolerance: 0.05 },
  { name: 'fixed 10% (the spec default)', repeats: 1, regressionTolerance: 0.1 },
  { name: 'fixed 30%', repeats: 1, regressionTolerance: 0.3 },
  { name: 'noise-aware, min 5%, 1% false rollbacks', repeats: 2, regressionTolerance: 0.05, falseRollbackRate: 0.01 },
  { name: 'noise-aware, min 5%, 1% false rollbacks', repeats: 3, regressionTolerance: 0.05, falseRollbackRate: 0.01 },
  { name: 'noise-aware, min 5%, 1% false rollbacks', repeats: 4, regressionTolerance: 0.05, falseRollbackRate: 0.01 },
];

function draw<T>(pool: readonly T[], n: number, next: () => number): T[] {
  const copy = [...pool];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [copy[i], copy[j]] = [copy[j]!, copy[i]!];
  }
  return copy.slice(0, n);
}

/** How often the gate rolls back a release measured by `current` against a baseline from `unchanged`, and its mean tolerance. */
function rollbackRate(gate: Gate, unchanged: readonly number[], current: readonly number[] | 'unchanged', next: () => number): { rate: number; tolerance: number } {
  let rolledBack = 0;
  let tolerances = 0;
  for (let t = 0; t < trials; t++) {
    // The same sweep is never both baseline and new release.
    const picked = draw(unchanged, current === 'unchanged' ? 2 * gate.repeats : gate.repeats, next);
    const baselineScores = picked.slice(0, gate.repeats);
    const currentScores = current === 'unchanged' ? picked.slice(gate.repeats) : draw(current, gate.repeats, next);
    const baseline = repeatedScore(baselineScores);
    const now = repeatedScore(currentScores);
    const { tolerance } =
      gate.falseRollbackRate === undefined
        ? { tolerance: gate.regressionTolerance }
        : gateTolerance(now, baseline, { regressionTolerance: gate.regressionTolerance, falseRollbackRate: gate.falseRollbackRate });
    tolerances += tolerance;
    if (compareWithBaseline(now.mean, baseline.mean, tolerance).regressed) rolledBack++;
  }
  return { rate: rolledBack / trials, tolerance: tolerances / trials };
}

const RECORDED = join(PROJECT_ROOT, 'bench/results/sla-gate-sweeps.json');

/** Sweeps each case `sweeps` times on a real Triton, interleaved so slow drift of the machine lands on every case alike. */
async function measureCases(sla: SlaBound & { concurrency: { start: number; end: number; step: number } }, cases: Array<{ name: string; candidate: ServingCandidate; model: ModelFile; sweeps: number }>) {
  const lab = await startLab({ sla, concurrency: sla.concurrency });
  const measured: Record<string, number[]> = {};
  try {
    const rounds = Math.max(...cases.map((c) => c.sweeps));
    for (let round = 0; round < rounds; round++) {
      for (const c of cases) {
        if (round >= c.sweeps) continue;
        const m = await lab.measure(c.candidate, c.model);
        if (m.score === null) throw new Error(`${c.name}: no concurrency within p${sla.percentile} <= ${sla.latencyMs} ms`);
        (measured[c.name] ??= []).push(m.score);
        process.stderr.write(`  ${c.name} #${round + 1}: ${m.score.toFixed(0)} infer/s\n`);
      }
    }
  } finally {
    await lab.stop();
  }
  return measured;
}

async function main(): Promise<void> {
  const { sla, serving, cases } = await exampleServing();
  const { concurrency } = sla;
  // BENCH_RECORDED=1: the trials again on the sweeps recorded by the last measuring run.
  const recorded = process.env['BENCH_RECORDED'] === '1' ? (JSON.parse(await readFile(RECORDED, 'utf8')) as { date: string; sweeps: Record<string, number[]> }) : null;
  const measured = new Map(Object.entries(recorded?.sweeps ?? (await measureCases(sla, cases))));
  const date = recorded?.date ?? new Date().toISOString().slice(0, 10);
  if (recorded === null) {
    await mkdir(join(PROJECT_ROOT, 'bench/results'), { recursive: true });
    await writeFile(RECORDED, `${JSON.stringify({ date, sweeps: Object.fromEntries(measured) }, null, 2)}\n`);
  }
  const [unchanged, fewerBatched, slower, oneInstance] = cases.map((c) => measured.get(c.name)!) as [number[], number[], number[], number[]];
  const noise = estimateNoise(unchanged);
  const drop = (xs: number[]) => 1 - estimateNoise(xs).mean / noise.mean;
  const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
  const rows = gates.map((gate, i) => {
    const next = mulberry32(1000 + i);
    const unchangedRun = rollbackRate(gate, unchanged, 'unchanged', next);
    const missed = (xs: number[]) => pct(1 - rollbackRate(gate, unchanged, xs, next).rate);
    return `| ${gate.name} | ${gate.repeats} | ${pct(unchangedRun.tolerance)} | ${pct(unchangedRun.rate)} | ${missed(fewerBatched)} | ${missed(slower)} | ${pct(rollbackRate(gate, unchanged, oneInstance, next).rate)} |`;
  });
  const report = [
    `# The SLA regression gate's error rates (real Triton on CPU, real perf_analyzer)`,
    ``,
    `${date}, this machine (2 cores). Model resnet-mini, served as ${serving.instances} instances, max batch ${serving.maxBatchSize}, preferred [${serving.preferredBatchSizes.join(',')}], ${serving.maxQueueDelayMicroseconds} µs queue delay.`,
    `Score: SLA-bounded throughput (p${sla.percentile} <= ${sla.latencyMs} ms, concurrency ${concurrency.start}..${concurrency.end} step ${concurrency.step}, batch 1, 1 s windows).`,
    ``,
    `| sweeps | n | mean (infer/s) | CV | drop vs unchanged |`,
    `|---|---:|---:|---:|---:|`,
    ...cases.map((c) => {
      const xs = measured.get(c.name)!;
      const e = estimateNoise(xs);
      return `| ${c.name} | ${xs.length} | ${e.mean.toFixed(0)} | ${pct(e.cv)} | ${c.name === 'unchanged' ? '–' : pct(drop(xs))} |`;
    }),
    ``,
    `${trials} trials per cell: a baseline release and a new one, each the mean of "sweeps per release" sweeps drawn from the measurements (never the same sweep on both sides).`,
    ``,
    `| gate | sweeps per release | mean tolerance | false rollbacks (unchanged release) | missed: ${cases[1]!.name} | missed: ${cases[2]!.name} | rolled back: ${cases[3]!.name} (not slower here) |`,
    `|---|---:|---:|---:|---:|---:|---:|`,
    ...rows,
    ``,
  ].join('\n');
  await mkdir(join(PROJECT_ROOT, 'bench/results'), { recursive: true });
  await writeFile(join(PROJECT_ROOT, 'bench/results/sla-gate.md'), report);
  process.stdout.write(report);
}

await main();
