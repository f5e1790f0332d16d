/**
 * Re-optimization on the sim target against a real Temporal dev server: a better config is
 * promoted through the deployment's chapters, a worse one changes nothing, a Schedule re-optimizes
 * the live release (not the spec it was created with), and one release is never re-optimized or
 * deployed twice at once.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { EXIT, runCli } from '../../src/cli/cli.js';
import { applicationFailureIn } from '../../src/ports/errors.js';
import { deploymentWorkflowId, reoptimizationWorkflowId, scheduleIdFor } from '../../src/plan/ids.js';
import { releaseKeyOf } from '../../src/release/record.js';
import { reoptimizeRequestOf } from '../../src/spec/reoptimize-request.js';
import type { DeploymentSpec, DeploymentSpecInput, SearchSpace } from '../../src/spec/schema.js';
import { validateSpec } from '../../src/spec/validate.js';
import { parseModelConfig } from '../../src/triton/model-config.js';
import { abortUpdate, approveUpdate, progressQuery } from '../../src/workflows/definitions.js';
import type { ModelSearchResult, ReoptimizeResult, reoptimizeTriton } from '../../src/workflows/reoptimize.js';
import { env, inspect, readRecord, recordHistory, start, stateDir, TASK_QUEUE, testSpec, useHarness, waitFor, world } from '../helpers/harness.js';

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

function validated(spec: DeploymentSpecInput): DeploymentSpec {
  const result = validateSpec(spec);
  assert.ok(result.ok, JSON.stringify(!result.ok && result.errors));
  return result.spec;
}

/** The number of measureServingCandidate children a result implies: the screens, then a child per confirmation sweep. */
function measurementsOf(result: ReoptimizeResult): number {
  const confirmations = (c: ModelSearchResult['confirmation']) => (c === null ? 0 : c.incumbent.length + c.finalists.reduce((n, f) => n + f.samples.length, 0));
  return result.models.reduce((n, m) => n + m.incumbentScreens.length + m.measured.length + confirmations(m.confirmation), 0);
}

async function reoptimize(spec: DeploymentSpecInput, workflowId = reoptimizationWorkflowId(releaseKeyOf(validated(spec))), record?: string) {
  const handle = await env.client.workflow.start<typeof reoptimizeTriton>('reoptimizeTriton', {
    workflowId,
    taskQueue: TASK_QUEUE,
    args: [{ release: reoptimizeRequestOf(validated(spec)) }],
  });
  const result = await handle.result();
  if (result.outcome === 'busy' || result.outcome === 'no-live-release') return result;
  // Each measurement ran as its own child workflow of the run that held the release's ID.
  const session = await env.client.workflow.getHandle(deploymentWorkflowId(validated(spec))).fetchHistory();
  const children = session.events!.flatMap((e) => {
    const started = e.startChildWorkflowExecutionInitiatedEventAttributes;
    return started?.workflowType?.name === 'measureServingCandidate' ? [started.workflowId!] : [];
  });
  assert.equal(children.length, measurementsOf(result), children.join('\n'));
  if (record !== undefined) {
    await recordHistory(`${record}-request`, handle);
    await recordHistory(`${record}-release`, env.client.workflow.getHandle(deploymentWorkflowId(validated(spec))));
    await recordHistory(`${record}-candidate`, env.client.workflow.getHandle(children[0]!));
    // The last measurement is a confirmation: since upper sweeps, a sweep from the range's top.
    await recordHistory(`${record}-last-candidate`, env.client.workflow.getHandle(children.at(-1)!));
  }
  return result;
}

async function servedConfig(spec: DeploymentSpecInput, variant: string) {
  const release = (await inspect(spec)).releases.find((r) => r.name === 'triton')!;
  const live = release.revisions.filter((r) => r.status === 'deployed').at(-1)!;
  const bytes = await world().clients().store.read(`${String(live.values['modelRepositoryPath'])}/${variant}/config.pbtxt`);
  assert.ok(bytes);
  return parseModelConfig(Buffer.from(bytes).toString('utf8'));
}

