/**
 * What a batch of runs leaves on a dev server for the batches after it: batches of the bare no-op
 * twin (28 no-op activities, no payloads) back to back on one server, the server's CPU while it is
 * left idle, then one more batch. Why the orchestration bench gives every batch a server of its own.
 * Writes bench/results/server-carryover.md. Run: npx tsx bench/server-carryover.ts (CARRYOVER_N=200).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { PROJECT_ROOT } from '../src/assets.js';
import { WORKER_SLOTS } from '../src/worker.js';
import { processCpuS, startServer } from './dev-server.js';
import type { TwinInput } from './noop-twin/workflows.js';

Runtime.install({ logger: new DefaultLogger('ERROR') });

const N = Number(process.env['CARRYOVER_N'] ?? 200);
const IDLE_SECONDS = 90;
const input: TwinInput = { steps: Array.from({ length: 28 }, () => ({ activity: 'noop', inputBytes: 0, resultBytes: 0 })), payload: null, resultBytes: 0 };

async function main(): Promise<void> {
  const { env, server } = await startServer();
  const worker = await Worker.create({ connection: env.nativeConnection, namespace: 'default', taskQueue: 'carryover', workflowsPath: join(PROJECT_ROOT, 'bench/noop-twin/workflows.ts'), activities: { noop: async () => '' }, ...WORKER_SLOTS });
  const running = worker.run();
  const rows: string[] = [];
  const began = performance.now();
  const at = () => ((performance.now() - began) / 1000).toFixed(0);
  let started = 0;
  const runBatch = async (label: string) => {
    const cpuBefore = processCpuS(server.pid);
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: N }, async () => (await env.client.workflow.start('noopPipeline', { taskQueue: 'carryover', workflowId: `carryover-${started++}`, args: [input] })).result()),
    );
    const row = `| ${label} | ${at()} | ${((performance.now() - t0) / 1000).toFixed(1)} | ${(((processCpuS(server.pid) - cpuBefore) / N) * 1000).toFixed(0)} | |`;
    rows.push(row);
    console.log(row);
  };
  try {
    for (const batch of [1, 2, 3]) await runBatch(`batch ${batch}`);
    for (let second = 0; second < IDLE_SECONDS; second += 10) {
      const cpuBefore = processCpuS(server.pid);
      await sleep(10_000);
      const row = `| idle, ${second}-${second + 10} s after batch 3 | ${at()} | | | ${((processCpuS(server.pid) - cpuBefore) * 10).toFixed(0)}% |`;
      rows.push(row);
      console.log(row);
    }
    await runBatch('batch 4');
  } finally {
    worker.shutdown();
    await running;
    await env.teardown();
  }
  const text =
    `Batches of ${N} bare no-op twins (28 no-op activities, each with a 1-minute start-to-close timeout) on one local Temporal dev server, ${new Date().toISOString().slice(0, 10)}.\n\n` +
    `| step | at (s) | batch wall (s) | server CPU per run (ms) | server CPU (of one core) |\n|---|---:|---:|---:|---:|\n${rows.join('\n')}\n`;
  await mkdir(join(PROJECT_ROOT, 'bench/results'), { recursive: true });
  await writeFile(join(PROJECT_ROOT, 'bench/results/server-carryover.md'), text);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
