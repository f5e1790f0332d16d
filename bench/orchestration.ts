/**
 * Orchestration overhead: full pipelines on the sim target with zero simulated durations, so the
 * time measured is Temporal + worker + activity code, not simulated work; against a no-op twin of
 * the same shape (bench/noop-twin: the pipeline's activities in order and its child workflows, each
 * activity doing nothing), in the same process and on the same server, one after the other at each
 * N. N pipelines run concurrently on one worker (N = 1, 10, 50, 200, 500 by default; BENCH_N=1,10
 * to change). Writes bench/results/orchestration.md. Run: npm run bench
 */
import { mkdir, mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { WorkflowClient } from '@temporalio/client';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import proto from '@temporalio/proto';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { parse } from 'yaml';
import { PROJECT_ROOT } from '../src/assets.js';
import { SEARCH_ATTRIBUTES } from '../src/temporal/search-attributes.js';
import type { DeploymentSpecInput } from '../src/spec/schema.js';
import { createPipelineWorker, WORKER_SLOTS } from '../src/worker.js';
import type { TwinStep } from './noop-twin/workflows.js';

Runtime.install({ logger: new DefaultLogger('ERROR') });

const EventType = proto.temporal.api.enums.v1.EventType;
const sizes = (process.env['BENCH_N'] ?? '1,10,50,200,500').split(',').map(Number);

interface Batch {
  wallS: number;
  /** CPU seconds of this process (workers, client, simulated world) and of the Temporal server. */
  workerCpuS: number;
  serverCpuS: number;
  p50Ms: number;
  maxMs: number;
  perS: number;
  peakRssMiB: number;
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** CPU seconds a process has used (user + system), from /proc. */
async function processCpuS(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** The dev server this process started (a child running `temporal server start-dev`). */
async function serverPid(): Promise<number> {
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const cmdline = await readFile(`/proc/${name}/cmdline`, 'utf8').catch(() => '');
    const stat = await readFile(`/proc/${name}/stat`, 'utf8').catch(() => '');
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    if (ppid === process.pid && cmdline.includes('start-dev')) return Number(name);
  }
  throw new Error('no Temporal dev server among this process\'s children');
}

/** N workflows at once; each one's time from start to result, the batch's wall time, CPU and peak RSS. */
async function batch(n: number, server: number, start: (i: number) => Promise<{ result(): Promise<unknown> }>): Promise<Batch> {
  (globalThis as { gc?: () => void }).gc?.();
  let peakRss = process.memoryUsage().rss;
  const cpuBefore = process.cpuUsage();
  const serverBefore = await processCpuS(server);
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 100);
  const started = performance.now();
  const durations = await Promise.all(
    Array.from({ length: n }, async (_, i) => {
      const t0 = performance.now();
      await (await start(i)).result();
      return performance.now() - t0;
    }),
  );
  const wall = performance.now() - started;
  clearInterval(sampler);
  const cpu = process.cpuUsage(cpuBefore);
  return { wallS: wall / 1000, workerCpuS: (cpu.user + cpu.system) / 1e6, serverCpuS: (await processCpuS(server)) - serverBefore, p50Ms: percentile(durations, 50), maxMs: Math.max(...durations), perS: n / (wall / 1000), peakRssMiB: peakRss / 2 ** 20 };
}

/** The pipeline's shape from one run's history: its activities in order, its children where it starts them. */
async function shapeOf(client: WorkflowClient, workflowId: string): Promise<{ steps: TwinStep[]; events: number; bytes: number }> {
  const history = await client.getHandle(workflowId).fetchHistory();
  const events = history.events ?? [];
  const steps: TwinStep[] = [];
  for (const event of events) {
    if (event.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED) {
      steps.push({ activity: event.activityTaskScheduledEventAttributes!.activityType!.name! });
    } else if (event.eventType === EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED) {
      const childId = event.startChildWorkflowExecutionInitiatedEventAttributes!.workflowId!;
      const childEvents = (await client.getHandle(childId).fetchHistory()).events ?? [];
      const activities = childEvents.filter((e) => e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED).length;
      const last = steps.at(-1);
      if (last !== undefined && 'children' in last && last.activities === activities) last.children++;
      else steps.push({ children: 1, activities });
    }
  }
  return { steps, events: events.length, bytes: proto.temporal.api.history.v1.History.encode(history).finish().length };
}

const describe = (steps: readonly TwinStep[]) =>
  `${steps.filter((s) => 'activity' in s).length} activities and ${steps.flatMap((s) => ('children' in s ? [`${s.children} child workflows of ${s.activities} activities`] : [])).join(', ') || 'no children'}`;

async function main(): Promise<void> {
  const example = parse(await readFile(join(PROJECT_ROOT, 'examples/sim-seed.yaml'), 'utf8')) as DeploymentSpecInput;
  const env = await TestWorkflowEnvironment.createLocal({
    server: { executable: { type: 'existing-path', path: join(PROJECT_ROOT, '.tools/bin/temporal') }, ip: '127.0.0.1', searchAttributes: SEARCH_ATTRIBUTES },
  });
  const stateDir = await mkdtemp(join(tmpdir(), 'bench-'));
  const pipelineWorker = await createPipelineWorker({ connection: env.nativeConnection, namespace: 'default', target: 'sim', stateDir, taskQueue: 'bench' });
  const twinWorker = await Worker.create({
    connection: env.nativeConnection,
    namespace: 'default',
    taskQueue: 'bench-twin',
    workflowsPath: join(PROJECT_ROOT, 'bench/noop-twin/workflows.ts'),
    activities: { noop: async () => {} },
    ...WORKER_SLOTS,
  });
  const running = Promise.all([pipelineWorker.run(), twinWorker.run()]);
  const server = await serverPid();
  const specFor = (id: string) => ({ ...structuredClone(example), project: `bench-${id}`, bucket: `gs://bench-${id}`, simulation: { speed: 0, faults: [], regression: 0 } });
  const startPipeline = (id: string) => env.client.workflow.start('deployTriton', { workflowId: `bench/${id}`, taskQueue: 'bench', args: [{ spec: specFor(id) }] });
  const rows: { n: number; pipeline: Batch; twin: Batch }[] = [];
  let shape: Awaited<ReturnType<typeof shapeOf>>;
  let twinShape: Awaited<ReturnType<typeof shapeOf>>;
  try {
    // One pipeline first: its history is the twin's shape (and both workers are warm).
    await (await startPipeline('shape')).result();
    shape = await shapeOf(env.client.workflow, 'bench/shape');
    const startTwin = (id: string) => env.client.workflow.start('noopPipeline', { workflowId: `twin/${id}`, taskQueue: 'bench-twin', args: [{ steps: shape.steps, payload: { spec: specFor(id) } }] });
    await (await startTwin('shape')).result();
    twinShape = await shapeOf(env.client.workflow, 'twin/shape');
    console.log(`shape: ${describe(shape.steps)}; ${shape.events} events (${shape.bytes} bytes) against the twin's ${twinShape.events} (${twinShape.bytes} bytes)`);
    for (const n of sizes) {
      const twin = await batch(n, server, (i) => startTwin(`${n}-${i}`));
      const pipeline = await batch(n, server, (i) => startPipeline(`${n}-${i}`));
      rows.push({ n, pipeline, twin });
      console.log(`N=${n}: pipelines ${pipeline.wallS.toFixed(1)} s, twin ${twin.wallS.toFixed(1)} s`);
    }
  } finally {
    pipelineWorker.shutdown();
    twinWorker.shutdown();
    await running;
    await env.teardown();
  }
  const table = [
    '| N concurrent | pipeline p50 (ms) | no-op p50 (ms) | p50 ratio | pipeline max (ms) | pipelines/s | no-op/s | throughput ratio | peak RSS pipeline (MiB) | no-op (MiB) | RSS ratio | worker CPU per run, pipeline / no-op (ms) | server CPU per run, pipeline / no-op (ms) |',
    '|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...rows.map(
      ({ n, pipeline: p, twin: t }) =>
        `| ${n} | ${p.p50Ms.toFixed(0)} | ${t.p50Ms.toFixed(0)} | ${(p.p50Ms / t.p50Ms).toFixed(2)} | ${p.maxMs.toFixed(0)} | ${p.perS.toFixed(2)} | ${t.perS.toFixed(2)} | ${(p.perS / t.perS).toFixed(2)} | ${p.peakRssMiB.toFixed(0)} | ${t.peakRssMiB.toFixed(0)} | ${(p.peakRssMiB / t.peakRssMiB).toFixed(2)} | ${((p.workerCpuS / n) * 1000).toFixed(0)} / ${((t.workerCpuS / n) * 1000).toFixed(0)} | ${((p.serverCpuS / n) * 1000).toFixed(0)} / ${((t.serverCpuS / n) * 1000).toFixed(0)} |`,
    ),
  ].join('\n');
  const header =
    `Orchestration overhead on the sim target (simulated durations 0), one worker per workflow type in one process, local Temporal dev server, ${new Date().toISOString().slice(0, 10)}.\n` +
    `Each pipeline: the example spec, ${describe(shape.steps)}; its history ${shape.events} events, ${shape.bytes} bytes. ` +
    `The no-op twin: the same steps, each activity doing nothing, the pipeline's input as its payload; ${twinShape.events} events, ${twinShape.bytes} bytes. ` +
    `At each N the twin runs first, then the pipelines; ratios are pipeline / twin. RSS is the whole process's (both workers, the client and the simulated world).\n\n`;
  await mkdir(join(PROJECT_ROOT, 'bench/results'), { recursive: true });
  await writeFile(join(PROJECT_ROOT, 'bench/results/orchestration.md'), `${header}${table}\n`);
  console.log(`\n${table}`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
