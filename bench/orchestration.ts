/**
 * Orchestration overhead: full pipelines on the sim target with zero simulated durations, so the
 * time measured is Temporal + worker + activity code, not simulated work; against no-op twins of
 * the same shape (bench/noop-twin: the pipeline's activities in order and its child workflows, each
 * activity doing nothing; the sized twin with the pipeline's payload sizes), in the same process
 * and on the same server, one after the other at each N. N pipelines run concurrently on one worker (N = 1, 10, 50, 200, 500 by default; BENCH_N=1,10
 * to change). Writes bench/results/orchestration.md. Run: npm run bench
 */
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { createServer, type AddressInfo } from 'node:net';
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
import type { ChildShape, TwinStep } from './noop-twin/workflows.js';

Runtime.install({ logger: new DefaultLogger('ERROR') });

const sizes = (process.env['BENCH_N'] ?? '1,10,50,200,500').split(',').map(Number);

interface Batch {
  /** Requests the server handled during the batch, per service and operation. */
  requests: Map<string, number>;
  wallS: number;
  /** CPU seconds of this process (workers, client, simulated world), by thread, and of the Temporal server. */
  workerCpuS: number;
  threadCpuS: ThreadCpuS;
  serverCpuS: number;
  p50Ms: number;
  perS: number;
  peakRssMiB: number;
  /** RSS when the batch started: what the batches before it left (V8 keeps what its heaps grew to). */
  startRssMiB: number;
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/**
 * CPU seconds (user + system) of a /proc stat file: a process's, or one thread's; 0 once it is gone.
 * Read synchronously: /proc/thread-self is the thread that reads it.
 */
function cpuS(statFile: string): number {
  let stat: string;
  try {
    stat = readFileSync(statFile, 'utf8');
  } catch {
    return 0;
  }
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

const processCpuS = (pid: number) => cpuS(`/proc/${pid}/stat`);

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

/** The dev server's request counters (service_requests), per service and operation. */
async function serverRequests(metricsUrl: string): Promise<Map<string, number>> {
  const text = await (await fetch(metricsUrl)).text();
  const counts = new Map<string, number>();
  for (const match of text.matchAll(/^service_requests\{[^}]*operation="([^"]+)"[^}]*service_name="([^"]+)"[^}]*\} (\d+)$/gm)) {
    const key = `${match[2]} ${match[1]}`;
    counts.set(key, (counts.get(key) ?? 0) + Number(match[3]));
  }
  return counts;
}

/** The request counters once they stop moving: the server counts a batch's last requests after its results reach the client. */
async function settledRequests(metricsUrl: string): Promise<Map<string, number>> {
  let last = await serverRequests(metricsUrl);
  for (let wait = 0; wait < 20; wait++) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    const now = await serverRequests(metricsUrl);
    if ([...now].every(([key, count]) => last.get(key) === count)) return now;
    last = now;
  }
  return last;
}

/** N workflows at once; each one's time from start to result, the batch's wall time, CPU, peak RSS and server requests. */
async function batch(n: number, server: Server, workflowThreads: readonly string[], start: (i: number) => Promise<{ result(): Promise<unknown> }>): Promise<Batch> {
  (globalThis as { gc?: () => void }).gc?.();
  const requestsBefore = await settledRequests(server.metricsUrl);
  const startRss = process.memoryUsage().rss;
  let peakRss = startRss;
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
  return { requests, wallS: wall / 1000, workerCpuS: (cpu.user + cpu.system) / 1e6, threadCpuS: threads, serverCpuS, p50Ms: percentile(durations, 50), perS: n / (wall / 1000), peakRssMiB: peakRss / 2 ** 20, startRssMiB: startRss / 2 ** 20 };
}

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

interface Server {
  pid: number;
  metricsUrl: string;
}

/** A port nothing listens on now. */
async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

/** Per run, the server requests of a batch whose count differs from the twin's by at least 0.5, biggest first. */
function requestDifferences(pipeline: Batch, twin: Batch, n: number): string {
  const keys = new Set([...pipeline.requests.keys(), ...twin.requests.keys()]);
  return [...keys]
    .map((key) => ({ key, pipeline: (pipeline.requests.get(key) ?? 0) / n, twin: (twin.requests.get(key) ?? 0) / n }))
    .filter((r) => Math.abs(r.pipeline - r.twin) >= 0.5)
    .sort((a, b) => b.pipeline - b.twin - (a.pipeline - a.twin))
    .map((r) => `| ${r.key} | ${r.pipeline.toFixed(1)} | ${r.twin.toFixed(1)} |`)
    .join('\n');
}

