/**
 * What a cached pipeline run holds in the workflow thread's heap: heap snapshots of the SDK's
 * workflow thread with no run in it and with N runs parked at their approval gate (sim target,
 * simulated durations 0), compared by V8 node type. Writes bench/results/workflow-heap.md.
 *
 *   npx tsx bench/workflow-heap.ts [N]      (default 50)
 *
 * The SDK does not expose its workflow thread, so the script records the worker_threads Workers
 * created while the pipeline worker starts (the SDK's one workflow thread with a reusable V8 context).
 */
import workerThreads from 'node:worker_threads';
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { text } from 'node:stream/consumers';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { parse } from 'yaml';
import { PROJECT_ROOT } from '../src/assets.js';
import type { DeploymentSpecInput } from '../src/spec/schema.js';
import { SEARCH_ATTRIBUTES } from '../src/temporal/search-attributes.js';
import { createPipelineWorker } from '../src/worker.js';

const threads: workerThreads.Worker[] = [];
const SdkWorker = workerThreads.Worker;
(workerThreads as { Worker: unknown }).Worker = class RecordedWorker extends SdkWorker {
  constructor(...args: ConstructorParameters<typeof SdkWorker>) {
    super(...args);
    threads.push(this);
  }
};

interface HeapSnapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[]] } };
  nodes: number[];
  strings: string[];
}

/** Self sizes by V8 node type and, for objects, constructor name. */
function sizesByKind(heap: HeapSnapshot): Map<string, { bytes: number; count: number }> {
  const fields = heap.snapshot.meta.node_fields;
  const [type, name, size] = ['type', 'name', 'self_size'].map((f) => fields.indexOf(f)) as [number, number, number];
  const kinds = new Map<string, { bytes: number; count: number }>();
  for (let i = 0; i < heap.nodes.length; i += fields.length) {
    const nodeType = heap.snapshot.meta.node_types[0][heap.nodes[i + type]!]!;
    const kind = nodeType === 'object' || nodeType === 'array' ? `${nodeType} ${heap.strings[heap.nodes[i + name]!]!.slice(0, 40)}` : nodeType;
    const entry = kinds.get(kind) ?? { bytes: 0, count: 0 };
    entry.bytes += heap.nodes[i + size]!;
    entry.count += 1;
    kinds.set(kind, entry);
  }
  return kinds;
}

async function workflowThreadHeap(): Promise<Map<string, { bytes: number; count: number }>> {
  if (threads.length !== 1) throw new Error(`expected the SDK's one workflow thread, found ${threads.length}`);
  return sizesByKind(JSON.parse(await text(await threads[0]!.getHeapSnapshot())) as HeapSnapshot);
}

async function main(): Promise<void> {
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  const n = Number(process.argv[2] ?? 50);
  const example = parse(await readFile(join(PROJECT_ROOT, 'examples/sim-seed.yaml'), 'utf8')) as DeploymentSpecInput;
  const env = await TestWorkflowEnvironment.createLocal({
    server: { executable: { type: 'existing-path', path: join(PROJECT_ROOT, '.tools/bin/temporal') }, ip: '127.0.0.1', searchAttributes: SEARCH_ATTRIBUTES },
  });
  const worker = await createPipelineWorker({ connection: env.nativeConnection, namespace: 'default', target: 'sim', stateDir: await mkdtemp(join(tmpdir(), 'heap-')), taskQueue: 'heap' });
  const running = worker.run();
  const specFor = (id: string, approval: boolean): DeploymentSpecInput => ({
    ...structuredClone(example),
    project: `heap-${id}`,
    bucket: `gs://heap-${id}`,
    simulation: { speed: 0, faults: [], regression: 0 },
    ...(approval ? { approval: { required: true } } : {}),
  });
  const start = (id: string, approval: boolean) => env.client.workflow.start('deployTriton', { workflowId: `heap/${id}`, taskQueue: 'heap', args: [{ spec: specFor(id, approval) }] });
  try {
    // One run to the end first, so the thread has loaded the bundle and its shared modules.
    await (await start('warm', false)).result();
    const idle = await workflowThreadHeap();
    const handles = await Promise.all(Array.from({ length: n }, (_, i) => start(String(i), true)));
    // Parked: every run's history stops growing (waiting for approval, with no activity pending).
    let lengths = '';
    for (let waited = 0; ; waited += 2) {
      await new Promise((resolve) => setTimeout(resolve, 2000));
      const described = await Promise.all(handles.map((h) => h.describe()));
      const now = described.map((d) => d.historyLength).join(',');
      if (now === lengths && described.every((d) => d.status.name === 'RUNNING' && (d.raw.pendingActivities ?? []).length === 0)) break;
      if (waited > 600) throw new Error(`the ${n} runs did not all come to rest at their approval`);
      lengths = now;
    }
    const parked = await workflowThreadHeap();
    await Promise.all(handles.map((h) => h.terminate('heap measured')));
    const perRun = [...parked]
      .map(([kind, { bytes, count }]) => ({ kind, bytes: (bytes - (idle.get(kind)?.bytes ?? 0)) / n, count: (count - (idle.get(kind)?.count ?? 0)) / n }))
      .sort((a, b) => b.bytes - a.bytes);
    const total = (m: Map<string, { bytes: number }>) => [...m.values()].reduce((sum, k) => sum + k.bytes, 0);
    const rows = perRun.slice(0, 12).map((k) => `| ${k.kind} | ${(k.bytes / 1024).toFixed(1)} | ${k.count.toFixed(0)} |`);
    const report =
      `The workflow thread's live heap (V8 heap snapshots) with no run in it and with ${n} pipeline runs parked at their approval gate, sim target, ${new Date().toISOString().slice(0, 10)}: ` +
      `${(total(idle) / 2 ** 20).toFixed(1)} MiB and ${(total(parked) / 2 ** 20).toFixed(1)} MiB, so ${((total(parked) - total(idle)) / n / 1024).toFixed(0)} KiB per parked run. Per run, by V8 node type:\n\n` +
      `| node type | KiB per run | nodes per run |\n|---|---:|---:|\n${rows.join('\n')}\n`;
    await mkdir(join(PROJECT_ROOT, 'bench/results'), { recursive: true });
    await writeFile(join(PROJECT_ROOT, 'bench/results/workflow-heap.md'), report);
    console.log(report);
  } finally {
    worker.shutdown();
    await running;
    await env.teardown();
  }
}

await main();
