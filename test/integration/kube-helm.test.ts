/**
 * The gke activities' Kubernetes and Helm half against a real kube-apiserver (kwok nodes): the
 * driver DaemonSet by server-side apply and the wait for allocatable GPUs, an engine-build Job
 * created, heartbeated and deleted on cancel, a failing one surfacing as a typed failure, `helm upgrade --install --wait` of
 * deploy/charts/triton, a second revision, rollback to revision 1 with the Deployment back at
 * revision 1's repository, the HPA and the metrics adapter accepted by the API server, and every
 * manifest in deploy/ accepted by `kubectl apply --dry-run=server`.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { createAutoscalingActivities } from '../../src/activities/autoscaling.js';
import { createDriverActivities } from '../../src/activities/driver.js';
import { createEngineActivities } from '../../src/activities/engines.js';
import { createHelmActivities } from '../../src/activities/helm.js';
import { JOB_NAMESPACE } from '../../src/activities/jobs.js';
import type { GkeApi, ObjectStore } from '../../src/activities/ports.js';
import { loadDriverInstaller, loadJobScripts, loadMetricsAdapter } from '../../src/assets.js';
import { exec } from '../../src/clients/exec.js';
import { createHelmCli } from '../../src/clients/helm.js';
import { createKubeClient, kubeConfigFromFile } from '../../src/clients/kube.js';
import { createTritonProbe } from '../../src/clients/triton-probe.js';
import { tritonValues } from '../../src/plan/helm-values.js';
import type { DeploymentSpec } from '../../src/spec/schema.js';
import { validateSpec } from '../../src/spec/validate.js';
import { mockEnvironment, runActivity, runIn } from '../helpers/activity-env.js';
import { exampleSpec, PROJECT_ROOT } from '../helpers/specs.js';
import { gpuNode, startKwokCluster, type KwokCluster } from '../standins/kwok-cluster.js';

let cluster: KwokCluster;
let spec: DeploymentSpec;
const ref = { project: 'p', zone: 'us-central1-a', cluster: 'kwok' };
const run = { deploymentId: 'deploy/p/kwok/inference/triton' };

before(async () => {
  cluster = await startKwokCluster(`it-${process.pid}`);
  const result = validateSpec(exampleSpec('gke'));
  assert.ok(result.ok);
  spec = result.spec;
});
after(() => cluster?.stop());

const kube = () => createKubeClient(kubeConfigFromFile(cluster.kubeconfig));
const helmActivities = () =>
  createHelmActivities({
    helm: () => createHelmCli({ exec, helm: join(PROJECT_ROOT, '.tools/bin/helm'), kubeconfig: cluster.kubeconfig }),
    triton: () => createTritonProbe(kube(), kubeConfigFromFile(cluster.kubeconfig), { checkHealth: false }),
    chart: join(PROJECT_ROOT, 'deploy/charts/triton'),
    heartbeatIntervalMs: 1000,
  });

async function failureOf(promise: Promise<unknown>): Promise<ApplicationFailure> {
  const error = await promise.then(() => assert.fail('expected a failure'), (e: unknown) => e);
  assert.ok(error instanceof ApplicationFailure, String(error));
  return error;
}

/**
 * Values as the pipeline renders them, for a cluster without GKE's extras: no Google Managed
 * Prometheus CRDs, and no load-balancer controller (helm --wait would wait for an external IP).
 */
function values(version: string) {
  return {
    ...tritonValues(spec, `gs://models/r/versions/${version}`, { deploymentId: run.deploymentId, repositoryVersion: version }),
    monitoring: { kind: 'none' },
    service: { type: 'ClusterIP', internal: false },
  };
}