async function main(): Promise<void> {
  const example = parse(await readFile(join(PROJECT_ROOT, 'examples/sim-seed.yaml'), 'utf8')) as DeploymentSpecInput;
  const metricsPort = await freePort();
  const env = await TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'existing-path', path: join(PROJECT_ROOT, '.tools/bin/temporal') },
      ip: '127.0.0.1',
      searchAttributes: SEARCH_ATTRIBUTES,
      extraArgs: ['--metrics-port', String(metricsPort)],
    },
  });
  const stateDir = await mkdtemp(join(tmpdir(), 'bench-'));
  const { created: pipelineWorker, threads: pipelineThreads } = await threadsStartedBy(() =>
    createPipelineWorker({ connection: env.nativeConnection, namespace: 'default', target: 'sim', stateDir, taskQueue: 'bench' }),
  );
  const { created: twinWorker, threads: twinThreads } = await threadsStartedBy(() =>
    Worker.create({
      connection: env.nativeConnection,
      namespace: 'default',
      taskQueue: 'bench-twin',
      workflowsPath: join(PROJECT_ROOT, 'bench/noop-twin/workflows.ts'),
      activities: { noop: async (_name: string, _input: string, resultBytes: number) => 'x'.repeat(resultBytes) },
      ...WORKER_SLOTS,
    }),
  );
  const running = Promise.all([pipelineWorker.run(), twinWorker.run()]);
  const server: Server = { pid: await serverPid(), metricsUrl: `http://127.0.0.1:${metricsPort}/metrics` };
  const specFor = (id: string) => ({ ...structuredClone(example), project: `bench-${id}`, bucket: `gs://bench-${id}`, simulation: { speed: 0, faults: [], regression: 0 } });
  const startPipeline = (id: string) => env.client.workflow.start('deployTriton', { workflowId: `bench/${id}`, taskQueue: 'bench', args: [{ spec: specFor(id) }] });
  const rows: { n: number; pipeline: Batch; twin: Batch; sized: Batch }[] = [];
  let shape: Shape;
  let twinShape: Shape;
  let sizedShape: Shape;
  try {
    // One pipeline first: its history is the twins' shape (and both workers are warm).
    await (await startPipeline('shape')).result();
    shape = await shapeOf(env.client.workflow, 'bench/shape');
    const twinOf = (of: Shape, prefix: string) => (id: string) =>
      env.client.workflow.start('noopPipeline', { workflowId: `${prefix}/${id}`, taskQueue: 'bench-twin', args: [{ steps: of.steps, payload: { spec: specFor(id) }, resultBytes: of.resultBytes }] });
    const startTwin = twinOf(bare(shape), 'twin');
    const startSized = twinOf(shape, 'sized');
    await (await startTwin('shape')).result();
    await (await startSized('shape')).result();
    twinShape = await shapeOf(env.client.workflow, 'twin/shape');
    sizedShape = await shapeOf(env.client.workflow, 'sized/shape');
    console.log(`shape: ${describe(shape.steps)}; ${shape.events} events (${shape.bytes} bytes); twin ${twinShape.events} (${twinShape.bytes} bytes); sized twin ${sizedShape.events} (${sizedShape.bytes} bytes)`);
    for (const n of sizes) {
      const twin = await batch(n, server, twinThreads, (i) => startTwin(`${n}-${i}`));
      const sized = await batch(n, server, twinThreads, (i) => startSized(`${n}-${i}`));
      const pipeline = await batch(n, server, pipelineThreads, (i) => startPipeline(`${n}-${i}`));
      rows.push({ n, pipeline, twin, sized });
      console.log(
        `N=${n}: pipelines ${pipeline.wallS.toFixed(1)} s, twin ${twin.wallS.toFixed(1)} s, sized twin ${sized.wallS.toFixed(1)} s; ` +
          `RSS at start / peak: twin ${twin.startRssMiB.toFixed(0)} / ${twin.peakRssMiB.toFixed(0)}, sized ${sized.startRssMiB.toFixed(0)} / ${sized.peakRssMiB.toFixed(0)}, pipelines ${pipeline.startRssMiB.toFixed(0)} / ${pipeline.peakRssMiB.toFixed(0)} MiB`,
      );
    }
  } finally {
    pipelineWorker.shutdown();
    twinWorker.shutdown();
    await running;
    await env.teardown();
  }
  const ms = (b: Batch, n: number, cpu: 'workerCpuS' | 'serverCpuS') => ((b[cpu] / n) * 1000).toFixed(0);
  const table = [
    '| N concurrent | pipeline p50 (ms) | no-op p50 (ms) | p50 ratio | pipelines/s | no-op/s | sized no-op/s | throughput ratio (sized) | peak RSS pipeline (MiB) | no-op (MiB) | RSS ratio | worker CPU per run: pipeline / no-op / sized (ms) | server CPU per run: pipeline / no-op / sized (ms) |',
    '|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...rows.map(
      ({ n, pipeline: p, twin: t, sized: z }) =>
        `| ${n} | ${p.p50Ms.toFixed(0)} | ${t.p50Ms.toFixed(0)} | ${(p.p50Ms / t.p50Ms).toFixed(2)} | ${p.perS.toFixed(2)} | ${t.perS.toFixed(2)} | ${z.perS.toFixed(2)} | ${(p.perS / t.perS).toFixed(2)} (${(p.perS / z.perS).toFixed(2)}) | ${p.peakRssMiB.toFixed(0)} | ${t.peakRssMiB.toFixed(0)} | ${(p.peakRssMiB / t.peakRssMiB).toFixed(2)} | ${ms(p, n, 'workerCpuS')} / ${ms(t, n, 'workerCpuS')} / ${ms(z, n, 'workerCpuS')} | ${ms(p, n, 'serverCpuS')} / ${ms(t, n, 'serverCpuS')} / ${ms(z, n, 'serverCpuS')} |`,
    ),
  ].join('\n');
  const header =
    `Orchestration overhead on the sim target (simulated durations 0), one worker per workflow type in one process, local Temporal dev server, ${new Date().toISOString().slice(0, 10)}.\n` +
    `Each pipeline: the example spec, ${describe(shape.steps)}; its history ${shape.events} events, ${shape.bytes} bytes. ` +
    `The no-op twin: the same steps, each activity doing nothing, the pipeline's input as its payload; ${twinShape.events} events, ${twinShape.bytes} bytes. ` +
    `The sized twin: the same, with the pipeline's payload sizes (every activity's input and result, every child's, the run's result); ${sizedShape.events} events, ${sizedShape.bytes} bytes. ` +
    `At each N the twin runs first, then the sized twin, then the pipelines; ratios are pipeline / twin (in brackets: / sized twin). RSS is the whole process's (both workers, the client and the simulated world).\n\n`;
  await mkdir(join(PROJECT_ROOT, 'bench/results'), { recursive: true });
  const largest = rows.at(-1)!;
  const perRun = (b: Batch, n: number) => (['main', 'workflow', 'other'] as const).map((thread) => ((b.threadCpuS[thread] / n) * 1000).toFixed(0)).join(' / ');
  const threads =
    `\n\nThe worker process's CPU per run by thread (ms): main (activities, the simulated world, the client) / workflow thread / other (V8's GC and compiler threads, the SDK's core, libuv's pool):\n\n` +
    '| N concurrent | pipeline | no-op twin | sized twin |\n|---:|---:|---:|---:|\n' +
    rows.map(({ n, pipeline, twin, sized }) => `| ${n} | ${perRun(pipeline, n)} | ${perRun(twin, n)} | ${perRun(sized, n)} |`).join('\n');
  const requests =
    `\n\nServer requests per run at N = ${largest.n} where the pipeline's differ from the twin's (service_requests of the dev server's metrics, per service and operation):\n\n` +
    `| request | pipeline | no-op twin |\n|---|---:|---:|\n${requestDifferences(largest.pipeline, largest.twin, largest.n)}`;
  await writeFile(join(PROJECT_ROOT, 'bench/results/orchestration.md'), `${header}${table}${threads}${requests}\n`);
  console.log(`\n${table}${threads}${requests}`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
