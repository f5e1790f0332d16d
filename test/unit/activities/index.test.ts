/**
 * Activity behaviour in isolation (MockActivityEnvironment) over the simulated world: error
 * translation, idempotent ensure steps, heartbeats, and cancellation of a running Job.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { CREATED_BY_LABEL, missingMonitoring } from '../../../src/activities/cluster.js';
import { ApiError, type ApiErrorCode, calling } from '../../../src/ports/errors.js';
import { createPipelineActivities } from '../../../src/activities/index.js';
import { JOB_NAMESPACE } from '../../../src/plan/jobs.js';
import { loadDriverInstaller, loadJobScripts, loadMetricsAdapter } from '../../../src/assets.js';
import { runInSimContext } from '../../../src/sim/context.js';
import { createSimWorld } from '../../../src/sim/world.js';
import type { RunReport } from '../../../src/report/types.js';
import { ACTIVITY_NAMES, type DeploymentSpec } from '../../../src/spec/schema.js';
import { validateSpec } from '../../../src/spec/validate.js';
import { mockEnvironment, runIn } from '../../helpers/activity-env.js';
import { tempDir } from '../../helpers/temp-dir.js';
import { exampleSpec } from '../../helpers/specs.js';

async function setUp() {
  const world = createSimWorld({ stateDir: await tempDir('activities') });
  const activities = createPipelineActivities(world.clients(), {
    driverInstaller: await loadDriverInstaller(),
    jobScripts: await loadJobScripts(JOB_NAMESPACE),
    metricsAdapter: await loadMetricsAdapter(),
    pollIntervalMs: 20,
  });
  const result = validateSpec(exampleSpec());
  assert.ok(result.ok);
  const spec: DeploymentSpec = result.spec;
  const run = { deploymentId: 'deploy/test' };
  const cluster = { project: spec.project, zone: spec.zone, cluster: spec.cluster.name };
  return { world, activities, spec, run, cluster };
}

async function failureOf(promise: Promise<unknown>): Promise<ApplicationFailure> {
  const error = await promise.then(() => assert.fail('expected a failure'), (e: unknown) => e);
  assert.ok(error instanceof ApplicationFailure, String(error));
  return error;
}

describe('activities', () => {
  it('translate port errors into typed failures, permanent ones non-retryable', async () => {
    const cases: Array<[ApiErrorCode, string, boolean]> = [
      ['RESOURCE_EXHAUSTED', 'QuotaExceeded', true],
      ['PERMISSION_DENIED', 'PermissionDenied', true],
      ['INVALID_ARGUMENT', 'InvalidArgument', true],
      ['ALREADY_EXISTS', 'ConfigMismatch', true],
      ['UNAVAILABLE', 'TransientFailure', false],
      ['ABORTED', 'TransientFailure', false],
    ];
    for (const [code, type, nonRetryable] of cases) {
      const failure = await failureOf(calling('do it', () => Promise.reject(new ApiError(code, 'boom', 'tool output'))));
      assert.equal(failure.type, type, code);
      assert.equal(failure.nonRetryable, nonRetryable, code);
      assert.match(failure.message, /^do it: boom/);
    }
    const unknown = await failureOf(calling('do it', () => Promise.reject(new Error('socket hang up'))));
    assert.equal(unknown.type, 'TransientFailure');
  });

  it('ensureCluster creates once marked with the run; the same run finds it created, another adopts it; a different one is refused', async () => {
    const { world, activities, spec, run, cluster } = await setUp();
    const attempt = (runId: string) => new MockActivityEnvironment({ workflowExecution: { workflowId: run.deploymentId, runId } }, { logger: new DefaultLogger('ERROR') });
    assert.equal((await runIn(attempt('run-1'), activities.ensureCluster, { run, cluster, spec: spec.cluster })).outcome, 'created');
    // A retry after a lost reply: the cluster carries this run's mark, so the saga still gets its inverse.
    assert.equal((await runIn(attempt('run-1'), activities.ensureCluster, { run, cluster, spec: spec.cluster })).outcome, 'created');
    // The release's next deployment (same workflow ID, another run) and another deployment adopt it.
    assert.equal((await runIn(attempt('run-2'), activities.ensureCluster, { run, cluster, spec: spec.cluster })).outcome, 'adopted');
    assert.equal((await runIn(attempt('run-1'), activities.ensureCluster, { run: { deploymentId: 'deploy/other' }, cluster, spec: spec.cluster })).outcome, 'adopted');
    const labels = (await world.snapshot(spec.project)).clusters[0]?.cluster.labels ?? {};
    assert.match(labels[CREATED_BY_LABEL] ?? '', /^[a-f0-9]{40}$/);
    assert.equal((await world.operations()).filter((op) => op.op === 'cluster.create').length, 1);
    const mismatch = await failureOf(runIn(mockEnvironment(), activities.ensureCluster, { run, cluster, spec: { ...spec.cluster, machineType: 'n1-standard-4' } }));
    assert.equal(mismatch.type, 'ConfigMismatch');
    assert.match(mismatch.message, /machineType: spec n1-standard-4, existing n1-standard-8/);
  });

  it('asks GKE for the monitoring components a cluster lacks, keeping the ones it has (--monitoring replaces the list)', () => {
    const wanted = ['SYSTEM', 'DCGM'];
    assert.deepEqual(missingMonitoring({ components: ['SYSTEM', 'POD'], managedPrometheus: true }, wanted), ['SYSTEM', 'POD', 'DCGM']);
    assert.equal(missingMonitoring({ components: ['SYSTEM', 'DCGM', 'POD'], managedPrometheus: true }, wanted), null, 'all there: no update');
    assert.deepEqual(missingMonitoring({ components: ['SYSTEM', 'DCGM'], managedPrometheus: false }, wanted), ['SYSTEM', 'DCGM'], 'DCGM needs Managed Prometheus on');
    assert.equal(missingMonitoring(undefined, wanted), null, 'a target that does not report monitoring (sim, local)');
  });

  it('deleteNodePool waits for its delete to end, so deleteCluster is not refused; both idempotent', async () => {
    const { world, activities, spec, run, cluster } = await setUp();
    const env = mockEnvironment();
    await runIn(env, activities.ensureCluster, { run, cluster, spec: spec.cluster });
    await runIn(env, activities.ensureNodePool, { run, cluster, spec: spec.nodePool });
    const heartbeats: unknown[] = [];
    env.on('heartbeat', (details: unknown) => heartbeats.push(details));
    // Speed 0.001: the pool's delete runs 120 ms, the cluster's 240 ms.
    await runInSimContext({ deploymentId: run.deploymentId, speed: 0.001, regression: 0 }, async () => {
      await runIn(env, activities.deleteNodePool, { run, cluster, nodePool: spec.nodePool.name });
      await runIn(env, activities.deleteCluster, { run, cluster });
      await runIn(env, activities.deleteNodePool, { run, cluster, nodePool: spec.nodePool.name });
      await runIn(env, activities.deleteCluster, { run, cluster });
    });
    assert.deepEqual((await world.snapshot(spec.project)).clusters, []);
    assert.ok(heartbeats.some((h) => /DELETE_NODE_POOL/.test(JSON.stringify(h))), JSON.stringify(heartbeats));
    const deletes = (await world.operations()).filter((op) => op.op.endsWith('.delete')).map((op) => [op.op, op.mutating]);
    assert.deepEqual(deletes, [['nodepool.delete', true], ['cluster.delete', true]]);
  });

  it('writeReport writes a report and its data once: a retry with the same report changes nothing', async () => {
    const { world, activities, spec, run } = await setUp();
    const report: RunReport = {
      title: 'Triton deployment',
      workflowId: 'deploy/test',
      runId: '0123456789abcdef',
      target: 'sim',
      release: 'default/triton',
      outcome: 'succeeded',
      generatedAt: '2026-01-01T00:00:00.000Z',
      stages: [],
      variants: [],
      simulated: true,
      notes: [],
    };
    const first = await runIn(mockEnvironment(), activities.writeReport, { run, bucket: spec.bucket, report });
    const second = await runIn(mockEnvironment(), activities.writeReport, { run, bucket: spec.bucket, report });
    assert.deepEqual(second, first);
    // The page and its data, each once.
    assert.deepEqual((await world.operations()).filter((op) => op.op === 'gcs.write').map((op) => op.resource), [first.dataUri, first.uri]);
    assert.match(first.dataUri, /\/reports\/deploy_test-01234567\.json$/);
    assert.deepEqual(JSON.parse(Buffer.from((await world.clients().store.read(first.dataUri))!).toString('utf8')), report);
  });

  it('every activity the worker registers can be named by a fault (simulation.faults[].activity)', async () => {
    const { activities } = await setUp();
    assert.deepEqual([...ACTIVITY_NAMES].sort(), Object.keys(activities).sort());
  });

  it('buildEngine heartbeats the Job phase and deletes the Job when cancelled', async () => {
    const { world, activities, spec, run, cluster } = await setUp();
    const env = mockEnvironment();
    await runIn(env, activities.ensureCluster, { run, cluster, spec: spec.cluster });
    await runIn(env, activities.ensureNodePool, { run, cluster, spec: spec.nodePool });
    const request = {
      run,
      cluster,
      bucket: spec.bucket,
      model: spec.models[0]!,
      tensorrtImage: 'nvcr.io/nvidia/tensorrt:24.08-py3',
      nodePool: spec.nodePool.name,
      acceleratorType: spec.nodePool.acceleratorType,
    };
    const resolved = await runIn(env, activities.resolveEngine, request);
    assert.equal(resolved.cached, false);
    const heartbeats: unknown[] = [];
    env.on('heartbeat', (details: unknown) => {
      heartbeats.push(details);
      if (heartbeats.length === 3) env.cancel('CANCELLED');
    });
    // Speed 1: the simulated build takes minutes, so it is still running when cancelled.
    const building = runInSimContext({ deploymentId: run.deploymentId, speed: 1, regression: 0 }, () =>
      runIn(env, activities.buildEngine, { ...request, engineKey: resolved.engineKey }),
    );
    await assert.rejects(building, (error: unknown) => error instanceof CancelledFailure);
    const job = (heartbeats[0] as { job: string }).job;
    assert.match(job, /^trt-resnet50-/);
    assert.ok(heartbeats.every((h) => ['pending', 'running'].includes((h as { phase: string }).phase)));
    assert.equal(await world.clients().kube(cluster).jobStatus(JOB_NAMESPACE, job), null, 'the Job is deleted');
  });

  it('buildEngine returns the cached record instead of building twice', async () => {
    const { world, activities, spec, run, cluster } = await setUp();
    const env = mockEnvironment();
    await runIn(env, activities.ensureCluster, { run, cluster, spec: spec.cluster });
    await runIn(env, activities.ensureNodePool, { run, cluster, spec: spec.nodePool });
    const request = { run, cluster, bucket: spec.bucket, model: spec.models[0]!, tensorrtImage: 'img:24.08', nodePool: 'accel', acceleratorType: 'nvidia-tesla-t4' };
    const { engineKey } = await runIn(env, activities.resolveEngine, request);
    const first = await runIn(env, activities.buildEngine, { ...request, engineKey });
    const second = await runIn(env, activities.buildEngine, { ...request, engineKey });
    assert.equal(first.cached, false);
    assert.equal(second.cached, true);
    assert.deepEqual(second.record, first.record);
    assert.equal((await runIn(env, activities.resolveEngine, request)).cached, true);
    const creates = (await world.operations()).filter((op) => op.op === 'job.create');
    assert.equal(creates.length, 1);
  });
});
