/**
 * The cluster activities through the real gcloud CLI against a local stand-in of the GKE REST API
 * (gcloud's container endpoint overridden): create, poll to RUNNING, adopt, refuse a mismatch,
 * map quota / permission / conflict errors, update autoscaling, delete idempotently.
 */
import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import { createAutoscalingActivities } from '../../src/activities/autoscaling.js';
import { createClusterActivities } from '../../src/activities/cluster.js';
import type { KubeApi } from '../../src/activities/ports.js';
import { loadMetricsAdapter } from '../../src/assets.js';
import { exec } from '../../src/clients/exec.js';
import { createGcloudGke, gcloudErrorCode } from '../../src/clients/gcloud-gke.js';
import type { DeploymentSpec } from '../../src/spec/schema.js';
import { validateSpec } from '../../src/spec/validate.js';
import { runActivity } from '../helpers/activity-env.js';
import { exampleSpec } from '../helpers/specs.js';
import { startGkeStandIn, type GkeStandIn } from '../standins/gke-api.js';

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
  it('creates the cluster and GPU node pool, polls them to RUNNING, then adopts them', async () => {
    const activities = createClusterActivities({ gke });
    const cluster = { project: 'proj-a', zone: spec.zone, cluster: spec.cluster.name };
    const run = { deploymentId: 'deploy/test' };
    assert.equal((await runActivity(activities.ensureCluster, { run, cluster, spec: spec.cluster })).outcome, 'created');
    assert.ok((await pollUntilRunning(() => runActivity(activities.awaitClusterRunning, { run, cluster }))) > 1, 'PROVISIONING first');
    assert.equal((await runActivity(activities.ensureNodePool, { run, cluster, spec: spec.nodePool })).outcome, 'created');
    await pollUntilRunning(() => runActivity(activities.awaitNodePoolRunning, { run, cluster, nodePool: spec.nodePool.name }));

    const create = standIn.requests.find((r) => r.method === 'POST' && r.path.endsWith('/clusters'));
    const sent = (create!.body as { cluster: { name: string; releaseChannel: { channel: string }; workloadIdentityConfig: { workloadPool: string } } }).cluster;
    assert.equal(sent.name, spec.cluster.name);
    assert.equal(sent.releaseChannel.channel, 'REGULAR');
    assert.equal(sent.workloadIdentityConfig.workloadPool, 'proj-a.svc.id.goog');
    const pool = standIn.requests.find((r) => r.method === 'POST' && r.path.endsWith('/nodePools'));
    const nodePool = (pool!.body as { nodePool: { autoscaling: unknown; config: { accelerators: unknown[]; diskSizeGb: number; machineType: string } } }).nodePool;
    assert.deepEqual(nodePool.config.accelerators, [{ acceleratorCount: '1', acceleratorType: 'nvidia-tesla-t4', gpuDriverInstallationConfig: { gpuDriverVersion: 'DEFAULT' } }]);
    assert.equal(nodePool.config.diskSizeGb, 100);
    assert.deepEqual(nodePool.autoscaling, { enabled: true, maxNodeCount: 3, minNodeCount: 1 });

    assert.equal((await runActivity(activities.ensureCluster, { run, cluster, spec: spec.cluster })).outcome, 'adopted');
    assert.equal((await runActivity(activities.ensureNodePool, { run, cluster, spec: spec.nodePool })).outcome, 'adopted');
    const mismatch = await failureOf(runActivity(activities.ensureNodePool, { run, cluster, spec: { ...spec.nodePool, acceleratorType: 'nvidia-l4' } }));
    assert.equal(mismatch.type, 'ConfigMismatch');
    assert.match(mismatch.message, /acceleratorType: spec nvidia-l4, existing nvidia-tesla-t4/);
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
  });

  it('updates node-pool autoscaling through the autoscaling stage', async () => {
    const cluster = { project: 'proj-d', zone: spec.zone, cluster: 'scale' };
    const run = { deploymentId: 'deploy/test' };
    const clusterActivities = createClusterActivities({ gke });
    await runActivity(clusterActivities.ensureCluster, { run, cluster, spec: spec.cluster });
    await pollUntilRunning(() => runActivity(clusterActivities.awaitClusterRunning, { run, cluster }));
    await runActivity(clusterActivities.ensureNodePool, { run, cluster, spec: spec.nodePool });
    const applied: unknown[] = [];
    const kube = { apply: async (o: unknown) => void applied.push(o) } as unknown as KubeApi;
    const activities = createAutoscalingActivities({ gke, kube: () => kube, metricsAdapter: await loadMetricsAdapter() });
    const scaled = { ...spec, nodePool: { ...spec.nodePool, minNodes: 2, maxNodes: 4 } };
    assert.deepEqual(await runActivity(activities.enableAutoscaling, { run, cluster, spec: scaled }), { hpa: 'inference/triton' });
    assert.deepEqual(standIn.cluster('proj-d', spec.zone, 'scale')!.nodePools.get('accel')!.autoscaling, { enabled: true, maxNodeCount: 4, minNodeCount: 2 });
    const kinds = applied.map((o) => (o as { kind: string }).kind);
    assert.ok(kinds.includes('APIService'), 'the metrics adapter is installed first');
    assert.equal(kinds.at(-1), 'HorizontalPodAutoscaler');
  });

  it('deletes node pools and clusters idempotently (saga inverses)', async () => {
    const activities = createClusterActivities({ gke });
    const cluster = { project: 'proj-a', zone: spec.zone, cluster: spec.cluster.name };
    const run = { deploymentId: 'deploy/test' };
    await runActivity(activities.deleteNodePool, { run, cluster, nodePool: spec.nodePool.name });
    await runActivity(activities.deleteNodePool, { run, cluster, nodePool: spec.nodePool.name });
    await runActivity(activities.deleteCluster, { run, cluster });
    await runActivity(activities.deleteCluster, { run, cluster });
    assert.equal(standIn.cluster('proj-a', spec.zone, spec.cluster.name), undefined);
  });
});
