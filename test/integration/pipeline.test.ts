/**
 * The deployment workflow on the sim target against a real Temporal dev server: happy path,
 * retries, permanent failures, SLA regression with rollback, approval and abort, one run per
 * release, the dry run, and a worker killed mid-build.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { execa } from 'execa';
import { EXIT, runCli } from '../../src/client/cli.js';
import { abortSignal, approveSignal, progressQuery, type SlaEvidence } from '../../src/workflows/definitions.js';
import {
  activityAttempts,
  env,
  failureOf,
  inspect,
  recordHistory,
  start,
  stateDir,
  testSpec,
  useHarness,
  waitFor,
  world,
} from '../helpers/harness.js';
import { specWith } from '../helpers/specs.js';
import { PROJECT_ROOT, unique } from '../helpers/temporal.js';

useHarness();

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
      ['completed', 'completed', 'completed', 'completed', 'completed', 'completed', 'completed', 'completed'],
    );
    const snapshot = await inspect(spec);
    assert.equal(snapshot.clusters, 1);
    assert.equal(snapshot.nodePools.length, 1);
    assert.equal(snapshot.releases.length, 1);
    assert.equal(snapshot.releases[0]!.revisions.length, 1);
    assert.ok(snapshot.kubeObjects.some((o) => o.kind === 'HorizontalPodAutoscaler'));
    assert.equal(snapshot.bucketObjects.filter((uri) => uri.includes('/manifests/')).length, 1);
    assert.equal(snapshot.bucketObjects.filter((uri) => uri.endsWith('build-record.json')).length, 2);
    assert.ok(result.report && existsSync(result.report.path));
    const resnet = result.variants.find((v) => v.variant === 'ResNet50-INT8-2')!;
    assert.equal(resnet.verdict.passed, true);
    await recordHistory('deploy-succeeded', handle);
  });

  it('retries a transient fault and succeeds; the history shows the retries', async () => {
    const spec = testSpec((s) => (s.simulation!.faults = [{ stage: 'release', times: 2, kind: 'transient' }]));
    const handle = await start(spec);
    const result = await handle.result();
    assert.equal(result.outcome, 'succeeded');
    assert.deepEqual(await activityAttempts(handle, 'upgradeRelease'), [3]);
    await recordHistory('deploy-transient-retries', handle);
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

  it('rolls a regressing release back to revision 1 and fails with SlaRegression and the evidence', async () => {
    const first = testSpec();
    const firstResult = await (await start(first)).result();
    const second = specWith(() => undefined);
    Object.assign(second, structuredClone(first), { simulation: { speed: 0, faults: [], regression: 0.4 } });
    const regressing = await start(second);
    const failure = await failureOf(regressing.result());
    assert.equal(failure.type, 'SlaRegression');
    await recordHistory('deploy-sla-regression-rolled-back', regressing);
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

  it('waits at the approval gate and promotes on approve', async () => {
    const spec = testSpec((s) => (s.approval = { required: true }));
    const handle = await start(spec);
    await waitFor(async () => ((await handle.query(progressQuery)).awaitingApproval ? true : undefined), 'the approval gate');
    assert.equal((await inspect(spec)).kubeObjects.some((o) => o.kind === 'HorizontalPodAutoscaler'), false);
    await handle.signal(approveSignal, { by: 'test' });
    assert.equal((await handle.result()).outcome, 'succeeded');
  });

  it('aborts on signal: the release goes back to the previous revision', async () => {
    const first = testSpec();
    await (await start(first)).result();
    const second = structuredClone(first);
    second.approval = { required: true };
    const handle = await start(second);
    await waitFor(async () => ((await handle.query(progressQuery)).awaitingApproval ? true : undefined), 'the approval gate');
    await handle.signal(abortSignal, { by: 'test', reason: 'changed my mind' });
    const failure = await failureOf(handle.result());
    assert.equal(failure.type, 'Aborted');
    assert.match(failure.message, /changed my mind/);
    const release = (await inspect(first)).releases[0]!;
    assert.equal(release.revisions.at(-1)!.status, 'deployed');
    assert.match(release.revisions.at(-1)!.description, /Rollback to 1/);
    assert.equal((await handle.query(progressQuery)).outcome, 'aborted');
    await recordHistory('deploy-aborted-at-approval', handle);
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
    await handle.signal(abortSignal, { by: 'test' });
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
    try {
      const result = await handle.result();
      assert.equal(result.outcome, 'succeeded');
    } finally {
      second.kill('SIGTERM');
      await second;
    }
    const mutations = (await world().operations()).filter((op) => op.mutating && op.deploymentId === handle.workflowId);
    const keys = mutations.map((op) => `${op.op} ${op.resource}`);
    const repeated = keys.filter((key, i) => keys.indexOf(key) !== i && !key.startsWith('kube.apply'));
    assert.deepEqual(repeated, [], `applied twice: ${repeated.join(', ')}`);
    assert.equal(mutations.filter((op) => op.op === 'job.create' && op.resource.includes('trt-')).length, 2);
  });
});
