/**
 * Restarts and crashes on the sim target, against a real Temporal dev server: a worker shut down
 * gracefully (a real SIGTERM) during an engine build leaves its Job running and the next worker
 * re-attaches to it; a Helm release that a killed process (kill -9 during helm --wait) left
 * pending is settled before the next upgrade or rollback, and one left by someone else is not.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, it } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import { execa } from 'execa';
import { createHelmActivities } from '../../src/activities/helm.js';
import type { PipelineMarker, ReleaseRef } from '../../src/ports/run.js';
import { ApiError } from '../../src/ports/errors.js';
import type { ClusterRef, HelmRevision } from '../../src/ports/systems.js';
import type { DeploymentSpecInput } from '../../src/spec/schema.js';
import { runInSimContext } from '../../src/sim/context.js';
import { validateSpec } from '../../src/spec/validate.js';
import { runActivity } from '../helpers/activity-env.js';
import { activityAttempts, env, start, stateDir, testSpec, useHarness, waitFor, world } from '../helpers/harness.js';
import { PROJECT_ROOT, unique } from '../helpers/temporal.js';

useHarness();

function spawnWorker(queue: string) {
  const workerEnv = { ...process.env, TEMPORAL_ADDRESS: env.address, PIPELINE_TARGET: 'sim', PIPELINE_STATE_DIR: stateDir, PIPELINE_TASK_QUEUE: queue };
  // No SIGKILL 5 s after SIGTERM (execa's default): the worker's shutdown grace time is 5 s.
  return execa('node', ['--import', 'tsx', join(PROJECT_ROOT, 'src/worker.ts')], { env: workerEnv, reject: false, all: true, cwd: PROJECT_ROOT, forceKillAfterDelay: false });
}

describe('a worker restart during the engine builds', () => {
  it('leaves the build Job running on SIGTERM; the next worker re-attaches to it and the run succeeds', async () => {
    const queue = unique('restart');
    const first = spawnWorker(queue);
    // A first run (instant simulated time, the harness's worker) leaves the cluster, pool and driver.
    const spec = testSpec((s) => (s.models = s.models!.filter((m) => m.name === 'bert-large')));
    assert.equal((await (await start(spec)).result()).outcome, 'succeeded');
    // A new BERT-Large profile changes its engine's content hash: the second run builds it again, for
    // 600 s x 0.015 = 9 s, which outlasts the worker's 5 s shutdown grace time.
    const rebuild = structuredClone(spec);
    rebuild.simulation!.speed = 0.015;
    rebuild.models![0]!.optimizationProfiles!.push({ min: 1, opt: 8, max: 16 });
    const earlier = (await world().operations()).length;
    const handle = await start(rebuild, queue);
    // The second run's, under the same workflow ID as the first.
    const buildOps = async () => (await world().operations()).slice(earlier).filter((op) => op.deploymentId === handle.workflowId && op.resource.includes('/Job/trt-bert-large-'));
    const job = await waitFor(async () => (await buildOps()).find((op) => op.op === 'job.create')?.resource, 'the engine-build Job');
    first.kill('SIGTERM');
    // As in a rolling restart, the new worker starts while the old one drains.
    const second = spawnWorker(queue);
    try {
      const stopped = await first;
      assert.equal(stopped.exitCode, 0, `a graceful shutdown (signal ${stopped.signal ?? 'none'}):\n${stopped.all}`);
      assert.ok(!(await buildOps()).some((op) => op.op === 'job.complete'), 'the build was still running when the worker stopped');
      assert.equal((await handle.result()).outcome, 'succeeded');
    } finally {
      second.kill('SIGTERM');
      await second;
    }
    const ops = await buildOps();
    assert.deepEqual(ops.filter((op) => op.mutating).map((op) => op.op), ['job.create', 'job.complete'], `${job}: created once, never deleted`);
    // The first attempt failed as the SDK reports a shutdown, so the next one ran at once and re-attached.
    const child = env.client.workflow.getHandle(`${handle.workflowId}/engine/bert-large`);
    assert.deepEqual(await activityAttempts(child, 'buildEngine'), [2]);
    const retried = (await child.fetchHistory()).events?.find((e) => e.activityTaskStartedEventAttributes?.attempt === 2);
    assert.equal(retried?.activityTaskStartedEventAttributes?.lastFailure?.applicationFailureInfo?.type, 'WorkerShutdown');
  });
});

describe('Helm releases a killed process left pending', () => {
  const helmActivities = () => createHelmActivities({ helm: world().clients().helm, triton: world().clients().triton, chart: 'deploy/charts/triton', heartbeatIntervalMs: 1000 });

  /** Deploys the spec (instant simulated time): its release serves revision 1, made by its workflow. */
  async function deployed(input: DeploymentSpecInput): Promise<{ ref: ReleaseRef; values: Record<string, unknown> }> {
    const handle = await start(input);
    assert.equal((await handle.result()).outcome, 'succeeded');
    const validated = validateSpec(input);
    assert.ok(validated.ok);
    const { spec } = validated;
    const cluster: ClusterRef = { project: spec.project, zone: spec.zone, cluster: spec.cluster.name };
    const ref = { run: { deploymentId: handle.workflowId }, cluster, release: spec.release.name, namespace: spec.release.namespace };
    const values = await world().clients().helm(cluster).values(ref.release, ref.namespace, 1);
    return { ref, values };
  }

  function valuesFor(values: Record<string, unknown>, deploymentId: string, repositoryVersion: string): Record<string, unknown> & { pipeline: PipelineMarker } {
    return { ...values, pipeline: { deploymentId, repositoryVersion } };
  }

  async function history(ref: ReleaseRef): Promise<Array<[number, HelmRevision['status'], string]>> {
    return (await world().clients().helm(ref.cluster).history(ref.release, ref.namespace)).map((r) => [r.revision, r.status, r.description]);
  }

  /**
   * Starts helm --wait in another process (speed 1: a 90 s rollout) and kills it (kill -9) once
   * its revision is pending, as a worker crash does.
   */
  async function killedDuring(ref: ReleaseRef, deploymentId: string, operation: { values: Record<string, unknown> } | { rollbackTo: number }): Promise<void> {
    const module = (path: string) => JSON.stringify(pathToFileURL(join(PROJECT_ROOT, path)).href);
    const script = `
      import { runInSimContext } from ${module('src/sim/context.ts')};
      import { createSimWorld } from ${module('src/sim/world.ts')};
      const input = JSON.parse(process.env.HELM_INPUT);
      const helm = createSimWorld({ stateDir: input.simDir }).clients().helm(input.cluster);
      await runInSimContext({ deploymentId: input.deploymentId, speed: 1, regression: 0 }, () =>
        'rollbackTo' in input.operation
          ? helm.rollback(input.release, input.namespace, input.operation.rollbackTo, 900)
          : helm.upgradeInstall({ release: input.release, namespace: input.namespace, chart: 'deploy/charts/triton', values: input.operation.values, timeoutSeconds: 900 }));
    `;
    const before = (await history(ref)).length;
    const input = { simDir: join(stateDir, 'sim'), cluster: ref.cluster, release: ref.release, namespace: ref.namespace, deploymentId, operation };
    const helm = execa('node', ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: PROJECT_ROOT, env: { ...process.env, HELM_INPUT: JSON.stringify(input) }, reject: false, all: true });
    await waitFor(async () => ((await history(ref)).length > before ? true : undefined), 'the pending revision');
    helm.kill('SIGKILL');
    const killed = await helm;
    assert.equal(killed.signal, 'SIGKILL', killed.all);
  }

  const run = <A, R>(ref: ReleaseRef, fn: (input: A) => Promise<R>, input: A): Promise<R> =>
    runInSimContext({ deploymentId: ref.run.deploymentId, speed: 0, regression: 0 }, () => runActivity(fn, input));

  it('rolls a pending-upgrade back to the deployed revision, then upgrades', async () => {
    const { ref, values } = await deployed(testSpec());
    await killedDuring(ref, ref.run.deploymentId, { values: valuesFor(values, ref.run.deploymentId, 'v2') });
    assert.deepEqual(await history(ref), [
      [1, 'deployed', 'Install complete'],
      [2, 'pending-upgrade', 'Preparing upgrade'],
    ], 'the killed helm left revision 2 pending for good');
    await assert.rejects(
      run(ref, (request) => world().clients().helm(ref.cluster).upgradeInstall(request), { release: ref.release, namespace: ref.namespace, chart: 'c', values, timeoutSeconds: 900 }),
      (error: unknown) => error instanceof ApiError && error.code === 'ABORTED' && error.message === 'UPGRADE FAILED: another operation (install/upgrade/rollback) is in progress',
      'helm upgrade refuses the release as Helm does',
    );

    const upgraded = await run(ref, helmActivities().upgradeRelease, { ...ref, values: valuesFor(values, ref.run.deploymentId, 'v3') });
    assert.deepEqual(upgraded, { revision: 4 });
    assert.deepEqual(await history(ref), [
      [1, 'superseded', 'Install complete'],
      [2, 'pending-upgrade', 'Preparing upgrade'],
      [3, 'superseded', 'Rollback to 1'],
      [4, 'deployed', 'Upgrade complete'],
    ]);
  });

  it('uninstalls a pending-install that has no deployed revision, then installs', async () => {
    const { ref: live, values } = await deployed(testSpec());
    const ref = { ...live, release: 'triton-canary' };
    await killedDuring(ref, ref.run.deploymentId, { values: valuesFor(values, ref.run.deploymentId, 'v2') });
    assert.deepEqual(await history(ref), [[1, 'pending-install', 'Initial install underway']]);
    assert.deepEqual(await run(ref, helmActivities().recoverRelease, ref), { pending: 1, uninstalled: true });
    assert.deepEqual(await history(ref), []);
    assert.equal(await run(ref, helmActivities().recoverRelease, ref), null, 'nothing left to recover');

    await killedDuring(ref, ref.run.deploymentId, { values: valuesFor(values, ref.run.deploymentId, 'v2') });
    const installed = await run(ref, helmActivities().upgradeRelease, { ...ref, values: valuesFor(values, ref.run.deploymentId, 'v2') });
    assert.deepEqual(installed, { revision: 1 });
    assert.deepEqual(await history(ref), [[1, 'deployed', 'Install complete']]);
  });

  it('rolls back over a pending-rollback it left', async () => {
    const { ref, values } = await deployed(testSpec());
    const v2 = valuesFor(values, ref.run.deploymentId, 'v2');
    assert.deepEqual(await run(ref, helmActivities().upgradeRelease, { ...ref, values: v2 }), { revision: 2 });
    await killedDuring(ref, ref.run.deploymentId, { rollbackTo: 1 });
    assert.deepEqual((await history(ref)).at(-1), [3, 'pending-rollback', 'Rollback to 1']);

    assert.deepEqual(await run(ref, helmActivities().rollbackRelease, { ...ref, toRevision: 1 }), { revision: 4 });
    assert.deepEqual(await history(ref), [
      [1, 'superseded', 'Install complete'],
      [2, 'superseded', 'Upgrade complete'],
      [3, 'pending-rollback', 'Rollback to 1'],
      [4, 'deployed', 'Rollback to 1'],
    ]);
    assert.deepEqual(await run(ref, helmActivities().rollbackRelease, { ...ref, toRevision: 1 }), { revision: 4 }, 'idempotent');
  });

  it('leaves a release pending by someone else alone, and says so', async () => {
    const { ref, values } = await deployed(testSpec());
    await killedDuring(ref, 'someone-else', { values: valuesFor(values, 'deploy/someone/else', 'v2') });
    const v3 = valuesFor(values, ref.run.deploymentId, 'v3');
    for (const attempt of [() => run(ref, helmActivities().upgradeRelease, { ...ref, values: v3 }), () => run(ref, helmActivities().rollbackRelease, { ...ref, toRevision: 1 })]) {
      await assert.rejects(attempt(), (error: unknown) => {
        assert.ok(error instanceof ApplicationFailure, String(error));
        assert.equal(error.type, 'TransientFailure');
        assert.match(error.message, /revision 2 is pending-upgrade \(written by deployment deploy\/someone\/else\): another operation \(install\/upgrade\/rollback\) is in progress/);
        return true;
      });
    }
    assert.deepEqual(await history(ref), [
      [1, 'deployed', 'Install complete'],
      [2, 'pending-upgrade', 'Preparing upgrade'],
    ]);
  });
});
