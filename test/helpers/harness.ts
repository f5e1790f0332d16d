/**
 * The integration harness: one real Temporal dev server and one sim worker per test file, and
 * helpers to start runs and inspect the simulated world.
 */
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { WorkflowFailedError, type WorkflowHandle, type WorkflowHandleWithFirstExecutionRunId } from '@temporalio/client';
import proto from '@temporalio/proto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Worker, WorkflowBundle } from '@temporalio/worker';
import { applicationFailureIn } from '../../src/ports/errors.js';
import { deploymentWorkflowId } from '../../src/plan/ids.js';
import type { DeploymentSpecInput } from '../../src/spec/schema.js';
import { createSimWorld } from '../../src/sim/world.js';
import { validateSpec } from '../../src/spec/validate.js';
import { createPipelineWorker } from '../../src/worker.js';
import type { deployTriton } from '../../src/workflows/deploy.js';
import type { readReleaseRecord } from '../../src/workflows/record.js';
import { releaseKeyOf, type ReleaseRecord } from '../../src/release/record.js';
import { specWith } from './specs.js';
import { bundleWorkflows, HISTORY_FIXTURES, startTemporal, startTogether, unique } from './temporal.js';
import { tempDir } from './temp-dir.js';

export let env: TestWorkflowEnvironment;
let bundle: WorkflowBundle;
export let stateDir: string;
let worker: Worker;
let running: Promise<void>;
export const TASK_QUEUE = 'triton-pipeline-sim';

/** A spec for one test: its own project (so its own world and workflow ID), instant simulated time. */
export function testSpec(change: (spec: DeploymentSpecInput) => void = () => undefined): DeploymentSpecInput {
  return specWith((spec) => {
    spec.project = unique('p').slice(0, 30).replace(/-+$/, '');
    spec.bucket = `gs://${spec.project}`;
    spec.simulation = { speed: 0, faults: [], regression: 0 };
    change(spec);
  });
}

export function workflowIdOf(spec: DeploymentSpecInput): string {
  const result = validateSpec(spec);
  assert.ok(result.ok);
  return deploymentWorkflowId(result.spec);
}

export function start(spec: DeploymentSpecInput, taskQueue = TASK_QUEUE): Promise<WorkflowHandleWithFirstExecutionRunId<typeof deployTriton>> {
  return env.client.workflow.start<typeof deployTriton>('deployTriton', { workflowId: workflowIdOf(spec), taskQueue, args: [{ spec }] });
}

export async function failureOf(promise: Promise<unknown>): Promise<NonNullable<ReturnType<typeof applicationFailureIn>>> {
  const error = await promise.then(
    () => assert.fail('expected the run to fail'),
    (e: unknown) => e,
  );
  assert.ok(error instanceof WorkflowFailedError, String(error));
  const failure = applicationFailureIn(error);
  assert.ok(failure, String(error.cause));
  return failure;
}

export async function activityAttempts(handle: WorkflowHandle, activityType: string): Promise<number[]> {
  const history = await handle.fetchHistory();
  const scheduled = new Map<string, string>();
  const attempts: number[] = [];
  for (const event of history.events ?? []) {
    if (event.activityTaskScheduledEventAttributes) {
      scheduled.set(String(event.eventId), event.activityTaskScheduledEventAttributes.activityType?.name ?? '');
    }
    const started = event.activityTaskStartedEventAttributes;
    if (started && scheduled.get(String(started.scheduledEventId)) === activityType) attempts.push(started.attempt ?? 0);
  }
  return attempts;
}

export async function waitFor<T>(probe: () => Promise<T | undefined>, what: string): Promise<T> {
  for (let i = 0; i < 600; i++) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

export const world = () => createSimWorld({ stateDir: join(stateDir, 'sim') });

/** What the simulated world holds for one test's project and bucket. */
export async function inspect(spec: DeploymentSpecInput) {
  const snapshot = await world().snapshot(spec.project);
  const cluster = snapshot.clusters[0];
  return {
    clusters: snapshot.clusters.length,
    nodePools: cluster?.nodePools ?? [],
    kubeObjects: cluster?.objects ?? [],
    releases: cluster?.releases ?? [],
    bucketObjects: snapshot.objects.filter((uri) => uri.startsWith(`${spec.bucket}/`)),
  };
}

/** The release record of a spec's release, read as `status` reads it: through the worker. */
export async function readRecord(spec: DeploymentSpecInput, taskQueue = TASK_QUEUE): Promise<ReleaseRecord> {
  const result = validateSpec(spec);
  assert.ok(result.ok);
  const key = releaseKeyOf(result.spec);
  return env.client.workflow.execute<typeof readReleaseRecord>('readReleaseRecord', {
    workflowId: unique('record'),
    taskQueue,
    args: [{ target: result.spec.target, bucket: result.spec.bucket, key }],
  });
}

/** Registers the file's before/after hooks. */
export function useHarness(): void {
  before(async () => {
  await startTogether([startTemporal(), bundleWorkflows(), tempDir('pipeline-it')], (s) => ([env, bundle, stateDir] = s as [typeof env, typeof bundle, typeof stateDir]));
  worker = await createPipelineWorker({
    connection: env.nativeConnection,
    namespace: env.namespace ?? 'default',
    target: 'sim',
    stateDir,
    taskQueue: TASK_QUEUE,
    workflowBundle: bundle,
  });
  running = worker.run();
});

after(async () => {
  worker?.shutdown();
  await running;
  await env?.teardown();
});
}

/** With RECORD_HISTORIES=1, saves a finished run's history as a replay fixture. */
export async function recordHistory(name: string, handle: WorkflowHandle): Promise<void> {
  if (process.env['RECORD_HISTORIES'] !== '1') return;
  await mkdir(HISTORY_FIXTURES, { recursive: true });
  const history = await handle.fetchHistory();
  const encoded = Buffer.from(proto.temporal.api.history.v1.History.encode(history).finish()).toString('base64');
  await writeFile(join(HISTORY_FIXTURES, `${name}.json`), `${JSON.stringify({ workflowId: handle.workflowId, history: encoded }, null, 1)}\n`);
}
