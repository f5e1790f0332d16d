/**
 * Lost replies and GKE's inverses on the sim target against a real Temporal dev server. A lost
 * reply (simulation fault kind lost-reply) lets an activity apply its call, then fails the attempt
 * with a transient error, as a network cut after the server applied the request would: the retry
 * must find what it did, not do it again. Each run aims one at every mutating activity it calls;
 * the simulator's operation log (every API call, `mutating` when it changed the world) shows that
 * nothing was applied twice, and the run ends as it would have without the faults. The saga's GKE
 * inverses run against a simulated GKE that holds one operation at a time per cluster.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { JOB_NAMESPACE } from '../../src/plan/jobs.js';
import type { Baseline } from '../../src/ports/run.js';
import { loadDriverInstaller, loadJobScripts, loadMetricsAdapter } from '../../src/assets.js';
import type { SimOperation } from '../../src/sim/oplog.js';
import { createSimWorld } from '../../src/sim/world.js';
import type { ActivityName, DeploymentSpecInput } from '../../src/spec/schema.js';
import { createSimActivities } from '../../src/targets/sim.js';
import type { SlaEvidence } from '../../src/ports/results.js';
import { activityAttempts, env, failureOf, inspect, readRecord, start, testSpec, useHarness, workflowIdOf, world } from '../helpers/harness.js';
import { tempDir } from '../helpers/temp-dir.js';

useHarness();

type Faults = NonNullable<NonNullable<DeploymentSpecInput['simulation']>['faults']>;

/** A reply lost once on each of these activities (every invocation's first attempt). */
const lostReplies = (...activities: ActivityName[]): Faults => activities.map((activity) => ({ activity, kind: 'lost-reply' as const, times: 1 }));

/** The test spec cut to one model and one variant, so every lost reply costs one retry only. */
function smallSpec(change: (spec: DeploymentSpecInput) => void = () => undefined): DeploymentSpecInput {
  return testSpec((spec) => {
    const model = spec.models[0]!;
    spec.models = [{ ...model, variants: model.variants.filter((v) => v.name === 'ResNet50-INT8-2') }];
    change(spec);
  });
}

/** The operations one deployment made (logged under its workflow ID), from `from` on. */
async function operationsOf(spec: DeploymentSpecInput, from = 0): Promise<SimOperation[]> {
  return (await world().operations()).slice(from).filter((op) => op.deploymentId === workflowIdOf(spec));
}

/** Mutating operations applied more than once to the same resource. */
function appliedTwice(ops: SimOperation[]): string[] {
  const counts = new Map<string, number>();
  for (const op of ops.filter((o) => o.mutating)) counts.set(`${op.op} ${op.resource}`, (counts.get(`${op.op} ${op.resource}`) ?? 0) + 1);
  return [...counts].filter(([, n]) => n > 1).map(([what, n]) => `${what} (${n} times)`);
}

const mutations = (ops: SimOperation[], op: string, resource: RegExp = /./) => ops.filter((o) => o.mutating && o.op === op && resource.test(o.resource));

/** Each listed activity's every invocation took exactly two attempts: the lost reply and its retry. */
async function assertRetriedOnce(handle: Parameters<typeof activityAttempts>[0], names: readonly string[]): Promise<void> {
  for (const name of names) {
    const attempts = await activityAttempts(handle, name);
    assert.ok(attempts.length > 0 && attempts.every((a) => a === 2), `${name}: attempts ${JSON.stringify(attempts)}`);
  }
}

