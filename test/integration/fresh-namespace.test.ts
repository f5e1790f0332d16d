/**
 * A worker on a fresh namespace, which has none of the pipeline's search attributes (the dev
 * server of the other tests is started with them): the worker, started as `npm run worker` starts
 * it (src/worker.ts main), registers them itself, so its first deployment's upserts succeed.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Client } from '@temporalio/client';
import proto from '@temporalio/proto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { execa } from 'execa';
import { registerSearchAttributes } from '../../src/cli/temporal.js';
import { SEARCH_ATTRIBUTES, TRITON_TARGET } from '../../src/temporal/search-attributes.js';
import type { deployTriton } from '../../src/workflows/deploy.js';
import { recordHistory, testSpec, waitFor, workflowIdOf } from '../helpers/harness.js';
import { PROJECT_ROOT, startTemporal, startTogether, unique } from '../helpers/temporal.js';
import { tempDir } from '../helpers/temp-dir.js';

let env: TestWorkflowEnvironment;
let stateDir: string;

before(async () => {
  await startTogether([startTemporal(), tempDir('fresh-namespace')], (s) => ([env, stateDir] = s as [typeof env, typeof stateDir]));
});
after(async () => {
  await env?.teardown();
});

/** A namespace registered now: none of the pipeline's search attributes. */
async function freshNamespace(): Promise<string> {
  const namespace = unique('fresh');
  await env.connection.workflowService.registerNamespace({ namespace, workflowExecutionRetentionPeriod: proto.google.protobuf.Duration.fromObject({ seconds: 86_400 }) });
  await waitFor(() => env.connection.workflowService.describeNamespace({ namespace }).then(() => true), `namespace ${namespace}`);
  return namespace;
}

async function registered(namespace: string): Promise<string[]> {
  const { customAttributes } = await env.connection.operatorService.listSearchAttributes({ namespace });
  return SEARCH_ATTRIBUTES.map((key) => key.name).filter((name) => customAttributes?.[name] !== undefined);
}

describe('a worker on a fresh namespace', () => {
  it('registers the search attributes at start and runs a sim deployment to success', { timeout: 240_000 }, async () => {
    const namespace = await freshNamespace();
    assert.deepEqual(await registered(namespace), []);
    const taskQueue = unique('fresh');
    // Only this server's settings: none of the caller's Temporal variables or profiles (an empty config file).
    const callersTemporal = Object.fromEntries(Object.keys(process.env).filter((name) => name.startsWith('TEMPORAL_')).map((name) => [name, undefined]));
    const configFile = join(stateDir, `${taskQueue}.toml`);
    await writeFile(configFile, '');
    const worker = execa('node', ['--import', 'tsx', join(PROJECT_ROOT, 'src/worker.ts')], {
      cwd: PROJECT_ROOT,
      reject: false,
      all: true,
      env: { ...process.env, ...callersTemporal, TEMPORAL_CONFIG_FILE: configFile, TEMPORAL_ADDRESS: env.address, TEMPORAL_NAMESPACE: namespace, PIPELINE_TARGET: 'sim', PIPELINE_STATE_DIR: stateDir, PIPELINE_TASK_QUEUE: taskQueue },
    });
    try {
      const client = new Client({ connection: env.connection, namespace });
      const spec = testSpec();
      const handle = await client.workflow.start<typeof deployTriton>('deployTriton', { workflowId: workflowIdOf(spec), taskQueue, args: [{ spec }] });
      const exited = worker.then((r) => assert.fail(`the worker exited (${r.exitCode ?? r.signal}) before the run ended:\n${r.all}`));
      const result = await Promise.race([handle.result(), exited]);
      assert.equal(result.outcome, 'succeeded');
      assert.deepEqual(await registered(namespace), SEARCH_ATTRIBUTES.map((key) => key.name));
      assert.deepEqual((await handle.describe()).typedSearchAttributes.get(TRITON_TARGET), 'sim');
      const engine = result.engines.find((e) => e.model === 'resnet50');
      assert.ok(engine && !engine.cached, 'a fresh world builds its engines');
      await recordHistory('engine-build-built', client.workflow.getHandle(`${handle.workflowId}/engine/resnet50`));
    } finally {
      worker.kill('SIGINT');
      await worker;
    }
  });

  it('registers them once when two workers start together, and again finds nothing to add', async () => {
    const namespace = await freshNamespace();
    const both = await Promise.all([registerSearchAttributes(env.nativeConnection, namespace), registerSearchAttributes(env.connection, namespace)]);
    const added = new Set(both.flatMap((r) => ('added' in r ? r.added : assert.fail(r.unchecked))));
    assert.deepEqual([...added].sort(), SEARCH_ATTRIBUTES.map((key) => key.name).sort());
    assert.deepEqual(await registered(namespace), SEARCH_ATTRIBUTES.map((key) => key.name));
    assert.deepEqual(await registerSearchAttributes(env.nativeConnection, namespace), { added: [] });
  });
});