describe('Kubernetes and Helm against a real API server (kwok nodes)', () => {
  it('applies the driver DaemonSet and waits until the GPU pool reports allocatable GPUs', async () => {
    await cluster.kubectl(['apply', '-f', '-'], gpuNode('gke-kwok-accel-0', spec.nodePool.name, 0));
    const activities = createDriverActivities({ kube, driverInstaller: await loadDriverInstaller() });
    const nodePool = { ...spec.nodePool, gpuDriver: 'installer-daemonset' as const };
    assert.deepEqual(await runActivity(activities.ensureGpuDriver, { run, cluster: ref, nodePool }), { applied: true });
    assert.deepEqual(await runActivity(activities.ensureGpuDriver, { run, cluster: ref, nodePool }), { applied: true }, 'a re-apply is a no-op');
    const managers = await cluster.kubectl(['get', 'daemonset', 'nvidia-driver-installer', '-n', 'kube-system', '-o', 'jsonpath={.metadata.managedFields[*].manager}']);
    assert.match(managers, /triton-pipeline/);
    const waiting = await failureOf(runActivity(activities.awaitAllocatableGpus, { run, cluster: ref, nodePool }));
    assert.equal(waiting.type, 'NotReady');
    // The device plugin (started by the driver installer on GKE) reports the GPU.
    await cluster.setNodeGpus('gke-kwok-accel-0', 1);
    for (let i = 0; ; i++) {
      try {
        assert.deepEqual(await runActivity(activities.awaitAllocatableGpus, { run, cluster: ref, nodePool }), { nodes: 1, gpus: 1 });
        break;
      } catch (error) {
        if (i > 50 || !(error instanceof ApplicationFailure && error.type === 'NotReady')) throw error;
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  });

  it('creates the engine-build Job on the GPU pool, heartbeats it, and deletes it when cancelled', async () => {
    const store = { read: async () => null, stat: async () => ({ uri: '', md5: 'source-md5', size: 1 }) } as unknown as ObjectStore;
    const activities = createEngineActivities({ kube, store, pollIntervalMs: 200, jobScripts: await loadJobScripts(JOB_NAMESPACE) });
    const env = mockEnvironment();
    const heartbeats: Array<{ job: string; phase: string }> = [];
    env.on('heartbeat', (details: { job: string; phase: string }) => {
      heartbeats.push(details);
      if (details.phase === 'running') env.cancel('CANCELLED');
    });
    const request = { run, cluster: ref, bucket: 'gs://models', model: spec.models[0]!, tensorrtImage: 'nvcr.io/nvidia/tensorrt:24.08-py3', nodePool: 'accel', acceleratorType: 'nvidia-tesla-t4', engineKey: 'a1b2c3d4e5f6a7b8' };
    await assert.rejects(runIn(env, activities.buildEngine, request), (e: unknown) => e instanceof CancelledFailure);
    const job = heartbeats[0]!.job;
    assert.ok(heartbeats.some((h) => h.phase === 'running'), 'the Job ran: its pod was scheduled on the GPU node');
    assert.equal(await kube().jobStatus(JOB_NAMESPACE, job), null, 'deleted on cancel');
    const scripts = await cluster.kubectl(['get', 'configmap', 'triton-pipeline-job-scripts', '-n', JOB_NAMESPACE, '-o', 'jsonpath={.data}']);
    assert.match(scripts, /build-engine\.sh/);
  });

  it('surfaces a failing engine-build Job as a permanent EngineBuildFailed with the Job\'s reason', async () => {
    const store = { read: async () => null, stat: async () => ({ uri: '', md5: 'source-md5', size: 1 }) } as unknown as ObjectStore;
    const activities = createEngineActivities({ kube, store, pollIntervalMs: 200, jobScripts: await loadJobScripts(JOB_NAMESPACE) });
    const request = { run, cluster: ref, bucket: 'gs://models', model: spec.models[0]!, tensorrtImage: 'nvcr.io/nvidia/tensorrt:24.08-py3', nodePool: 'accel', acceleratorType: 'nvidia-tesla-t4', engineKey: 'f00dfeedf00dfeed' };
    // Every pod of the Job exits 1 (the Job allows one retry), as a crashing TensorRT build would.
    const pods = cluster.exitJobPods(JOB_NAMESPACE, 1);
    try {
      const failure = await failureOf(runActivity(activities.buildEngine, request));
      assert.equal(failure.type, 'EngineBuildFailed');
      assert.equal(failure.nonRetryable, true);
      assert.match(failure.message, /failed: BackoffLimitExceeded/);
    } finally {
      pods.stop();
    }
  });

  it('installs the Triton release with --wait, upgrades it, rolls back to revision 1 and uninstalls', async () => {
    // A rolling update's surge pod needs a second GPU: on GKE the pool's autoscaler adds this node.
    await cluster.kubectl(['apply', '-f', '-'], gpuNode('gke-kwok-accel-1', spec.nodePool.name, 1));
    const activities = helmActivities();
    const releaseRef = { run, cluster: ref, release: 'triton', namespace: 'inference' };
    assert.equal(await runActivity(activities.describeRelease, releaseRef), null);
    assert.deepEqual(await runActivity(activities.upgradeRelease, { ...releaseRef, values: values('v1') }), { revision: 1 });
    assert.deepEqual(await runActivity(activities.upgradeRelease, { ...releaseRef, values: values('v1') }), { revision: 1 }, 'idempotent: the same run does not upgrade twice');
    assert.deepEqual(await runActivity(activities.awaitReleaseServing, { ...releaseRef, repositoryUri: 'gs://models/r/versions/v1' }), { models: ['ResNet50-INT8-2'] });
    assert.deepEqual(await runActivity(activities.upgradeRelease, { ...releaseRef, values: values('v2') }), { revision: 2 });
    const args = () => cluster.kubectl(['get', 'deployment', 'triton', '-n', 'inference', '-o', 'jsonpath={.spec.template.spec.containers[0].args}']);
    assert.match(await args(), /versions\/v2/);
    const state = await runActivity(activities.describeRelease, releaseRef);
    assert.deepEqual([state?.revision, state?.status, state?.repositoryUri], [2, 'deployed', 'gs://models/r/versions/v2']);

    assert.deepEqual(await runActivity(activities.rollbackRelease, { ...releaseRef, toRevision: 1 }), { revision: 3 });
    assert.deepEqual(await runActivity(activities.rollbackRelease, { ...releaseRef, toRevision: 1 }), { revision: 3 }, 'idempotent');
    assert.match(await args(), /versions\/v1/);
    assert.doesNotMatch(await args(), /versions\/v2/);
    await runActivity(activities.awaitReleaseServing, { ...releaseRef, repositoryUri: 'gs://models/r/versions/v1' });
    const history = await createHelmCli({ exec, helm: join(PROJECT_ROOT, '.tools/bin/helm'), kubeconfig: cluster.kubeconfig }).history('triton', 'inference');
    assert.deepEqual(history.map((h) => [h.revision, h.status]), [[1, 'superseded'], [2, 'superseded'], [3, 'deployed']]);
    assert.match(history[2]!.description, /Rollback to 1/);

    await runActivity(activities.uninstallRelease, releaseRef);
    await runActivity(activities.uninstallRelease, releaseRef);
    assert.equal(await runActivity(activities.describeRelease, releaseRef), null);
  });

  it('applies the metrics adapter and an autoscaling/v2 HPA that the API server accepts', async () => {
    const gke = { setNodePoolAutoscaling: async () => undefined } as unknown as GkeApi;
    const activities = createAutoscalingActivities({ gke, kube, metricsAdapter: await loadMetricsAdapter() });
    const withRelease = { ...spec, release: { ...spec.release, namespace: 'default' } };
    assert.deepEqual(await runActivity(activities.enableAutoscaling, { run, cluster: ref, spec: withRelease }), { hpa: 'default/triton' });
    const hpa = JSON.parse(await cluster.kubectl(['get', 'hpa', 'triton', '-n', 'default', '-o', 'json'])) as { apiVersion: string; spec: { scaleTargetRef: { name: string } } };
    assert.equal(hpa.apiVersion, 'autoscaling/v2');
    assert.equal(hpa.spec.scaleTargetRef.name, 'triton');
    assert.match(await cluster.kubectl(['get', 'apiservice', 'v1beta1.external.metrics.k8s.io', '-o', 'name']), /external\.metrics/);
  });

  it('accepts every manifest in deploy/ and both charts with kubectl apply --dry-run=server', async () => {
    for (const file of ['deploy/manifests/nvidia-driver-installer.yaml', 'deploy/manifests/custom-metrics-adapter.yaml']) {
      await cluster.kubectl(['apply', '--dry-run=server', '-f', join(PROJECT_ROOT, file)]);
    }
    const helm = join(PROJECT_ROOT, '.tools/bin/helm');
    const renders = [
      ['template', 'triton', join(PROJECT_ROOT, 'deploy/charts/triton'), '-f', join(PROJECT_ROOT, 'deploy/values/triton-seed.yaml'), '--set', 'monitoring.kind=none', '--set', 'autoscaling.enabled=true', '--namespace', 'default'],
      ['template', 'worker', join(PROJECT_ROOT, 'deploy/charts/pipeline-worker'), '-f', join(PROJECT_ROOT, 'deploy/values/worker-example.yaml'), '--namespace', 'default'],
    ];
    for (const args of renders) {
      const manifests = (await exec(helm, args)).stdout;
      // Namespaced objects of the chart land in namespaces that exist on a fresh cluster or are created by it.
      await cluster.kubectl(['apply', '--dry-run=server', '-f', '-'], manifests);
    }
  });
});
