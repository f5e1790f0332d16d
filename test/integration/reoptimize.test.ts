/**
 * Re-optimization on the sim target against a real Temporal dev server: a better config is
 * promoted through the deployment workflow, a worse one changes nothing, and the schedule CLI.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { EXIT, runCli } from '../../src/client/cli.js';
import { reoptimizationWorkflowId, scheduleIdFor } from '../../src/plan/ids.js';
import type { DeploymentSpecInput, SearchSpace } from '../../src/spec/schema.js';
import { validateSpec } from '../../src/spec/validate.js';
import { parseModelConfig } from '../../src/triton/model-config.js';
import type { reoptimizeTriton } from '../../src/workflows/reoptimize.js';
import { env, inspect, start, stateDir, TASK_QUEUE, testSpec, useHarness, world } from '../helpers/harness.js';

useHarness();

/** The sample's ResNet50 with one variant, searched over instance counts only (fast and decisive). */
function resnetSpec(instances: number, space: Partial<SearchSpace>): DeploymentSpecInput {
  return testSpec((s) => {
    const resnet = s.models[0]!;
    resnet.variants = [{ ...resnet.variants[0]!, instances }];
    resnet.sla.minThroughput = 1000;
    s.models = [resnet];
    s.reoptimize = {
      margin: 0.05,
      maxCandidates: 8,
      space: { instances: [1, 2, 4], maxBatchSize: [32], preferredBatchSizes: [[32]], maxQueueDelayMicroseconds: [100], ...space },
    };
  });
}

async function reoptimize(spec: DeploymentSpecInput) {
  const validated = validateSpec(spec);
  assert.ok(validated.ok);
  const handle = await env.client.workflow.start<typeof reoptimizeTriton>('reoptimizeTriton', {
    workflowId: reoptimizationWorkflowId(validated.spec),
    taskQueue: TASK_QUEUE,
    args: [{ spec }],
  });
  const result = await handle.result();
  // Each measured candidate ran as its own child workflow.
  const children = (await handle.fetchHistory()).events!.flatMap((e) => {
    const started = e.startChildWorkflowExecutionInitiatedEventAttributes;
    return started?.workflowType?.name === 'measureServingCandidate' ? [started.workflowId!] : [];
  });
  assert.equal(children.length, result.models.reduce((n, m) => n + m.measured.length, 0), children.join('\n'));
  return result;
}

async function servedConfig(spec: DeploymentSpecInput, variant: string) {
  const release = (await inspect(spec)).releases.find((r) => r.name === 'triton')!;
  const live = release.revisions.filter((r) => r.status === 'deployed').at(-1)!;
  const bytes = await world().clients().store.read(`${String(live.values['modelRepositoryPath'])}/${variant}/config.pbtxt`);
  assert.ok(bytes);
  return parseModelConfig(Buffer.from(bytes).toString('utf8'));
}

describe('re-optimization', () => {
  it('promotes a config that beats the live release by the margin', async () => {
    const spec = resnetSpec(1, {});
    await (await start(spec)).result();
    const result = await reoptimize(spec);
    assert.equal(result.outcome, 'promoted');
    const [model] = result.models;
    assert.equal(model!.best.candidate.instances, 4, JSON.stringify(model!.measured));
    assert.ok(model!.best.score! > model!.live.score! * 1.05);
    assert.equal(result.deployment?.revision, 2);
    assert.equal((await servedConfig(spec, 'ResNet50-INT8')).instances, 4);
    const state = await inspect(spec);
    assert.deepEqual(state.releases.map((r) => r.name), ['triton'], 'the canary is uninstalled');
    const versions = new Set(state.bucketObjects.filter((u) => u.includes('/versions/')).map((u) => u.split('/versions/')[1]!.split('/')[0]));
    assert.equal(versions.size, 2, `only the live versions remain: ${[...versions].join(', ')}`);
  });

  it('changes nothing when no candidate is better by the margin', async () => {
    const spec = resnetSpec(4, { instances: [1, 2, 4] , maxQueueDelayMicroseconds: [100] });
    await (await start(spec)).result();
    const result = await reoptimize(spec);
    assert.equal(result.outcome, 'kept');
    assert.ok(result.models[0]!.measured.length >= 2);
    assert.ok(result.models[0]!.measured.every((m) => (m.score ?? 0) < result.models[0]!.live.score! * 1.05));
    const release = (await inspect(spec)).releases.find((r) => r.name === 'triton')!;
    assert.equal(release.revisions.length, 1);
    assert.equal((await servedConfig(spec, 'ResNet50-INT8')).instances, 4);
  });

  it('creates, lists and deletes the re-optimization schedule from the CLI', async () => {
    const spec = resnetSpec(1, {});
    const file = join(stateDir, `${spec.project}-schedule.json`);
    await writeFile(file, JSON.stringify(spec));
    const lines: string[] = [];
    const out = { log: (l: string) => lines.push(l), error: (l: string) => lines.push(l) };
    const cli = (...args: string[]) => runCli(args, out, async () => env.client);
    assert.equal(await cli('schedule', 'create', '-f', file, '--every', '12h'), EXIT.ok);
    assert.equal(await cli('schedule', 'create', '-f', file, '--cron', '0 3 * * *'), EXIT.ok, 're-running updates');
    const validated = validateSpec(spec);
    assert.ok(validated.ok);
    const id = scheduleIdFor(validated.spec);
    const description = await env.client.schedule.getHandle(id).describe();
    assert.equal(description.action.type, 'startWorkflow');
    assert.equal(description.action.type === 'startWorkflow' && description.action.workflowType, 'reoptimizeTriton');
    // The server stores a cron expression as a calendar spec; the 12h interval is gone.
    assert.equal(description.spec.calendars?.length, 1);
    assert.equal(description.spec.intervals?.length ?? 0, 0);
    assert.equal(await cli('schedule', 'list'), EXIT.ok);
    assert.ok(lines.some((l) => l.startsWith(id)), lines.join('\n'));
    assert.equal(await cli('schedule', 'delete', '-f', file), EXIT.ok);
    await assert.rejects(env.client.schedule.getHandle(id).describe());
  });
});