describe('GKE inverses and lost replies on the sim target', { concurrency: true }, () => {
  it('the saga deletes the node pool, waits for GKE to finish, then deletes the cluster: neither is left', async () => {
    // Speed 0.001: the pool's delete runs 120 ms; issued back to back, GKE refuses the cluster delete meanwhile.
    const spec = smallSpec((s) => {
      s.cluster = { ...s.cluster, deleteOnFailure: true };
      s.simulation = { speed: 0.001, faults: [{ stage: 'validation', kind: 'invalid-argument' }], regression: 0 };
    });
    const handle = await start(spec);
    const failure = await failureOf(handle.result());
    assert.equal(failure.type, 'InvalidArgument', failure.message);
    assert.equal((await inspect(spec)).clusters, 0, 'neither the cluster nor its node pool is left');
    const ops = await operationsOf(spec);
    assert.deepEqual(ops.filter((o) => o.mutating && o.op.endsWith('.delete') && o.system === 'gke').map((o) => o.op), ['nodepool.delete', 'cluster.delete']);
    // Not refused and retried: the inverse waited for the pool's delete to end before issuing its own.
    assert.deepEqual(await activityAttempts(handle, 'deleteNodePool'), [1]);
    assert.deepEqual(await activityAttempts(handle, 'deleteCluster'), [1]);
  });

  it('lost replies on every mutating step of a run that fails later: created resources keep their inverses, the saga undoes everything once', async () => {
    const spec = smallSpec((s) => {
      s.cluster = { ...s.cluster, deleteOnFailure: true };
      s.simulation = {
        speed: 0.001,
        faults: [
          { stage: 'validation', kind: 'invalid-argument' },
          // ensureCluster's reply lost right after the create: its retry must still report "created".
          ...lostReplies('ensureCluster', 'ensureNodePool', 'uninstallRelease', 'deleteRepositoryVersionIfUnserved', 'deleteNodePool', 'deleteCluster', 'writeReport'),
        ],
        regression: 0,
      };
    });
    const handle = await start(spec);
    const failure = await failureOf(handle.result());
    assert.equal(failure.type, 'InvalidArgument', failure.message);
    await assertRetriedOnce(handle, ['ensureCluster', 'ensureNodePool', 'uninstallRelease', 'deleteRepositoryVersionIfUnserved', 'deleteNodePool', 'deleteCluster', 'writeReport']);

    const left = await inspect(spec);
    assert.equal(left.clusters, 0, 'the cluster created before the lost reply was deleted by its inverse');
    assert.deepEqual(left.bucketObjects.filter((uri) => uri.includes('/versions/') || uri.includes('/manifests/')), [], 'the unserved repository version is gone');
    assert.equal(left.bucketObjects.filter((uri) => uri.includes('/reports/')).length, 2, 'the report page and its data, once');

    const ops = await operationsOf(spec);
    assert.deepEqual(appliedTwice(ops), []);
    for (const op of ['cluster.create', 'nodepool.create', 'nodepool.delete', 'cluster.delete', 'helm.upgrade', 'helm.uninstall']) {
      assert.equal(mutations(ops, op).length, 1, op);
    }
    assert.equal(mutations(ops, 'gcs.write', /\/reports\/.*\.html$/).length, 1, 'one report write');
    assert.equal(mutations(ops, 'gcs.write', /\/reports\/.*\.json$/).length, 1, 'one write of its data');
  });

  it('lost replies on every mutating step of a run that succeeds: each applied once, the run succeeds as without them', async () => {
    const spec = smallSpec((s) => {
      s.simulation!.faults = lostReplies(
        'ensureCluster',
        'ensureNodePool',
        'ensureGpuDriver',
        'buildEngine',
        'publishRepository',
        'upgradeRelease',
        'measureVariant',
        'uninstallRelease',
        'recordReleaseChange',
        'enableAutoscaling',
        'writeReport',
      );
    });
    const handle = await start(spec);
    const result = await handle.result();
    assert.equal(result.outcome, 'succeeded');
    assert.equal(result.revision, 1);
    assert.ok(result.engines.every((e) => !e.cached), 'the engine this run built is reported built, not cached');
    assert.ok(result.variants.every((v) => v.verdict.passed));
    await assertRetriedOnce(handle, ['ensureCluster', 'ensureNodePool', 'ensureGpuDriver', 'publishRepository', 'upgradeRelease', 'measureVariant', 'uninstallRelease', 'recordReleaseChange', 'enableAutoscaling', 'writeReport']);
    await assertRetriedOnce(env.client.workflow.getHandle(`${workflowIdOf(spec)}/engine/resnet50`), ['buildEngine']);

    const ops = await operationsOf(spec);
    assert.deepEqual(appliedTwice(ops), []);
    assert.equal(mutations(ops, 'cluster.create').length, 1);
    assert.equal(mutations(ops, 'nodepool.create').length, 1);
    assert.equal(mutations(ops, 'kube.apply', /DaemonSet\/nvidia-driver-installer$/).length, 1, 'the driver installer applied once');
    assert.equal(mutations(ops, 'job.create', /\/Job\/trt-/).length, 1, 'one engine build');
    const sweeps = await activityAttempts(handle, 'measureVariant');
    assert.equal(mutations(ops, 'job.create', /\/Job\/perf-/).length, sweeps.length, 'one perf Job per sweep');
    assert.equal(mutations(ops, 'gcs.write', /\/manifests\//).length, 1, 'one repository manifest');
    assert.equal(mutations(ops, 'helm.upgrade').length, 2, 'the preview, then the live release: once each');
    assert.equal(mutations(ops, 'helm.uninstall').length, 1, 'the preview removed once');
    assert.equal(mutations(ops, 'gcs.write', /\/releases\/.*generation-/).length, 1, 'one release record generation');
    assert.equal(mutations(ops, 'kube.apply', /HorizontalPodAutoscaler\//).length, 1, 'the HPA applied once');
    assert.equal(mutations(ops, 'gcs.write', /\/reports\/.*\.html$/).length, 1, 'one report write');
    assert.equal(mutations(ops, 'gcs.write', /\/reports\/.*\.json$/).length, 1, 'one write of its data');

    const release = (await inspect(spec)).releases.find((r) => r.name === 'triton')!;
    assert.deepEqual(release.revisions.map((r) => [r.revision, r.status]), [[1, 'deployed']]);
    const record = await readRecord(spec);
    assert.deepEqual([record.generation, record.events.map((e) => e.kind)], [1, ['promoted']]);
  });

  it('lost replies on the upgrade, rollback, record change and clean-up of a release that regresses in place: rolled back once, recorded once', async () => {
    const spec = smallSpec();
    const first = await (await start(spec)).result();
    const before = (await world().operations()).length;
    const regressing = structuredClone(spec);
    regressing.release = { ...regressing.release, strategy: 'in-place' };
    regressing.simulation = {
      speed: 0,
      regression: 0.4,
      faults: lostReplies('upgradeRelease', 'rollbackRelease', 'recordReleaseChange', 'deleteRepositoryVersionIfUnserved', 'writeReport'),
    };
    const second = await start(regressing);
    const regressed = await failureOf(second.result());
    assert.equal(regressed.type, 'SlaRegression', regressed.message);
    const evidence = regressed.details?.[0] as SlaEvidence;
    assert.equal(evidence.rollback?.verified, true, JSON.stringify(evidence.rollback));
    assert.equal(evidence.rollback?.toRevision, 1);
    await assertRetriedOnce(second, ['upgradeRelease', 'rollbackRelease', 'recordReleaseChange', 'deleteRepositoryVersionIfUnserved', 'writeReport']);

    const ops = await operationsOf(regressing, before);
    assert.deepEqual(appliedTwice(ops), []);
    assert.equal(mutations(ops, 'helm.upgrade').length, 1);
    assert.equal(mutations(ops, 'helm.rollback').length, 1);
    assert.equal(mutations(ops, 'gcs.write', /\/releases\/.*generation-/).length, 1, 'one record generation for the rollback');
    assert.equal(mutations(ops, 'gcs.delete', /\/manifests\//).length, 1, 'its unserved repository version deleted');
    assert.equal(mutations(ops, 'gcs.write', /\/reports\/.*\.html$/).length, 1, 'one report write');
    assert.equal(mutations(ops, 'gcs.write', /\/reports\/.*\.json$/).length, 1, 'one write of its data');
    const rolled = (await inspect(spec)).releases.find((r) => r.name === 'triton')!;
    assert.deepEqual(rolled.revisions.map((r) => [r.revision, r.status]), [[1, 'superseded'], [2, 'superseded'], [3, 'deployed']]);
    assert.equal(rolled.revisions[2]!.values['modelRepositoryPath'], first.repositoryUri);
    const record = await readRecord(spec);
    assert.deepEqual([record.generation, record.events.map((e) => e.kind)], [2, ['promoted', 'rolled-back']]);
  });

  it('saveBaseline (legacy runs only) writes a revision\'s baseline once across a lost reply', async () => {
    const stateDir = await tempDir('lost-reply-baseline');
    const activities = createSimActivities(stateDir, {
      driverInstaller: await loadDriverInstaller(),
      jobScripts: await loadJobScripts(JOB_NAMESPACE),
      metricsAdapter: await loadMetricsAdapter(),
      pollIntervalMs: 20,
    });
    const run = { deploymentId: 'deploy/baseline', simulation: { speed: 0, regression: 0, faults: [{ activity: 'saveBaseline' as const, kind: 'lost-reply' as const, times: 1 }] } };
    const baseline: Baseline = { revision: 1, repositoryVersion: 'v1', deploymentId: run.deploymentId, measuredAt: '2026-01-01T00:00:00Z', variants: [] };
    const request = { run, bucket: 'gs://lost-reply-baseline', namespace: 'default', release: 'triton', revision: 1, baseline };
    const attempt = (n: number) => new MockActivityEnvironment({ attempt: n }, { logger: new DefaultLogger('ERROR') });
    await assert.rejects(attempt(1).run(activities.saveBaseline, request), (error: unknown) => {
      assert.ok(error instanceof ApplicationFailure, String(error));
      assert.equal(error.type, 'TransientFailure');
      assert.match(error.message, /connection reset by peer .*simulated lost reply on activity saveBaseline/);
      return true;
    });
    await attempt(2).run(activities.saveBaseline, request);
    const writes = (await createSimWorld({ stateDir }).operations()).filter((op) => op.op === 'gcs.write' && op.mutating);
    assert.equal(writes.length, 1);
  });
});
