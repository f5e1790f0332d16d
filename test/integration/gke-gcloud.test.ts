/**
 * The cluster activities through the real gcloud CLI against a local stand-in of the GKE REST API
 * (gcloud's container endpoint overridden): create (marked with the creating run), poll to RUNNING,
 * re-ensure after a lost reply, adopt, refuse a mismatch, map quota / permission / conflict errors,
 * GKE's managed DCGM metrics (on at create, turned on once for an adopted cluster), update
 * autoscaling, and the saga's deletes against a stand-in that runs one operation at a time.
 */
import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { createAutoscalingActivities } from '../../src/activities/autoscaling.js';
import { createClusterActivities, CREATED_BY_LABEL } from '../../src/activities/cluster.js';
import { ApiError } from '../../src/ports/errors.js';
import type { KubeApi } from '../../src/ports/systems.js';
import { loadMetricsAdapter } from '../../src/assets.js';
import { exec } from '../../src/clients/exec.js';
import { createGcloudGke, gcloudErrorCode } from '../../src/clients/gcloud-gke.js';
import { clusterMonitoringFor } from '../../src/plan/helm-values.js';
import type { DeploymentSpec } from '../../src/spec/schema.js';
import { validateSpec } from '../../src/spec/validate.js';
import { runActivity, runIn } from '../helpers/activity-env.js';
import { exampleSpec } from '../helpers/specs.js';
import { type GkeStandIn, startGkeStandIn } from '../standins/gke-api.js';

let standIn: GkeStandIn;
let gke: ReturnType<typeof createGcloudGke>;
let spec: DeploymentSpec;

before(async () => {
  standIn = await startGkeStandIn();
  const config = await mkdtemp(join(tmpdir(), 'gcloud-'));
  await writeFile(join(config, 'token'), 'stand-in-token\n');
  gke = createGcloudGke({
    exec,
    env: {
      CLOUDSDK_CONFIG: config,
      CLOUDSDK_AUTH_ACCESS_TOKEN_FILE: join(config, 'token'),
      CLOUDSDK_CORE_ACCOUNT: 'pipeline@stand-in.iam.gserviceaccount.com',
      CLOUDSDK_CORE_SHOULD_PROMPT_TO_ENABLE_API: 'false',
      CLOUDSDK_API_ENDPOINT_OVERRIDES_CONTAINER: standIn.url,
      CLOUDSDK_API_ENDPOINT_OVERRIDES_SERVICEUSAGE: standIn.url,
    },
  });
  const result = validateSpec(exampleSpec('gke'));
  assert.ok(result.ok);
  spec = result.spec;
});
after(() => standIn?.close());

async function failureOf(promise: Promise<unknown>): Promise<ApplicationFailure> {
  const error = await promise.then(() => assert.fail('expected a failure'), (e: unknown) => e);
  assert.ok(error instanceof ApplicationFailure, String(error));
  return error;
}

/** An attempt of a run's activity: its workflow run, and the quick profile's 2-minute start-to-close. */
const attemptOf = (runId: string) =>
  new MockActivityEnvironment({ startToCloseTimeoutMs: 120_000, workflowExecution: { workflowId: 'deploy/test', runId } }, { logger: new DefaultLogger('ERROR') });

/** What the workflow's readiness retry does: poll until the activity stops saying NotReady. */
async function pollUntilRunning(poll: () => Promise<void>): Promise<number> {
  for (let attempt = 1; attempt <= 20; attempt++) {
    try {
      await poll();
      return attempt;
    } catch (error) {
      assert.ok(error instanceof ApplicationFailure && error.type === 'NotReady', String(error));
    }
  }
  throw new Error('never became RUNNING');
}