/** The spec without the fields re-optimization may change (the serving variant's serving config). */
function withoutSearchedFields(spec: DeploymentSpec, variant: string) {
  return {
    ...spec,
    models: spec.models.map((m) => ({
      ...m,
      variants: m.variants.map((v) => (v.name === variant ? { name: v.name, profile: v.profile } : v)),
    })),
  };
}

describe('re-optimization', () => {
  it('promotes a config that beats the incumbent, both measured again in the same session', async () => {
    const spec = resnetSpec(1, {});
    await (await start(spec)).result();
    const result = await reoptimize(spec, undefined, 'reoptimize-upper');
    assert.equal(result.outcome, 'promoted', JSON.stringify(result));
    const [model] = result.models;
    assert.equal(model!.winner?.instances, 4, JSON.stringify(model!.confirmation));
    const decisive = model!.confirmation!.finalists.find((f) => f.verdict.promote)!;
    assert.equal(decisive.samples.length, 3, 'the confirmation sweeps (reoptimize.confirmSweeps)');
    assert.equal(model!.confirmation!.incumbent.length, 3);
    assert.ok(decisive.verdict.improvement! >= decisive.verdict.threshold);
    assert.equal(result.deployment?.revision, 2);
    assert.equal((await servedConfig(spec, 'ResNet50-INT8')).instances, 4);
    const state = await inspect(spec);
    assert.deepEqual(state.releases.map((r) => r.name), ['triton'], 'the canary is uninstalled');
    const versions = new Set(state.bucketObjects.filter((u) => u.includes('/versions/')).map((u) => u.split('/versions/')[1]!.split('/')[0]));
    assert.equal(versions.size, 2, `only the live versions remain: ${[...versions].join(', ')}`);
    const record = await readRecord(spec);
    assert.deepEqual(record.events.map((e) => e.kind), ['promoted', 'promoted']);
    assert.equal(record.live?.reason, 'reoptimization');
    assert.equal(record.live?.spec.models[0]!.variants[0]!.instances, 4);
  });

  it('changes nothing when no candidate is better by the margin', async () => {
    const spec = resnetSpec(4, { instances: [1, 2, 4], maxQueueDelayMicroseconds: [100] });
    await (await start(spec)).result();
    const result = await reoptimize(spec);
    assert.equal(result.outcome, 'kept');
    // From 4 instances the walk screens its neighbour, 2; 1 instance is screened only if 2 beats 4.
    assert.ok(result.models[0]!.measured.length >= 1);
    assert.equal(result.models[0]!.winner, null);
    const release = (await inspect(spec)).releases.find((r) => r.name === 'triton')!;
    assert.equal(release.revisions.length, 1);
    assert.equal((await servedConfig(spec, 'ResNet50-INT8')).instances, 4);
  });

  it('says so and changes nothing when the release has no record yet', async () => {
    const result = await reoptimize(resnetSpec(1, {}));
    assert.equal(result.outcome, 'no-live-release');
    assert.match(result.detail!, /has no live release; deploy one first/);
  });

  it('a Schedule created while v1 was live re-optimizes v2 as deployed: only searched fields change', async () => {
    const v1 = resnetSpec(1, {});
    await (await start(v1)).result();
    const file = join(stateDir, `${v1.project}-v1.json`);
    await writeFile(file, JSON.stringify(v1));
    const lines: string[] = [];
    const cli = (...args: string[]) => runCli(args, { log: (l) => lines.push(l), error: (l) => lines.push(l) }, async () => env.client);
    assert.equal(await cli('schedule', 'create', '-f', file, '--every', '24h'), EXIT.ok);

    // CI deploys v2: a new image, a second variant, another queue delay.
    const v2 = structuredClone(v1);
    v2.release = { ...v2.release, image: 'nvcr.io/nvidia/tritonserver:24.09-py3' };
    const resnet = v2.models[0]!;
    resnet.variants = [{ ...resnet.variants[0]!, dynamicBatching: { preferredBatchSizes: [32], maxQueueDelayMicroseconds: 200 } }, { ...resnet.variants[0]!, name: 'ResNet50-INT8-p16', dynamicBatching: { preferredBatchSizes: [16] } }];
    await (await start(v2)).result();

    const schedule = env.client.schedule.getHandle(scheduleIdFor(releaseKeyOf(validated(v1))));
    await schedule.trigger();
    const started = await waitFor(async () => {
      const action = (await schedule.describe()).info.recentActions[0]?.action;
      return action?.type === 'startWorkflow' ? action.workflow.workflowId : undefined;
    }, 'the scheduled run');
    const result = await env.client.workflow.getHandle<typeof reoptimizeTriton>(started).result();
    await schedule.delete();
    assert.equal(result.outcome, 'promoted', JSON.stringify(result));
    const searched = result.models[0]!.variant;

    const live = (await readRecord(v1)).live!;
    const deployedV2 = validated(v2);
    assert.equal(live.spec.release.image, 'nvcr.io/nvidia/tritonserver:24.09-py3');
    assert.deepEqual(live.spec.models[0]!.variants.map((v) => v.name), ['ResNet50-INT8', 'ResNet50-INT8-p16']);
    assert.deepEqual(withoutSearchedFields(live.spec, searched), withoutSearchedFields(deployedV2, searched));
    assert.notDeepEqual(live.spec, deployedV2, 'the searched fields changed');
  });

  it('runs one of a scheduled and a CLI re-optimization started together; the other is refused, naming it', async () => {
    // Approval holds the winner at its promotion, so neither can finish before the other starts.
    const spec = resnetSpec(1, {});
    spec.approval = { required: true };
    const first = await start(spec);
    await waitFor(async () => ((await first.query(progressQuery)).awaitingApproval ? true : undefined), 'the first approval');
    await first.executeUpdate(approveUpdate, { args: [{ runId: first.firstExecutionRunId, by: 'test' }] });
    await first.result();

    const file = join(stateDir, `${spec.project}-together.json`);
    await writeFile(file, JSON.stringify(spec));
    const lines: string[] = [];
    const out = { log: (l: string) => lines.push(l), error: (l: string) => lines.push(l) };
    const key = releaseKeyOf(validated(spec));
    const releaseId = deploymentWorkflowId(validated(spec));
    const scheduled = env.client.workflow.start<typeof reoptimizeTriton>('reoptimizeTriton', {
      workflowId: `${reoptimizationWorkflowId(key)}-2026-12-01T03:00:00Z`,
      taskQueue: TASK_QUEUE,
      args: [{ release: reoptimizeRequestOf(validated(spec)) }],
    });
    const fromCli = runCli(['reoptimize', '-f', file], out, async () => env.client);
    const scheduledRun = await scheduled;

    // Whichever holds the release waits at approval; the other has been refused by then.
    const session = env.client.workflow.getHandle(releaseId);
    await waitFor(async () => ((await session.query(progressQuery)).awaitingApproval ? true : undefined), 'the promotion awaiting approval');
    const holder = await session.describe();
    assert.equal(holder.type, 'reoptimizeRelease');

    // A deployment of the release is refused too, naming the re-optimization.
    const deploying: string[] = [];
    assert.equal(await runCli(['deploy', '-f', file, '--detach'], { log: (l) => deploying.push(l), error: (l) => deploying.push(l) }, async () => env.client), EXIT.busy);
    assert.match(deploying.join('\n'), new RegExp(`already has a re-optimization running: workflow ${releaseId.replace(/\//g, '\\/')} \\(reoptimizeRelease`));

    await session.executeUpdate(approveUpdate, { args: [{ runId: holder.runId, by: 'test' }] });
    const [scheduledResult, cliExit] = await Promise.all([scheduledRun.result(), fromCli]);
    const outcomes = [scheduledResult.outcome, cliExit === EXIT.busy ? 'busy' : 'ran'];
    assert.equal(outcomes.filter((o) => o === 'busy').length, 1, `${JSON.stringify(outcomes)}\n${lines.join('\n')}`);
    if (scheduledResult.outcome === 'busy') assert.match(scheduledResult.detail!, new RegExp(`busy: workflow ${releaseId.replace(/\//g, '\\/')}`));
    else assert.match(lines.join('\n'), /refused: release .* already has a re-optimization running/);
    const release = (await inspect(spec)).releases.find((r) => r.name === 'triton')!;
    assert.equal(release.revisions.length, 2, 'one promotion');
  });

  it('aborts a running search on an Update that names its run: nothing promoted, the canary removed', async () => {
    const spec = resnetSpec(1, {});
    spec.simulation!.speed = 0.01;
    await (await start(spec)).result();
    const handle = await env.client.workflow.start<typeof reoptimizeTriton>('reoptimizeTriton', {
      workflowId: reoptimizationWorkflowId(releaseKeyOf(validated(spec))),
      taskQueue: TASK_QUEUE,
      args: [{ release: reoptimizeRequestOf(validated(spec)) }],
    });
    const session = env.client.workflow.getHandle(deploymentWorkflowId(validated(spec)));
    const holder = await waitFor(async () => {
      const running = await session.describe().catch(() => null);
      return running?.type === 'reoptimizeRelease' && running.status.name === 'RUNNING' ? running : undefined;
    }, 'the re-optimization holding the release');
    const refused = await session.executeUpdate(abortUpdate, { args: [{ runId: 'another-run', by: 'test' }] }).then(() => assert.fail('must be refused'), (e: unknown) => e);
    assert.ok(refused instanceof WorkflowUpdateFailedError && /run another-run is not this run/.test((refused.cause as Error).message), String((refused as Error).cause ?? refused));
    const answer = await session.executeUpdate(abortUpdate, { args: [{ runId: holder.runId, by: 'test', reason: 'maintenance window' }] });
    assert.equal(answer.runId, holder.runId);
    const failure = await handle.result().then(() => assert.fail('the aborted run must fail'), (e: unknown) => applicationFailureIn(e));
    assert.equal(failure?.type, 'Aborted');
    // Aborted in the search, or in the promotion's preview: either way the live release never changed.
    assert.match(failure.message, /aborted by test: maintenance window/);
    const releases = (await inspect(spec)).releases;
    assert.deepEqual(releases.map((r) => [r.name, r.revisions.length]), [['triton', 1]], 'the canary is gone and the live release untouched');
  });

  it('creates, lists and deletes the re-optimization schedule from the CLI; it stores the release, not the spec', async () => {
    const spec = resnetSpec(1, {});
    const file = join(stateDir, `${spec.project}-schedule.json`);
    await writeFile(file, JSON.stringify(spec));
    const lines: string[] = [];
    const out = { log: (l: string) => lines.push(l), error: (l: string) => lines.push(l) };
    const cli = (...args: string[]) => runCli(args, out, async () => env.client);
    assert.equal(await cli('schedule', 'create', '-f', file, '--every', '12h'), EXIT.ok);
    assert.equal(await cli('schedule', 'create', '-f', file, '--cron', '0 3 * * *'), EXIT.ok, 're-running updates');
    const id = scheduleIdFor(releaseKeyOf(validated(spec)));
    const description = await env.client.schedule.getHandle(id).describe();
    assert.ok(description.action.type === 'startWorkflow');
    assert.equal(description.action.workflowType, 'reoptimizeTriton');
    assert.deepEqual(Object.keys(description.action.args![0] as object), ['release']);
    assert.equal((description.action.args![0] as { release: { release: string } }).release.release, 'triton');
    // The server stores a cron expression as a calendar spec; the 12h interval is gone.
    assert.equal(description.spec.calendars?.length, 1);
    assert.equal(description.spec.intervals?.length ?? 0, 0);
    assert.equal(await cli('schedule', 'list'), EXIT.ok);
    assert.ok(lines.some((l) => l.startsWith(id)), lines.join('\n'));
    assert.equal(await cli('schedule', 'delete', '-f', file), EXIT.ok);
    await assert.rejects(env.client.schedule.getHandle(id).describe());
  });
});
