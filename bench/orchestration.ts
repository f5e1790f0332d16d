/**
 * Orchestration overhead: full pipelines on the sim target with zero simulated durations, so the
 * time measured is Temporal + worker + activity code, not simulated work; against no-op twins of
 * the same shape (bench/noop-twin: the pipeline's activities in order and its child workflows, each
 * activity doing nothing; the sized twin with the pipeline's payload sizes), in the same process
 * and on the same dev server build: at each N two batches of each, in the order twin, sized twin,
 * pipelines, pipelines, sized twin, twin, each batch on a fresh server with a fresh worker. N
 * workflows run concurrently on one worker (N = 1, 10, 50, 200, 500 by default; BENCH_N=1,10 to
 * change). Writes bench/results/orchestration.md. Run: npm run bench
 */
import { mkdir, mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { WorkflowClient } from '@temporalio/client';
import proto from '@temporalio/proto';
import { bundleWorkflowCode, DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { parse } from 'yaml';
import { PROJECT_ROOT } from '../src/assets.js';
import type { DeploymentSpecInput } from '../src/spec/schema.js';
import { WORKFLOW_BUNDLER_OPTIONS } from '../src/temporal/workflow-bundle.js';
import { createPipelineWorker, WORKER_SLOTS } from '../src/worker.js';
import { cpuS, processCpuS, type Server, settledRequests, startServer } from './dev-server.js';
import type { ChildShape, TwinStep } from './noop-twin/workflows.js';

Runtime.install({ logger: new DefaultLogger('ERROR') });

const sizes = (process.env['BENCH_N'] ?? '1,10,50,200,500').split(',').map(Number);

interface Batch {
  runs: number;
  /** Each run's time from start to result. */
  durationsMs: number[];
  /** Requests the server handled during the batch, per service and operation. */
  requests: Map<string, number>;
  wallS: number;
  /** CPU seconds of this process (workers, client, simulated world), by thread, and of the Temporal server. */
  workerCpuS: number;
  threadCpuS: ThreadCpuS;
  serverCpuS: number;
  peakRssMiB: number;
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** This process's threads now, by ID. */
const threadIds = async () => new Set(await readdir('/proc/self/task'));

/** The threads `create` starts (a worker's workflow threads, which the SDK starts in Worker.create). */
async function threadsStartedBy<T>(create: () => Promise<T>): Promise<{ created: T; threads: string[] }> {
  const before = await threadIds();
  const created = await create();
  return { created, threads: [...(await threadIds())].filter((id) => !before.has(id)) };
}

/** This process's CPU seconds by thread: the main thread (activities, the simulated world, the client), the workers' workflow threads, and the rest (V8's GC and compiler threads, the SDK's Rust core, libuv's pool). */
interface ThreadCpuS {
  main: number;
  workflow: number;
  other: number;
}

function threadCpuS(workflowThreads: readonly string[]): ThreadCpuS {
  const main = cpuS('/proc/thread-self/stat');
  const workflow = workflowThreads.reduce((sum, id) => sum + cpuS(`/proc/self/task/${id}/stat`), 0);
  return { main, workflow, other: processCpuS(process.pid) - main - workflow };
}

/** N workflows at once; each one's time from start to result, the batch's wall time, CPU, peak RSS and server requests. */
async function batch(n: number, server: Server, workflowThreads: readonly string[], start: (i: number) => Promise<{ result(): Promise<unknown> }>): Promise<Batch> {
  (globalThis as { gc?: () => void }).gc?.();
  const requestsBefore = await settledRequests(server.metricsUrl);
  let peakRss = process.memoryUsage().rss;
  const cpuBefore = process.cpuUsage();
  const threadsBefore = threadCpuS(workflowThreads);
  const serverBefore = processCpuS(server.pid);
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
  const threadsAfter = threadCpuS(workflowThreads);
  const threads = { main: threadsAfter.main - threadsBefore.main, workflow: threadsAfter.workflow - threadsBefore.workflow, other: threadsAfter.other - threadsBefore.other };
  const serverCpuS = processCpuS(server.pid) - serverBefore;
  const requests = new Map([...(await settledRequests(server.metricsUrl))].map(([key, count]) => [key, count - (requestsBefore.get(key) ?? 0)]));
  return { runs: n, durationsMs: durations, requests, wallS: wall / 1000, workerCpuS: (cpu.user + cpu.system) / 1e6, threadCpuS: threads, serverCpuS, peakRssMiB: peakRss / 2 ** 20 };
}

/** Two batches of one kind as one: their runs, time, CPU and requests added up, the higher peak RSS. */
function combined(a: Batch, b: Batch): Batch {
  const keys = new Set([...a.requests.keys(), ...b.requests.keys()]);
  return {
    runs: a.runs + b.runs,
    durationsMs: [...a.durationsMs, ...b.durationsMs],
    requests: new Map([...keys].map((key) => [key, (a.requests.get(key) ?? 0) + (b.requests.get(key) ?? 0)])),
    wallS: a.wallS + b.wallS,
    workerCpuS: a.workerCpuS + b.workerCpuS,
    threadCpuS: { main: a.threadCpuS.main + b.threadCpuS.main, workflow: a.threadCpuS.workflow + b.threadCpuS.workflow, other: a.threadCpuS.other + b.threadCpuS.other },
    serverCpuS: a.serverCpuS + b.serverCpuS,
    peakRssMiB: Math.max(a.peakRssMiB, b.peakRssMiB),
  };
}

const p50Ms = (b: Batch) => percentile(b.durationsMs, 50);
const perS = (b: Batch) => b.runs / b.wallS;

type Payloads = { payloads?: Array<{ data?: Uint8Array | null }> | null } | null | undefined;
const bytesOf = (p: Payloads) => (p?.payloads ?? []).reduce((n, payload) => n + (payload.data?.length ?? 0), 0);

interface Shape {
  steps: TwinStep[];
  resultBytes: number;
  events: number;
  bytes: number;
}

/** A run's shape from its history: its activities in order with their payload sizes, its children where it starts them. */
async function shapeOf(client: WorkflowClient, workflowId: string): Promise<Shape> {
  const history = await client.getHandle(workflowId).fetchHistory();
  const events = history.events ?? [];
  const results = new Map<number, number>();
  for (const e of events) {
    if (e.activityTaskCompletedEventAttributes) results.set(Number(e.activityTaskCompletedEventAttributes.scheduledEventId), bytesOf(e.activityTaskCompletedEventAttributes.result));
  }
  const steps: TwinStep[] = [];
  let startedChildren = false;
  for (const event of events) {
    const scheduled = event.activityTaskScheduledEventAttributes;
    const child = event.startChildWorkflowExecutionInitiatedEventAttributes;
    if (scheduled) {
      steps.push({ activity: scheduled.activityType!.name!, inputBytes: bytesOf(scheduled.input), resultBytes: results.get(Number(event.eventId)) ?? 0 });
      startedChildren = false;
    } else if (child) {
      const childShape = await shapeOf(client, child.workflowId!);
      const shape: ChildShape = {
        inputBytes: bytesOf(child.input),
        resultBytes: childShape.resultBytes,
        activities: childShape.steps.flatMap((s) => ('activity' in s ? [{ inputBytes: s.inputBytes, resultBytes: s.resultBytes }] : [])),
      };
      const last = steps.at(-1);
      if (startedChildren && last !== undefined && 'children' in last) last.children.push(shape);
      else steps.push({ children: [shape] });
      startedChildren = true;
    }
  }
  const completed = events.find((e) => e.workflowExecutionCompletedEventAttributes)?.workflowExecutionCompletedEventAttributes;
  return { steps, resultBytes: bytesOf(completed?.result), events: events.length, bytes: proto.temporal.api.history.v1.History.encode(history).finish().length };
}

/** The shape without its payloads: the bare twin. */
function bare(shape: Shape): Shape {
  const none = { inputBytes: 0, resultBytes: 0 };
  const steps = shape.steps.map((s): TwinStep => ('activity' in s ? { activity: s.activity, ...none } : { children: s.children.map((c) => ({ ...none, activities: c.activities.map(() => none) })) }));
  return { ...shape, steps, resultBytes: 0 };
}

const describe = (steps: readonly TwinStep[]) =>
  `${steps.filter((s) => 'activity' in s).length} activities and ${steps.flatMap((s) => ('children' in s ? [`${s.children.length} child workflows of ${s.children[0]!.activities.length} activities`] : [])).join(', ') || 'no children'}`;

/** Per run, the server requests of a batch whose count differs from the twin's by at least 0.5, biggest first. */
function requestDifferences(pipeline: Batch, twin: Batch): string {
  const keys = new Set([...pipeline.requests.keys(), ...twin.requests.keys()]);
  return [...keys]
    .map((key) => ({ key, pipeline: (pipeline.requests.get(key) ?? 0) / pipeline.runs, twin: (twin.requests.get(key) ?? 0) / twin.runs }))
    .filter((r) => Math.abs(r.pipeline - r.twin) >= 0.5)
    .sort((a, b) => b.pipeline - b.twin - (a.pipeline - a.twin))
    .map((r) => `| ${r.key} | ${r.pipeline.toFixed(1)} | ${r.twin.toFixed(1)} |`)
    .join('\n');
}

/** The kinds of run the bench compares. */
type Kind = 'pipeline' | 'twin' | 'sized';

const quiet = { info: () => undefined, warn: console.warn, error: console.error, debug: () => undefined, trace: () => undefined, log: () => undefined };

async function main(): Promise<void> {
  const example = parse(await readFile(join(PROJECT_ROOT, 'examples/sim-seed.yaml'), 'utf8')) as DeploymentSpecInput;
  const stateDir = await mkdtemp(join(tmpdir(), 'bench-'));
  const pipelineBundle = await bundleWorkflowCode({ workflowsPath: join(PROJECT_ROOT, 'src/workflows/index.ts'), ...WORKFLOW_BUNDLER_OPTIONS, logger: quiet });
  const twinBundle = await bundleWorkflowCode({ workflowsPath: join(PROJECT_ROOT, 'bench/noop-twin/workflows.ts'), logger: quiet });
  const specFor = (id: string) => ({ ...structuredClone(example), project: `bench-${id}`, bucket: `gs://bench-${id}`, simulation: { speed: 0, faults: [], regression: 0 } });

  /** Runs `use` on a fresh server with a fresh worker for the kind, whose workflow threads it names. */
  async function withWorker<T>(kind: Kind, use: (client: WorkflowClient, threads: string[], server: Server) => Promise<T>): Promise<T> {
    const { env, server } = await startServer();
    const { created: worker, threads } = await threadsStartedBy(() =>
      kind === 'pipeline'
        ? createPipelineWorker({ connection: env.nativeConnection, namespace: 'default', target: 'sim', stateDir, taskQueue: 'bench', workflowBundle: pipelineBundle })
        : Worker.create({
            connection: env.nativeConnection,
            namespace: 'default',
            taskQueue: 'bench-twin',
            workflowBundle: twinBundle,
            activities: { noop: async (_name: string, _input: string, resultBytes: number) => 'x'.repeat(resultBytes) },
            ...WORKER_SLOTS,
          }),
    );
    const running = worker.run();
    try {
      return await use(env.client.workflow, threads, server);
    } finally {
      worker.shutdown();
      await running;
      await env.teardown();
    }
  }

  const startPipeline = (client: WorkflowClient, id: string) => client.start('deployTriton', { workflowId: `bench/${id}`, taskQueue: 'bench', args: [{ spec: specFor(id) }] });
  const twinOf = (of: Shape, prefix: string) => (client: WorkflowClient, id: string) =>
    client.start('noopPipeline', { workflowId: `${prefix}/${id}`, taskQueue: 'bench-twin', args: [{ steps: of.steps, payload: { spec: specFor(id) }, resultBytes: of.resultBytes }] });

  // One pipeline's history is the twins' shape.
  const shape = await withWorker('pipeline', async (client) => {
    await (await startPipeline(client, 'shape')).result();
    return shapeOf(client, 'bench/shape');
  });
  const starters: Record<Kind, (client: WorkflowClient, id: string) => Promise<{ result(): Promise<unknown> }>> = { pipeline: startPipeline, twin: twinOf(bare(shape), 'twin'), sized: twinOf(shape, 'sized') };
  const [twinShape, sizedShape] = await withWorker('twin', async (client) => {
    for (const kind of ['twin', 'sized'] as const) await (await starters[kind](client, 'shape')).result();
    return Promise.all([shapeOf(client, 'twin/shape'), shapeOf(client, 'sized/shape')]);
  });
  console.log(`shape: ${describe(shape.steps)}; ${shape.events} events (${shape.bytes} bytes); twin ${twinShape.events} (${twinShape.bytes} bytes); sized twin ${sizedShape.events} (${sizedShape.bytes} bytes)`);

  /** One batch of N runs of a kind on a fresh server and worker, after one run that warms the worker. */
  const measured = (kind: Kind, n: number, round: number) =>
    withWorker(kind, async (client, threads, server) => {
      await (await starters[kind](client, `${n}-${round}-warm`)).result();
      return batch(n, server, threads, (i) => starters[kind](client, `${n}-${round}-${i}`));
    });

  const rows: { n: number; pipeline: Batch; twin: Batch; sized: Batch }[] = [];
  for (const n of sizes) {
    const batches: Record<Kind, Batch[]> = { pipeline: [], twin: [], sized: [] };
    // Each batch on a server of its own: a server's cost per run grows with the runs it keeps, and a
    // batch's activity timeouts fire on it a minute later (bench/server-carryover.ts). Two batches of
    // each, the second round in the reverse order, so drift over the run falls on every kind alike.
    for (const [round, kind] of (['twin', 'sized', 'pipeline', 'pipeline', 'sized', 'twin'] as const).entries()) {
      batches[kind].push(await measured(kind, n, round));
    }
    const [pipeline, twin, sized] = (['pipeline', 'twin', 'sized'] as const).map((kind) => combined(batches[kind][0]!, batches[kind][1]!)) as [Batch, Batch, Batch];
    rows.push({ n, pipeline, twin, sized });
    const walls = (kind: Kind) => batches[kind].map((b) => b.wallS.toFixed(1)).join(' + ');
    console.log(`N=${n}: twin ${walls('twin')} s, sized twin ${walls('sized')} s, pipelines ${walls('pipeline')} s; peak RSS ${twin.peakRssMiB.toFixed(0)} / ${sized.peakRssMiB.toFixed(0)} / ${pipeline.peakRssMiB.toFixed(0)} MiB`);
  }
  const ms = (b: Batch, cpu: 'workerCpuS' | 'serverCpuS') => ((b[cpu] / b.runs) * 1000).toFixed(0);
  const table = [
    '| N concurrent | pipeline p50 (ms) | no-op p50 (ms) | p50 ratio | pipelines/s | no-op/s | sized no-op/s | throughput ratio (sized) | peak RSS pipeline (MiB) | no-op (MiB) | RSS ratio | worker CPU per run: pipeline / no-op / sized (ms) | server CPU per run: pipeline / no-op / sized (ms) |',
    '|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...rows.map(
      ({ n, pipeline: p, twin: t, sized: z }) =>
        `| ${n} | ${p50Ms(p).toFixed(0)} | ${p50Ms(t).toFixed(0)} | ${(p50Ms(p) / p50Ms(t)).toFixed(2)} | ${perS(p).toFixed(2)} | ${perS(t).toFixed(2)} | ${perS(z).toFixed(2)} | ${(perS(p) / perS(t)).toFixed(2)} (${(perS(p) / perS(z)).toFixed(2)}) | ${p.peakRssMiB.toFixed(0)} | ${t.peakRssMiB.toFixed(0)} | ${(p.peakRssMiB / t.peakRssMiB).toFixed(2)} | ${ms(p, 'workerCpuS')} / ${ms(t, 'workerCpuS')} / ${ms(z, 'workerCpuS')} | ${ms(p, 'serverCpuS')} / ${ms(t, 'serverCpuS')} / ${ms(z, 'serverCpuS')} |`,
    ),
  ].join('\n');
  const header =
    `Orchestration overhead on the sim target (simulated durations 0), one worker in this process and a local Temporal dev server for each batch, ${new Date().toISOString().slice(0, 10)}.\n` +
    `Each pipeline: the example spec, ${describe(shape.steps)}; its history ${shape.events} events, ${shape.bytes} bytes. ` +
    `The no-op twin: the same steps, each activity doing nothing, the pipeline's input as its payload; ${twinShape.events} events, ${twinShape.bytes} bytes. ` +
    `The sized twin: the same, with the pipeline's payload sizes (every activity's input and result, every child's, the run's result); ${sizedShape.events} events, ${sizedShape.bytes} bytes. ` +
    `At each N two batches of N runs of each kind, in the order twin, sized twin, pipelines, pipelines, sized twin, twin, each on a fresh dev server with a fresh worker after one warm-up run (a server's cost per run grows with the runs it keeps, and a batch's timeouts fire on it a minute later); each figure is of both batches. Ratios are pipeline / twin (in brackets: / sized twin). RSS is the whole process's (the batch's worker, the client and the simulated world), the higher of the two batches' peaks.\n\n`;
  await mkdir(join(PROJECT_ROOT, 'bench/results'), { recursive: true });
  const largest = rows.at(-1)!;
  const perRun = (b: Batch) => (['main', 'workflow', 'other'] as const).map((thread) => ((b.threadCpuS[thread] / b.runs) * 1000).toFixed(0)).join(' / ');
  const threads =
    `\n\nThe worker process's CPU per run by thread (ms): main (activities, the simulated world, the client) / workflow thread / other (V8's GC and compiler threads, the SDK's core, libuv's pool):\n\n` +
    '| N concurrent | pipeline | no-op twin | sized twin |\n|---:|---:|---:|---:|\n' +
    rows.map(({ n, pipeline, twin, sized }) => `| ${n} | ${perRun(pipeline)} | ${perRun(twin)} | ${perRun(sized)} |`).join('\n');
  const requests =
    `\n\nServer requests per run at N = ${largest.n} where the pipeline's differ from the twin's (service_requests of the dev server's metrics, per service and operation):\n\n` +
    `| request | pipeline | no-op twin |\n|---|---:|---:|\n${requestDifferences(largest.pipeline, largest.twin)}`;
  await writeFile(join(PROJECT_ROOT, 'bench/results/orchestration.md'), `${header}${table}${threads}${requests}\n`);
  console.log(`\n${table}${threads}${requests}`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
