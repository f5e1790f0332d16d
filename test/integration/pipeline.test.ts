/**
 * The deployment workflow on the sim target against a real Temporal dev server: happy path,
 * retries, permanent failures, SLA regression rejected on the preview or rolled back in place,
 * approval (named, expiring) and abort as Updates, one run per release, the dry run, and a worker
 * killed mid-build.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { execa } from 'execa';
import { EXIT, runCli } from '../../src/cli/cli.js';
import { WorkflowUpdateFailedError, type WorkflowHandle, type WorkflowHandleWithFirstExecutionRunId } from '@temporalio/client';
import { abortUpdate, approveUpdate, progressQuery } from '../../src/workflows/definitions.js';
import type { OperatorRequest, SlaEvidence } from '../../src/ports/results.js';
import { activityAttempts, env, failureOf, inspect, recordHistory, start, stateDir, TASK_QUEUE, testSpec, useHarness, waitFor, workflowIdOf, world } from '../helpers/harness.js';
import { specWith } from '../helpers/specs.js';
import { PROJECT_ROOT, unique } from '../helpers/temporal.js';
import type { RunReport } from '../../src/report/types.js';

useHarness();

const awaitingApproval = (handle: WorkflowHandle) => waitFor(async () => ((await handle.query(progressQuery)).awaitingApproval ? true : undefined), 'the approval gate');

/** The reason an Update was refused (its validator's message). */
async function refusal(update: Promise<unknown>): Promise<string> {
  const error = await update.then(() => assert.fail('the update must be refused'), (e: unknown) => e);
  assert.ok(error instanceof WorkflowUpdateFailedError, String(error));
  return (error.cause as Error).message;
}

const operatorRequest = (handle: WorkflowHandleWithFirstExecutionRunId, extra: Omit<OperatorRequest, 'runId'> = {}): [OperatorRequest] => [{ runId: handle.firstExecutionRunId, by: 'test', ...extra }];