describe('GKE through gcloud (GKE API stand-in)', () => {
  it('creates the cluster and GPU node pool marked with the run, polls them to RUNNING; the same run re-ensures them as created, another adopts them', async () => {
    const activities = createClusterActivities({ gke });
    const cluster = { project: 'proj-a', zone: spec.zone, cluster: spec.cluster.name };
    const run = { deploymentId: 'deploy/test' };
    const first = attemptOf('run-1');
    assert.equal((await runIn(first, activities.ensureCluster, { run, cluster, spec: spec.cluster })).outcome, 'created');
    assert.ok((await pollUntilRunning(() => runActivity(activities.awaitClusterRunning, { run, cluster }))) > 1, 'PROVISIONING first');
    assert.equal((await runIn(first, activities.ensureNodePool, { run, cluster, spec: spec.nodePool })).outcome, 'created');
    await pollUntilRunning(() => runActivity(activities.awaitNodePoolRunning, { run, cluster, nodePool: spec.nodePool.name }));

    const create = standIn.requests.find((r) => r.method === 'POST' && r.path.endsWith('/clusters'));
    const sent = (create!.body as { cluster: { name: string; releaseChannel: { channel: string }; workloadIdentityConfig: { workloadPool: string }; resourceLabels: Record<string, string> } }).cluster;
    assert.equal(sent.name, spec.cluster.name);
    assert.equal(sent.releaseChannel.channel, 'REGULAR');
    assert.equal(sent.workloadIdentityConfig.workloadPool, 'proj-a.svc.id.goog');
    const mark = sent.resourceLabels[CREATED_BY_LABEL]!;
    assert.match(mark, /^[a-f0-9]{40}$/, 'a GCP label value: lowercase, at most 63 characters');
    const pool = standIn.requests.find((r) => r.method === 'POST' && r.path.endsWith('/nodePools'));
    const nodePool = (pool!.body as { nodePool: { autoscaling: unknown; config: { accelerators: unknown[]; diskSizeGb: number; machineType: string; resourceLabels: Record<string, string> } } }).nodePool;
    assert.deepEqual(nodePool.config.accelerators, [{ acceleratorCount: '1', acceleratorType: 'nvidia-tesla-t4', gpuDriverInstallationConfig: { gpuDriverVersion: 'DEFAULT' } }]);
    assert.equal(nodePool.config.diskSizeGb, 100);
    assert.deepEqual(nodePool.config.resourceLabels, { [CREATED_BY_LABEL]: mark });
    assert.deepEqual(nodePool.autoscaling, { enabled: true, maxNodeCount: 3, minNodeCount: 1 });

    // A retry of the same run (its first reply lost) finds its own mark: still created, so the saga registers the inverse.
    const retry = attemptOf('run-1');
    assert.equal((await runIn(retry, activities.ensureCluster, { run, cluster, spec: spec.cluster })).outcome, 'created');
    assert.equal((await runIn(retry, activities.ensureNodePool, { run, cluster, spec: spec.nodePool })).outcome, 'created');
    // The next deployment of the release (same workflow ID, another run) adopts them.
    const next = attemptOf('run-2');
    assert.equal((await runIn(next, activities.ensureCluster, { run, cluster, spec: spec.cluster })).outcome, 'adopted');
    assert.equal((await runIn(next, activities.ensureNodePool, { run, cluster, spec: spec.nodePool })).outcome, 'adopted');
    assert.equal(standIn.requests.filter((r) => r.method === 'POST' && /\/(clusters|nodePools)$/.test(r.path)).length, 2, 'created once each');
    const mismatch = await failureOf(runActivity(activities.ensureNodePool, { run, cluster, spec: { ...spec.nodePool, acceleratorType: 'nvidia-l4' } }));
    assert.equal(mismatch.type, 'ConfigMismatch');
    assert.match(mismatch.message, /acceleratorType: spec nvidia-l4, existing nvidia-tesla-t4/);
  });

  it('creates the cluster with GKE\'s managed DCGM metrics and Managed Prometheus when the run needs them', async () => {
    const activities = createClusterActivities({ gke });
    const cluster = { project: 'proj-g', zone: spec.zone, cluster: 'dcgm' };
    const run = { deploymentId: 'deploy/test' };
    const monitoring = clusterMonitoringFor(spec)!;
    assert.equal((await runIn(attemptOf('run-1'), activities.ensureCluster, { run, cluster, spec: spec.cluster, monitoring })).outcome, 'created');
    const create = standIn.requests.find((r) => r.method === 'POST' && r.path.endsWith('/projects/proj-g/locations/us-central1-a/clusters'));
    assert.deepEqual((create!.body as { cluster: { monitoringConfig: unknown } }).cluster.monitoringConfig, {
      componentConfig: { enableComponents: ['SYSTEM_COMPONENTS', 'DCGM'] },
      managedPrometheusConfig: { enabled: true },
    });
    await pollUntilRunning(() => runActivity(activities.awaitClusterRunning, { run, cluster }));
    assert.deepEqual((await gke.getCluster(cluster))!.monitoring, { components: ['SYSTEM', 'DCGM'], managedPrometheus: true });
    // Adopted with DCGM on: nothing to update.
    assert.deepEqual(await runIn(attemptOf('run-2'), activities.ensureCluster, { run, cluster, spec: spec.cluster, monitoring }), { outcome: 'adopted' });
    assert.equal(standIn.requests.filter((r) => r.method === 'PUT' && r.path.includes('/clusters/dcgm')).length, 0);
  });

  it('turns managed DCGM on, keeping the other components, on an adopted cluster that lacks it; once', async () => {
    const activities = createClusterActivities({ gke });
    const cluster = { project: 'proj-h', zone: spec.zone, cluster: 'no-dcgm' };
    const run = { deploymentId: 'deploy/test' };
    await gke.createCluster(cluster, { name: cluster.cluster, machineType: spec.cluster.machineType, nodes: 1, releaseChannel: 'regular', monitoring: ['SYSTEM', 'POD'] });
    await pollUntilRunning(() => runActivity(activities.awaitClusterRunning, { run, cluster }));
    const monitoring = clusterMonitoringFor(spec)!;
    const adopted = await runIn(attemptOf('run-1'), activities.ensureCluster, { run, cluster, spec: spec.cluster, monitoring });
    assert.equal(adopted.outcome, 'adopted');
    assert.ok(adopted.operation, 'the update GKE runs');
    const updates = () => standIn.requests.filter((r) => r.method === 'PUT' && r.path.endsWith('/clusters/no-dcgm'));
    assert.deepEqual(updates().map((r) => (r.body as { update: { desiredMonitoringConfig: unknown } }).update.desiredMonitoringConfig), [
      { componentConfig: { enableComponents: ['SYSTEM_COMPONENTS', 'POD', 'DCGM'] }, managedPrometheusConfig: { enabled: true } },
    ]);
    // GKE reconciles the cluster meanwhile: the workflow's wait polls it back to RUNNING.
    assert.ok((await pollUntilRunning(() => runActivity(activities.awaitClusterRunning, { run, cluster }))) >= 1);
    assert.deepEqual((await gke.getCluster(cluster))!.monitoring, { components: ['SYSTEM', 'POD', 'DCGM'], managedPrometheus: true });
    assert.deepEqual(await runIn(attemptOf('run-2'), activities.ensureCluster, { run, cluster, spec: spec.cluster, monitoring }), { outcome: 'adopted' }, 're-run: nothing more');
    assert.equal(updates().length, 1);
    // Refused while another operation runs on the cluster: not ready yet, polled (as the node pool create).
    await gke.createCluster({ ...cluster, cluster: 'busy-dcgm' }, { name: 'busy-dcgm', machineType: spec.cluster.machineType, nodes: 1, releaseChannel: 'regular' });
    await pollUntilRunning(() => runActivity(activities.awaitClusterRunning, { run, cluster: { ...cluster, cluster: 'busy-dcgm' } }));
    standIn.inject({ method: 'PUT', path: /clusters\/busy-dcgm$/, code: 400, status: 'FAILED_PRECONDITION', message: 'Operation operation-1558074043943-c4492e58 is currently upgrading cluster busy-dcgm. Please wait and try again once it is done.' });
    const refused = await failureOf(runActivity(activities.ensureCluster, { run, cluster: { ...cluster, cluster: 'busy-dcgm' }, spec: spec.cluster, monitoring }));
    assert.equal(refused.type, 'NotReady', refused.message);
  });

  it('adopts a cluster and pool created without a mark', async () => {
    const activities = createClusterActivities({ gke });
    const cluster = { project: 'proj-e', zone: spec.zone, cluster: 'unmarked' };
    const run = { deploymentId: 'deploy/test' };
    await gke.createCluster(cluster, { name: cluster.cluster, machineType: spec.cluster.machineType, nodes: 1, releaseChannel: 'regular' });
    await pollUntilRunning(() => runActivity(activities.awaitClusterRunning, { run, cluster }));
    await gke.createNodePool(cluster, { ...spec.nodePool });
    assert.equal((await runIn(attemptOf('run-1'), activities.ensureCluster, { run, cluster, spec: spec.cluster })).outcome, 'adopted');
    assert.equal((await runIn(attemptOf('run-1'), activities.ensureNodePool, { run, cluster, spec: spec.nodePool })).outcome, 'adopted');
  });

  it('maps a GPU quota error to a non-retryable QuotaExceeded', async () => {
    const activities = createClusterActivities({ gke });
    const cluster = { project: 'proj-b', zone: spec.zone, cluster: 'quota' };
    const run = { deploymentId: 'deploy/test' };
    await runActivity(activities.ensureCluster, { run, cluster, spec: spec.cluster });
    await pollUntilRunning(() => runActivity(activities.awaitClusterRunning, { run, cluster }));
    const failure = await failureOf(runActivity(activities.ensureNodePool, { run, cluster, spec: { ...spec.nodePool, maxNodes: 16 } }));
    assert.equal(failure.type, 'QuotaExceeded');
    assert.equal(failure.nonRetryable, true);
    assert.match(failure.message, /NVIDIA_T4_GPUS/);
  });

  it('maps permission errors to permanent and operation conflicts / outages to transient failures', async () => {
    const activities = createClusterActivities({ gke });
    const run = { deploymentId: 'deploy/test' };
    const cluster = { project: 'proj-c', zone: spec.zone, cluster: 'errors' };
    standIn.inject({ method: 'GET', path: /clusters\/errors$/, code: 403, status: 'PERMISSION_DENIED', message: "Required 'container.clusters.get' permission for 'projects/proj-c/locations/us-central1-a/clusters/errors'." });
    const denied = await failureOf(runActivity(activities.ensureCluster, { run, cluster, spec: spec.cluster }));
    assert.equal(denied.type, 'PermissionDenied');
    assert.equal(denied.nonRetryable, true);
    standIn.inject({ method: 'GET', path: /clusters\/errors$/, code: 503, status: 'UNAVAILABLE', message: 'The service is currently unavailable.' });
    const outage = await failureOf(runActivity(activities.ensureCluster, { run, cluster, spec: spec.cluster }));
    assert.equal(outage.type, 'TransientFailure');
    assert.equal(outage.nonRetryable, false);
    assert.equal(gcloudErrorCode('ERROR: (gcloud.container.clusters.update) ResponseError: code=400, message=Cluster is running incompatible operation operation-1.'), 'ABORTED');
    // GKE's usual conflict says to wait and try again: not ready yet (polled), not a permanent InvalidArgument.
    standIn.inject({ method: 'POST', path: /clusters\/errors\/nodePools$/, code: 400, status: 'FAILED_PRECONDITION', message: 'Operation operation-1558074043943-c4492e58 is currently upgrading cluster errors. Please wait and try again once it is done.' });
    const conflict = await failureOf(runActivity(activities.ensureNodePool, { run, cluster, spec: spec.nodePool }));
    assert.equal(conflict.type, 'NotReady', conflict.message);
    assert.equal(conflict.nonRetryable, false);
    assert.match(conflict.message, /is currently upgrading cluster errors/);
    // gcloud retries a 429 itself; what it prints once it gives up is read as a rate limit, not a quota.
    assert.equal(gcloudErrorCode('ERROR: (gcloud.container.node-pools.create) ResponseError: code=429, message=Too many operations: cluster "errors" hits the concurrent operations quota 5, please try again later.'), 'UNAVAILABLE');
    assert.equal(gcloudErrorCode('ERROR: (gcloud.container.node-pools.create) ResponseError: code=403, message=Insufficient regional quota to satisfy request: resource "NVIDIA_T4_GPUS": request requires \'4.0\' and is short \'3.0\'.'), 'RESOURCE_EXHAUSTED');
  });

  it('updates node-pool autoscaling through the autoscaling stage', async () => {
    const cluster = { project: 'proj-d', zone: spec.zone, cluster: 'scale' };
    const run = { deploymentId: 'deploy/test' };
    const clusterActivities = createClusterActivities({ gke });
    await runActivity(clusterActivities.ensureCluster, { run, cluster, spec: spec.cluster });
    await pollUntilRunning(() => runActivity(clusterActivities.awaitClusterRunning, { run, cluster }));
    // A slow pool create (gcloud reads the cluster before each update, which the stand-in counts).
    standIn.slowOperations(8);
    await runActivity(clusterActivities.ensureNodePool, { run, cluster, spec: spec.nodePool }).finally(() => standIn.slowOperations(undefined));
    // GKE refuses the updates while the pool's create runs (the workflow waits for RUNNING first).
    const activities0 = createAutoscalingActivities({ gke, kube: () => ({}) as KubeApi, metricsAdapter: [] });
    const refused = await failureOf(runActivity(activities0.enableAutoscaling, { run, cluster, spec: { ...spec, nodePool: { ...spec.nodePool, maxNodes: 4 } } }));
    // Not ready yet, retried at the poll interval until GKE's operation ends (a GKE upgrade takes many minutes).
    assert.equal(refused.type, 'NotReady', refused.message);
    assert.match(refused.message, /Cluster is running incompatible operation operation-/);
    await pollUntilRunning(() => runActivity(clusterActivities.awaitNodePoolRunning, { run, cluster, nodePool: spec.nodePool.name }));
    const applied: unknown[] = [];
    const kube = { apply: async (o: unknown) => void applied.push(o) } as unknown as KubeApi;
    const activities = createAutoscalingActivities({ gke, kube: () => kube, metricsAdapter: await loadMetricsAdapter() });
    const scaled = { ...spec, nodePool: { ...spec.nodePool, minNodes: 2, maxNodes: 4 } };
    // The HPA scales on GPU utilization: the cluster (created without DCGM) gets GKE's managed DCGM
    // metrics first; GKE then refuses the pool's update until that operation is done (not ready yet, polled).
    let result: unknown;
    await pollUntilRunning(async () => void (result = await runActivity(activities.enableAutoscaling, { run, cluster, spec: scaled })));
    assert.equal((result as { hpa: string }).hpa, 'inference/triton');
    const monitoringUpdates = standIn.requests.filter((r) => r.method === 'PUT' && r.path.endsWith('/clusters/scale') && r.status === 200 && JSON.stringify(r.body).includes('desiredMonitoringConfig'));
    assert.equal(monitoringUpdates.length, 1, 'turned on once');
    assert.deepEqual((monitoringUpdates[0]!.body as { update: { desiredMonitoringConfig: unknown } }).update.desiredMonitoringConfig, {
      componentConfig: { enableComponents: ['SYSTEM_COMPONENTS', 'DCGM'] },
      managedPrometheusConfig: { enabled: true },
    });
    assert.deepEqual(standIn.cluster('proj-d', spec.zone, 'scale')!.nodePools.get('accel')!.autoscaling, { enabled: true, maxNodeCount: 4, minNodeCount: 2 });
    await pollUntilRunning(async () => void (result = await runActivity(activities.enableAutoscaling, { run, cluster, spec: scaled })));
    assert.deepEqual(result, { hpa: 'inference/triton' }, 'a re-run finds DCGM on');
    const kinds = applied.map((o) => (o as { kind: string }).kind);
    assert.ok(kinds.includes('APIService'), 'the metrics adapter is installed first');
    assert.equal(kinds.at(-1), 'HorizontalPodAutoscaler');
  });

  it('the saga deletes the node pool, then the cluster, waiting for GKE\'s operation between them; again, nothing more', async () => {
    const activities = createClusterActivities({ gke });
    const cluster = { project: 'proj-a', zone: spec.zone, cluster: spec.cluster.name };
    const run = { deploymentId: 'deploy/test' };
    const ref = `projects/proj-a/locations/${spec.zone}/clusters/${spec.cluster.name}`;
    const deletes = () => standIn.requests.filter((r) => r.method === 'DELETE' && r.path.startsWith(`/v1/${ref}`));

    // Issued back to back, as before: GKE refuses the cluster delete while the pool's delete runs.
    await gke.deleteNodePool(cluster, spec.nodePool.name);
    await assert.rejects(gke.deleteCluster(cluster), (error: unknown) => {
      assert.ok(error instanceof ApiError, String(error));
      assert.equal(error.code, 'ABORTED');
      assert.match(error.message, /Operation operation-\d+-[0-9a-f]+ is currently deleting a node pool for cluster \S+\. Please wait and try again once it is done\./);
      return true;
    });
    assert.deepEqual(deletes().map((r) => [r.path.endsWith('/nodePools/accel') ? 'pool' : 'cluster', r.status]), [['pool', 200], ['cluster', 400]]);
    assert.equal(standIn.cluster('proj-a', spec.zone, spec.cluster.name)?.nodePools.get('accel')?.status, 'STOPPING');

    // The inverses, newest first: the pool's (its delete already running: waited for, not re-issued), then the cluster's.
    await runIn(attemptOf('run-1'), activities.deleteNodePool, { run, cluster, nodePool: spec.nodePool.name });
    assert.equal(standIn.cluster('proj-a', spec.zone, spec.cluster.name)?.nodePools.has('accel'), false);
    await runIn(attemptOf('run-1'), activities.deleteCluster, { run, cluster });
    assert.equal(standIn.cluster('proj-a', spec.zone, spec.cluster.name), undefined);
    assert.deepEqual(deletes().map((r) => [r.path.endsWith('/nodePools/accel') ? 'pool' : 'cluster', r.status]), [['pool', 200], ['cluster', 400], ['cluster', 200]]);
    const ops = standIn.operations.filter((op) => op.project === 'proj-a' && op.operationType.startsWith('DELETE'));
    assert.deepEqual(ops.map((op) => [op.operationType, op.status]), [['DELETE_NODE_POOL', 'DONE'], ['DELETE_CLUSTER', 'DONE']]);
    assert.ok(ops[0]!.endTime! <= ops[1]!.startTime, 'the cluster delete started after the pool delete ended');

    // Idempotent: what is gone is done, without another delete.
    await runIn(attemptOf('run-1'), activities.deleteNodePool, { run, cluster, nodePool: spec.nodePool.name });
    await runIn(attemptOf('run-1'), activities.deleteCluster, { run, cluster });
    assert.equal(deletes().length, 3);
  });

  it('a cluster delete waits for a node pool create still running on the cluster', async () => {
    const activities = createClusterActivities({ gke });
    const cluster = { project: 'proj-f', zone: spec.zone, cluster: 'busy' };
    const run = { deploymentId: 'deploy/test' };
    await runIn(attemptOf('run-1'), activities.ensureCluster, { run, cluster, spec: spec.cluster });
    await pollUntilRunning(() => runActivity(activities.awaitClusterRunning, { run, cluster }));
    standIn.slowOperations(8);
    await runIn(attemptOf('run-1'), activities.ensureNodePool, { run, cluster, spec: spec.nodePool }).finally(() => standIn.slowOperations(undefined));
    const heartbeats: unknown[] = [];
    const attempt = attemptOf('run-1');
    attempt.on('heartbeat', (details: unknown) => heartbeats.push(details));
    await runIn(attempt, activities.deleteCluster, { run, cluster });
    assert.equal(standIn.cluster('proj-f', spec.zone, 'busy'), undefined);
    assert.ok(heartbeats.some((h) => /CREATE_NODE_POOL/.test(JSON.stringify(h))), JSON.stringify(heartbeats));
    const refused = standIn.requests.filter((r) => r.method === 'DELETE' && r.path.includes('/clusters/busy') && r.status !== 200);
    assert.deepEqual(refused, [], 'the inverse waited for the operation instead of being refused');
  });
});
