/**
 * Orchestration overhead: full pipelines on the sim target with zero simulated durations, so the
 * time measured is Temporal + worker + activity code, not simulated work. N pipelines run
 * concurrently on one worker (N = 1, 10, 50, 200 by default; BENCH_N=1,10 to change).
 * Writes bench/results/orchestration.md. Run: npm run bench
 */
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { parse } from 'yaml';
import { PROJECT_ROOT } from '../src/assets.js';
import { SEARCH_ATTRIBUTES } from '../src/temporal/search-attributes.js';
import { type DeploymentSpecInput, STAGE_NAMES } from '../src/spec/schema.js';
import { createPipelineWorker } from '../src/worker.js';
import type { deployTriton } from '../src/workflows/deploy.js';

Runtime.install({ logger: new DefaultLogger('ERROR') });

const sizes = (process.env['BENCH_N'] ?? '1,10,50,200').split(',').map(Number);

interface Row {
  n: number;
  wallS: number;
  perPipelineMsP50: number;
  perPipelineMsMax: number;
  perStageMs: number;
  pipelinesPerS: number;
  rssMiB: number;
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function main(): Promise<void> {
  const example = parse(await readFile(join(PROJECT_ROOT, 'examples/sim-seed.yaml'), 'utf8')) as DeploymentSpecInput;
  const env = await TestWorkflowEnvironment.createLocal({
    server: { executable: { type: 'existing-path', path: join(PROJECT_ROOT, '.tools/bin/temporal') }, ip: '127.0.0.1', searchAttributes: SEARCH_ATTRIBUTES },
  });
  const stateDir = await mkdtemp(join(tmpdir(), 'bench-'));
  const taskQueue = 'bench';
  const worker = await createPipelineWorker({ connection: env.nativeConnection, namespace: 'default', target: 'sim', stateDir, taskQueue });
  const running = worker.run();
  const rows: Row[] = [];
  try {
    for (const n of sizes) {
      let peakRss = process.memoryUsage().rss;
      const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 100);
      const started = performance.now();
      const durations = await Promise.all(
        Array.from({ length: n }, async (_, i) => {
          const project = `bench-${n}-${i}`;
          const spec = { ...structuredClone(example), project, bucket: `gs://${project}`, simulation: { speed: 0, faults: [], regression: 0 } };
          const t0 = performance.now();
          const handle = await env.client.workflow.start<typeof deployTriton>('deployTriton', {
            workflowId: `bench/${project}`,
            taskQueue,
            args: [{ spec }],
          });
          await handle.result();
          return performance.now() - t0;
        }),
      );
      const wall = performance.now() - started;
      clearInterval(sampler);
      rows.push({
        n,
        wallS: wall / 1000,
        perPipelineMsP50: percentile(durations, 50),
        perPipelineMsMax: Math.max(...durations),
        perStageMs: percentile(durations, 50) / STAGE_NAMES.length,
        pipelinesPerS: n / (wall / 1000),
        rssMiB: peakRss / 2 ** 20,
      });
      console.log(`N=${n}: ${(wall / 1000).toFixed(1)} s`);
    }
  } finally {
    worker.shutdown();
    await running;
    await env.teardown();
  }
  const table = [
    '| N concurrent | wall time (s) | pipeline p50 (ms) | pipeline max (ms) | overhead per stage, p50 (ms) | pipelines/s | peak RSS, worker + client (MiB) |',
    '|---:|---:|---:|---:|---:|---:|---:|',
    ...rows.map(
      (r) =>
        `| ${r.n} | ${r.wallS.toFixed(1)} | ${r.perPipelineMsP50.toFixed(0)} | ${r.perPipelineMsMax.toFixed(0)} | ${r.perStageMs.toFixed(0)} | ${r.pipelinesPerS.toFixed(2)} | ${r.rssMiB.toFixed(0)} |`,
    ),
  ].join('\n');
  const header = `Orchestration overhead on the sim target (simulated durations 0), one worker, local Temporal dev server, ${new Date().toISOString().slice(0, 10)}.\nEach pipeline: 8 stages, 2 engine-build child workflows, 4 perf sweeps (the example spec).\n\n`;
  await mkdir(join(PROJECT_ROOT, 'bench/results'), { recursive: true });
  await writeFile(join(PROJECT_ROOT, 'bench/results/orchestration.md'), `${header}${table}\n`);
  console.log(`\n${table}`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