describe('deployment workflow on the sim target', () => {
  it('runs every stage and leaves one cluster, pool, repository version, revision and HPA', async () => {
    const spec = testSpec();
    const handle = await start(spec);
    const result = await handle.result();
    assert.equal(result.outcome, 'succeeded');
    assert.equal(result.revision, 1);
    assert.equal(result.engines.length, 2);
    assert.ok(result.engines.every((e) => !e.cached));
    assert.equal(result.variants.length, 4);
    const progress = await handle.query(progressQuery);
    assert.deepEqual(
      progress.stages.map((s) => s.status),
      [...Array(9).fill('completed'), 'skipped', 'completed'],
    );
    assert.deepEqual(progress.stages.map((s) => s.name), ['cluster', 'driver', 'engines', 'repository', 'preview', 'validation', 'release', 'bake', 'autoscaling', 'load-drill', 'report']);
    assert.equal(result.strategy, 'preview');
    assert.ok(result.bake!.length === 4 && result.bake!.every((b) => !b.verdict.regressed), JSON.stringify(result.bake));
    const snapshot = await inspect(spec);
    assert.equal(snapshot.clusters, 1);
    assert.equal(snapshot.nodePools.length, 1);
    // The preview was validated, then removed before the live release took its config.
    assert.deepEqual(snapshot.releases.map((r) => r.name), ['triton']);
    const previewOps = (await world().operations()).filter((op) => op.deploymentId === handle.workflowId && op.mutating && op.resource.includes('triton-preview'));
    assert.deepEqual(previewOps.map((op) => op.op), ['helm.upgrade', 'helm.uninstall']);
    assert.equal(snapshot.releases[0]!.revisions.length, 1);
    assert.ok(snapshot.kubeObjects.some((o) => o.kind === 'HorizontalPodAutoscaler'));
    assert.equal(snapshot.bucketObjects.filter((uri) => uri.includes('/manifests/')).length, 1);
    assert.equal(snapshot.bucketObjects.filter((uri) => uri.endsWith('build-record.json')).length, 2);
    assert.ok(result.report && existsSync(result.report.path));
    const resnet = result.variants.find((v) => v.variant === 'ResNet50-INT8-2')!;
    assert.equal(resnet.verdict.passed, true);
    await recordHistory('deploy-preview-succeeded', handle);
  });

  it('on nodes with two GPUs each variant runs its instances on both: its config lists no gpus, and one instance serves past one GPU\'s ceiling', async () => {
    const spec = testSpec((s) => {
      s.nodePool = { ...s.nodePool, acceleratorCount: 2 };
    });
    const handle = await start(spec);
    const result = await handle.result();
    assert.equal(result.outcome, 'succeeded');
    const config = (await inspect(spec)).bucketObjects.find((uri) => uri.endsWith('/ResNet50-INT8/config.pbtxt'))!;
    const text = Buffer.from((await world().clients().store.read(config))!).toString('utf8');
    assert.match(text, /count: 1\n {4}kind: KIND_GPU\n/);
    assert.doesNotMatch(text, /gpus:/);
    // One T4 serves one ResNet50 INT8 instance at about 3,050 infer/s at most (the sim's T4 profile).
    // The result keeps verdicts; the perf points are in the report's data, in the bucket.
    assert.equal('points' in result.variants[0]!, false);
    const report = JSON.parse(Buffer.from((await world().clients().store.read(result.report!.dataUri!))!).toString('utf8')) as RunReport;
    const one = report.variants.find((v) => v.variant === 'ResNet50-INT8')!;
    const top = Math.max(...one.points.map((p) => p.throughput));
    assert.ok(top > 3500, `${top} infer/s`);
    await recordHistory('deploy-two-gpus', handle);
  });

  it('retries a transient fault and succeeds; the history shows the retries', async () => {
    const spec = testSpec((s) => (s.simulation!.faults = [{ stage: 'release', times: 2, kind: 'transient' }]));
    const handle = await start(spec);
    const result = await handle.result();
    assert.equal(result.outcome, 'succeeded');
    // The fault is on stage release: the preview's upgrade was first time right, the live release's met it.
    assert.deepEqual(await activityAttempts(handle, 'upgradeRelease'), [1, 3]);
    await recordHistory('deploy-preview-transient-retries', handle);
  });

  it('fails fast on a permanent fault with its type, without retrying', async () => {
    const spec = testSpec((s) => (s.simulation!.faults = [{ stage: 'cluster', times: 5, kind: 'quota-exceeded' }]));
    const handle = await start(spec);
    const failure = await failureOf(handle.result());
    assert.equal(failure.type, 'QuotaExceeded');
    assert.deepEqual(await activityAttempts(handle, 'ensureCluster'), [1]);
    assert.equal((await inspect(spec)).clusters, 0);
  });

  it('deletes the cluster and node pool it created when asked to and the run fails', async () => {
    const spec = testSpec((s) => {
      s.cluster = { ...s.cluster, deleteOnFailure: true };
      s.simulation!.faults = [{ stage: 'engines', times: 1, kind: 'invalid-argument' }];
    });
    const failure = await failureOf((await start(spec)).result());
    assert.equal(failure.type, 'InvalidArgument');
    assert.equal((await inspect(spec)).clusters, 0);
    const deletes = (await world().operations()).filter((op) => op.mutating && op.resource.includes(spec.project) && op.op.endsWith('.delete'));
    assert.deepEqual(deletes.map((op) => op.op), ['nodepool.delete', 'cluster.delete']);
  });

  it('rejects a regressing release on its preview: the live release never changes', async () => {
    const first = testSpec();
    const firstResult = await (await start(first)).result();
    const second = specWith(() => undefined);
    Object.assign(second, structuredClone(first), { simulation: { speed: 0, faults: [], regression: 0.4 } });
    const regressing = await start(second);
    const failure = await failureOf(regressing.result());
    assert.equal(failure.type, 'SlaRegression');
    assert.match(failure.message, /validated on the preview, which was removed: the live release never changed/);
    const evidence = failure.details?.[0] as SlaEvidence;
    assert.equal(evidence.rollback, null);
    assert.ok(evidence.variants.some((v) => v.comparison.regressed));
    assert.equal((await regressing.query(progressQuery)).outcome, 'rejected');
    await recordHistory('deploy-preview-rejected', regressing);
    const releases = (await inspect(first)).releases;
    assert.deepEqual(releases.map((r) => r.name), ['triton']);
    assert.deepEqual(releases[0]!.revisions.map((r) => [r.revision, r.status]), [[1, 'deployed']]);
    assert.equal(releases[0]!.revisions[0]!.values['modelRepositoryPath'], firstResult.repositoryUri);
    // Nothing of the rejected version is left in the bucket.
    const version = (await regressing.query(progressQuery)).stages.find((s) => s.name === 'repository')!.detail!.split(' ')[0]!;
    assert.equal((await inspect(first)).bucketObjects.filter((uri) => uri.startsWith(version)).length, 0);
  });

  it('rolls the live release back with helm rollback when it regresses in the bake period after promotion', async () => {
    const first = testSpec();
    const firstResult = await (await start(first)).result();
    const second = structuredClone(first);
    second.simulation = { speed: 0, regression: 0, faults: [{ stage: 'bake', kind: 'latency-spike', times: 3 }] };
    const baking = await start(second);
    const failure = await failureOf(baking.result());
    assert.equal(failure.type, 'SlaRegression');
    assert.match(failure.message, /regressed in the bake period: .*above the SLA's .* \(regressed in 3 sweeps\).*rolled back to revision 1 \(verified serving/);
    const evidence = failure.details?.[0] as SlaEvidence;
    assert.equal(evidence.rollback?.verified, true);
    assert.equal(evidence.bake?.length, 4);
    assert.ok(evidence.bake!.every((b) => b.verdict.regressed && b.remeasured === 2 && b.verdict.preview !== null), JSON.stringify(evidence.bake));
    // Validation on the preview was clean: only the bake's sweeps met the noisy neighbour.
    assert.ok(evidence.variants.every((v) => !v.comparison.regressed && v.inconclusiveSweeps === undefined), JSON.stringify(evidence.variants.map((v) => v.comparison)));
    const release = (await inspect(first)).releases.find((r) => r.name === 'triton')!;
    assert.deepEqual(release.revisions.map((r) => [r.revision, r.status]), [[1, 'superseded'], [2, 'superseded'], [3, 'deployed']]);
    assert.equal(release.revisions[2]!.values['modelRepositoryPath'], firstResult.repositoryUri);
    assert.equal((await baking.query(progressQuery)).outcome, 'rolled-back');
    await recordHistory('deploy-preview-bake-rolled-back', baking);
  });

  it('in place: rolls a regressing release back to revision 1 and fails with SlaRegression and the evidence', async () => {
    const first = testSpec();
    const firstResult = await (await start(first)).result();
    const second = specWith(() => undefined);
    Object.assign(second, structuredClone(first), { simulation: { speed: 0, faults: [], regression: 0.4 } });
    second.release = { ...second.release, strategy: 'in-place' };
    const regressing = await start(second);
    const failure = await failureOf(regressing.result());
    assert.equal(failure.type, 'SlaRegression');
    await recordHistory('deploy-in-place-regression-rolled-back', regressing);
    const evidence = failure.details?.[0] as SlaEvidence;
    assert.equal(evidence.rollback?.toRevision, 1);
    assert.equal(evidence.rollback?.verified, true);
    assert.ok(evidence.variants.some((v) => v.comparison.regressed));
    const release = (await inspect(first)).releases[0]!;
    assert.deepEqual(release.revisions.map((r) => [r.revision, r.status]), [
      [1, 'superseded'],
      [2, 'superseded'],
      [3, 'deployed'],
    ]);
    assert.equal(release.revisions[2]!.values['modelRepositoryPath'], firstResult.repositoryUri);
  });

  it('with repeated sweeps, gates on the mean with the tolerance the release record\'s noise history sets', async () => {
    const first = testSpec((spec) => {
      for (const model of spec.models) model.sla = { ...model.sla!, repeats: 3 };
    });
    const result = await (await start(first)).result();
    for (const v of result.variants) {
      // The sim's numbers are deterministic: no noise; and a first release has no noise history, so the spec's tolerance stands.
      assert.deepEqual([v.repeated?.samples, v.repeated?.cv, v.repeated?.width, v.repeated?.tolerance], [3, 0, null, 0.1], JSON.stringify(v.repeated));
      assert.equal(v.repeated?.mean, v.verdict.bestThroughput);
      assert.deepEqual(v.sweeps, [v.verdict.bestThroughput, v.verdict.bestThroughput, v.verdict.bestThroughput]);
    }
    const second = specWith(() => undefined);
    Object.assign(second, structuredClone(first), { simulation: { speed: 0, faults: [], regression: 0.4 } });
    const failure = await failureOf((await start(second)).result());
    assert.equal(failure.type, 'SlaRegression');
    const evidence = failure.details?.[0] as SlaEvidence;
    const regressed = evidence.variants.filter((v) => v.comparison.regressed);
    assert.ok(regressed.length > 0 && regressed.every((v) => (v.repeated?.samples === 3 && v.comparison.change! < -0.3) || v.inconclusiveSweeps === 3), JSON.stringify(regressed.map((v) => v.comparison)));
    // The first release's sweeps are the record's noise history: the gate's width comes from it (0 here).
    assert.ok(evidence.variants.filter((v) => v.repeated).every((v) => v.repeated!.width === 0), JSON.stringify(evidence.variants.map((v) => v.repeated)));
  });

  it('waits at the approval gate with the preview serving, and promotes on an approval that names the run', async () => {
    const spec = testSpec((s) => (s.approval = { required: true }));
    const handle = await start(spec);
    await awaitingApproval(handle);
    const waiting = await inspect(spec);
    assert.equal(waiting.kubeObjects.some((o) => o.kind === 'HorizontalPodAutoscaler'), false);
    assert.deepEqual(waiting.releases.map((r) => r.name), ['triton-preview'], 'only the preview serves while approval is awaited');
    const progress = await handle.query(progressQuery);
    assert.equal(progress.approval?.runId, handle.firstExecutionRunId);
    assert.match(await refusal(handle.executeUpdate(approveUpdate, { args: [{ runId: 'another-run', by: 'test' }] })), /run another-run is not this run/);
    assert.match(await refusal(handle.executeUpdate(approveUpdate, { args: [{} as OperatorRequest] })), /name the run to act on/);
    const answer = await handle.executeUpdate(approveUpdate, { args: operatorRequest(handle) });
    assert.equal(answer.runId, handle.firstExecutionRunId);
    assert.equal((await handle.result()).outcome, 'succeeded');
    await recordHistory('deploy-preview-approved', handle);
    // A finished run has nothing to approve: the server refuses the Update itself.
    await assert.rejects(handle.executeUpdate(approveUpdate, { args: operatorRequest(handle) }), /already completed/);
  });

  it('the CLI prints the Web UI input, approves the run awaiting approval, and refuses what has nothing to approve (exit 7)', async () => {
    const spec = testSpec((s) => (s.approval = { required: true }));
    const specFile = join(stateDir, `${spec.project}-cli.json`);
    await writeFile(specFile, JSON.stringify(spec));
    const lines: string[] = [];
    const out = { log: (l: string) => lines.push(l), error: (l: string) => lines.push(l) };
    const printed: string[] = [];
    assert.equal(await runCli(['input', '-f', specFile], { log: (l) => printed.push(l), error: () => undefined }, () => assert.fail('input must not connect')), EXIT.ok);
    const input = JSON.parse(printed.join('\n')) as { spec: unknown };
    const handle = await env.client.workflow.start('deployTriton', { workflowId: workflowIdOf(spec), taskQueue: TASK_QUEUE, args: [input] });
    assert.equal(await runCli(['approve', '-f', specFile, '--run', 'not-this-run'], out, async () => env.client), EXIT.refused);
    await awaitingApproval(handle);
    assert.equal(await runCli(['approve', '-f', specFile, '--by', 'alice'], out, async () => env.client), EXIT.ok);
    assert.match(lines.join('\n'), new RegExp(`approved ${handle.workflowId.replace(/\//g, '\\/')} run ${handle.firstExecutionRunId}`));
    assert.equal((await handle.result()).outcome, 'succeeded');
    assert.equal(await runCli(['abort', '-f', specFile], out, async () => env.client), EXIT.refused);
  });

  it('refuses an approval sent before validation has passed: it never pre-approves', async () => {
    const spec = testSpec((s) => {
      s.approval = { required: true, timeoutSeconds: 600 };
      s.simulation!.speed = 0.01;
    });
    const handle = await start(spec);
    await waitFor(async () => ((await handle.query(progressQuery)).stage === 'engines' ? true : undefined), 'the engine stage');
    assert.match(await refusal(handle.executeUpdate(approveUpdate, { args: operatorRequest(handle) })), /nothing to approve: run \S+ is at stage engines/);
    await awaitingApproval(handle);
    await handle.executeUpdate(abortUpdate, { args: operatorRequest(handle) });
    assert.equal((await failureOf(handle.result())).type, 'Aborted');
  });

  it('aborts when the approval expires: the preview is removed and the live release is unchanged', async () => {
    const first = testSpec();
    await (await start(first)).result();
    const second = structuredClone(first);
    second.approval = { required: true, timeoutSeconds: 2 };
    const handle = await start(second);
    const failure = await failureOf(handle.result());
    assert.equal(failure.type, 'ApprovalExpired');
    await recordHistory('deploy-preview-approval-expired', handle);
    assert.match(failure.message, /not approved within 2 s .*the preview removed and the live release unchanged/);
    assert.equal((await handle.query(progressQuery)).outcome, 'aborted');
    const releases = (await inspect(first)).releases;
    assert.deepEqual(releases.map((r) => [r.name, r.revisions.length]), [['triton', 1]]);
  });

  it('in place: an abort rolls the release back to the previous revision', async () => {
    const first = testSpec();
    await (await start(first)).result();
    const second = structuredClone(first);
    second.approval = { required: true };
    second.release = { ...second.release, strategy: 'in-place' };
    const handle = await start(second);
    await awaitingApproval(handle);
    await handle.executeUpdate(abortUpdate, { args: operatorRequest(handle, { reason: 'changed my mind' }) });
    const failure = await failureOf(handle.result());
    assert.equal(failure.type, 'Aborted');
    assert.match(failure.message, /changed my mind/);
    const release = (await inspect(first)).releases[0]!;
    assert.equal(release.revisions.at(-1)!.status, 'deployed');
    assert.match(release.revisions.at(-1)!.description, /Rollback to 1/);
    assert.equal((await handle.query(progressQuery)).outcome, 'aborted');
    await recordHistory('deploy-in-place-aborted-at-approval', handle);
  });

  it('refuses a second deploy of a release that is deploying, naming the running one', async () => {
    const spec = testSpec((s) => (s.approval = { required: true }));
    const specFile = join(stateDir, `${spec.project}.json`);
    await writeFile(specFile, JSON.stringify(spec));
    const handle = await start(spec);
    const lines: string[] = [];
    const out = { log: (l: string) => lines.push(l), error: (l: string) => lines.push(l) };
    const code = await runCli(['deploy', '-f', specFile, '--detach'], out, async () => env.client);
    assert.equal(code, EXIT.busy);
    assert.match(lines.join('\n'), new RegExp(`already has a deployment running: workflow ${handle.workflowId.replace(/\//g, '\\/')}`));
    await handle.executeUpdate(abortUpdate, { args: operatorRequest(handle) });
    await failureOf(handle.result());
  });

  it('plan prints the stages, configs and manifests and changes nothing', async () => {
    const spec = testSpec();
    const specFile = join(stateDir, `${spec.project}.json`);
    await writeFile(specFile, JSON.stringify(spec));
    const lines: string[] = [];
    const out = { log: (l: string) => lines.push(l), error: (l: string) => lines.push(l) };
    const code = await runCli(['plan', '-f', specFile], out, () => assert.fail('plan must not connect to Temporal'));
    assert.equal(code, EXIT.ok);
    const text = lines.join('\n');
    for (const expected of ['max_batch_size: 32', 'count: 4', 'profile: ["2"]', 'kind: HorizontalPodAutoscaler', 'nvidia-driver-installer', 'modelRepositoryPath']) {
      assert.ok(text.includes(expected), expected);
    }
    const snapshot = await inspect(spec);
    assert.equal(snapshot.clusters + snapshot.releases.length + snapshot.bucketObjects.length, 0);
    assert.equal((await world().operations()).filter((op) => op.resource.includes(spec.project)).length, 0);
  });

  it('rejects an invalid spec from the CLI before anything starts', async () => {
    const spec = testSpec((s) => (s.models[0]!.variants[0]!.instances = 0));
    const specFile = join(stateDir, `${spec.project}.json`);
    await writeFile(specFile, JSON.stringify(spec));
    const lines: string[] = [];
    const code = await runCli(['deploy', '-f', specFile], { log: (l) => lines.push(l), error: (l) => lines.push(l) }, () =>
      assert.fail('an invalid spec must not reach Temporal'),
    );
    assert.equal(code, EXIT.invalid);
    assert.match(lines.join('\n'), /models\[0\]\.variants\[0\]\.instances: instances must be at least 1/);
  });

  it('survives a worker killed during the engine build, applying nothing twice', async () => {
    const queue = unique('kill');
    const spec = testSpec((s) => (s.simulation!.speed = 0.02));
    const workerEnv = { ...process.env, TEMPORAL_ADDRESS: env.address, PIPELINE_STATE_DIR: stateDir, PIPELINE_TASK_QUEUE: queue };
    const spawnWorker = () => execa('node', ['--import', 'tsx', join(PROJECT_ROOT, 'src/worker.ts')], { env: workerEnv, reject: false, cwd: PROJECT_ROOT });
    const first = spawnWorker();
    const handle = await start(spec, queue);
    await waitFor(async () => {
      const ops = await world().operations();
      return ops.some((op) => op.op === 'job.create' && op.deploymentId === handle.workflowId) ? true : undefined;
    }, 'the engine build job');
    first.kill('SIGKILL');
    await first;
    const second = spawnWorker();
    const result = await handle.result().finally(async () => {
      second.kill('SIGTERM');
      await second;
    });
    assert.equal(result.outcome, 'succeeded');
    assert.deepEqual(result.engines.map((e) => e.cached), [false, false], 'both engines built in this run');
    const mutations = (await world().operations()).filter((op) => op.mutating && op.deploymentId === handle.workflowId);
    const keys = mutations.map((op) => `${op.op} ${op.resource}`);
    const repeated = keys.filter((key, i) => keys.indexOf(key) !== i && !key.startsWith('kube.apply'));
    assert.deepEqual(repeated, [], `applied twice: ${repeated.join(', ')}`);
    // The kill can land between a Job's create and its log line (the other model's build starts at
    // the same moment), so the log may miss a create; it never holds a second one.
    assert.ok(mutations.filter((op) => op.op === 'job.create' && op.resource.includes('trt-')).length <= 2);
  });
});
