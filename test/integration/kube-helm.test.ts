/**
 * The gke activities' Kubernetes and Helm half against a real kube-apiserver (kwok nodes): the
 * driver DaemonSet by server-side apply and the wait for allocatable GPUs, an engine-build Job
 * created, heartbeated and deleted on cancel, a failing one surfacing as a typed failure, `helm upgrade --install --wait` of
 * deploy/charts/triton, a second revision, rollback to revision 1 with the Deployment back at
 * revision 1's repository, releases that a killed helm (kill -9 during --wait) left
 * pending-upgrade, pending-install or pending-rollback recovered, an HPA's replica count kept
 * across upgrades and rollbacks, the HPA and the metrics adapter accepted by the API server, and
 * every manifest in deploy/ accepted by `kubectl apply --dry-run=server`.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ActivityCancellationDetails, ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { execa } from 'execa';
import { createAutoscalingActivities } from '../../src/activities/autoscaling.js';
import { createDriverActivities } from '../../src/activities/driver.js';
import { createEngineActivities } from '../../src/activities/engines.js';
import { createHelmActivities } from '../../src/activities/helm.js';
import { JOB_NAMESPACE } from '../../src/plan/jobs.js';
import { ApiError } from '../../src/ports/errors.js';
import type { GkeApi, HelmRevision, ObjectStore } from '../../src/ports/systems.js';
import { loadDriverInstaller, loadJobScripts, loadMetricsAdapter } from '../../src/assets.js';
import { exec } from '../../src/clients/exec.js';
import { createHelmCli, upgradeArgs } from '../../src/clients/helm.js';
import { createKubeClient, kubeConfigFromFile } from '../../src/clients/kube.js';
import { createTritonProbe } from '../../src/clients/triton-probe.js';
import { tritonValues } from '../../src/plan/helm-values.js';
import type { DeploymentSpec } from '../../src/spec/schema.js';
import { validateSpec } from '../../src/spec/validate.js';
import { mockEnvironment, runActivity, runIn } from '../helpers/activity-env.js';
import { exampleSpec, PROJECT_ROOT } from '../helpers/specs.js';
import { cpuNode, gpuNode, type KwokCluster, startKwokCluster } from '../standins/kwok-cluster.js';

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

const HELM = join(PROJECT_ROOT, '.tools/bin/helm');
const kube = () => createKubeClient(kubeConfigFromFile(cluster.kubeconfig));
const helmCli = () => createHelmCli({ exec, helm: HELM, kubeconfig: cluster.kubeconfig });
const helmActivities = () =>
  createHelmActivities({
    helm: helmCli,
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

/**
 * Triton on a node of the default pool (no GPU, small requests), so these releases need no GPU
 * node; `nodePool` set to a pool that does not exist leaves the new pods Pending for good.
 */
function cpuValues(version: string, change: Record<string, unknown> = {}) {
  return { ...values(version), gpusPerReplica: 0, nodePool: '', acceleratorType: '', resources: { requests: { cpu: '50m', memory: '64Mi' } }, ...change };
}

async function history(release: string, namespace: string): Promise<Array<[number, HelmRevision['status']]>> {
  return (await helmCli().history(release, namespace)).map((h) => [h.revision, h.status]);
}

/** Runs helm until its revision is pending, then kills it (kill -9), as a crash of the worker running it would. */
async function killedDuring(release: string, namespace: string, args: string[], input?: string): Promise<void> {
  const before = (await history(release, namespace)).length;
  const helm = execa(HELM, [...args, '--kubeconfig', cluster.kubeconfig], { reject: false, all: true, ...(input === undefined ? {} : { input }) });
  for (let i = 0; ; i++) {
    const last = (await history(release, namespace)).at(-1);
    if (last !== undefined && last[0] > before && last[1].startsWith('pending-')) break;
    if (i > 150) {
      helm.kill();
      assert.fail(`helm ${args.join(' ')} left no pending revision:\n${(await helm).all}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  helm.kill('SIGKILL');
  assert.equal((await helm).signal, 'SIGKILL');
}

const neverReady = { nodePool: 'no-such-pool' };

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

  it('leaves the engine-build Job running when the worker shuts down; the next attempt re-attaches to it', async () => {
    const store = { read: async () => null, stat: async () => ({ uri: '', md5: 'source-md5', size: 1 }) } as unknown as ObjectStore;
    const activities = createEngineActivities({ kube, store, pollIntervalMs: 200, jobScripts: await loadJobScripts(JOB_NAMESPACE) });
    const request = { run, cluster: ref, bucket: 'gs://models', model: spec.models[0]!, tensorrtImage: 'nvcr.io/nvidia/tensorrt:24.08-py3', nodePool: 'accel', acceleratorType: 'nvidia-tesla-t4', engineKey: 'b0a710ad5e1f0000' };
    const uid = (job: string) => cluster.kubectl(['get', 'job', job, '-n', JOB_NAMESPACE, '-o', 'jsonpath={.metadata.uid}']);
    // What the SDK delivers on a graceful worker shutdown once its grace time is over.
    const shutdown = mockEnvironment();
    let job = '';
    shutdown.on('heartbeat', (details: { job: string; phase: string }) => {
      job = details.job;
      if (details.phase === 'running') shutdown.cancel('WORKER_SHUTDOWN', new ActivityCancellationDetails({ workerShutdown: true }));
    });
    await assert.rejects(runIn(shutdown, activities.buildEngine, request), (e: unknown) => e instanceof CancelledFailure && e.message === 'WORKER_SHUTDOWN');
    assert.equal((await kube().jobStatus(JOB_NAMESPACE, job))?.phase, 'running', 'the build goes on');
    const created = await uid(job);

    const retry = mockEnvironment();
    let during: Promise<string> | undefined;
    retry.on('heartbeat', (details: { phase: string }) => {
      if (details.phase !== 'running' || during !== undefined) return;
      during = uid(job).finally(() => retry.cancel('CANCELLED'));
    });
    await assert.rejects(runIn(retry, activities.buildEngine, request), (e: unknown) => e instanceof CancelledFailure);
    assert.equal(await during, created, 'the retry watched the same Job, not a new one');
    assert.equal(await kube().jobStatus(JOB_NAMESPACE, job), null, 'the workflow\'s cancellation deletes it');
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

  it('recovers releases that a killed helm left pending-upgrade, pending-install and pending-rollback', async () => {
    await cluster.kubectl(['apply', '-f', '-'], cpuNode('gke-kwok-default-0', 'default-pool'));
    const activities = helmActivities();
    const namespace = 'wedged';
    // The pipeline's own helm invocation (values on stdin).
    const upgrade = (release: string, version: string, change: Record<string, unknown>, timeoutSeconds = 600) => ({
      args: upgradeArgs({ release, namespace, chart: join(PROJECT_ROOT, 'deploy/charts/triton'), values: {}, timeoutSeconds }),
      input: JSON.stringify(cpuValues(version, change)),
    });
    const args = (release: string) => cluster.kubectl(['get', 'deployment', release, '-n', namespace, '-o', 'jsonpath={.spec.template.spec.containers[0].args}']);

    // pending-upgrade: revision 1 serves, the upgrade to 2 never became ready and its helm was killed.
    const live = { run, cluster: ref, release: 'triton', namespace };
    assert.deepEqual(await runActivity(activities.upgradeRelease, { ...live, values: cpuValues('v1') }), { revision: 1 });
    const wedging = upgrade('triton', 'v2', neverReady);
    await killedDuring('triton', namespace, wedging.args, wedging.input);
    assert.deepEqual(await history('triton', namespace), [[1, 'deployed'], [2, 'pending-upgrade']]);
    await assert.rejects(helmCli().upgradeInstall({ release: 'triton', namespace, chart: join(PROJECT_ROOT, 'deploy/charts/triton'), values: cpuValues('v3'), timeoutSeconds: 60 }), (error: unknown) => {
      assert.ok(error instanceof ApiError, String(error));
      assert.equal(error.code, 'ABORTED');
      assert.match(error.output ?? '', /^Error: UPGRADE FAILED: another operation \(install\/upgrade\/rollback\) is in progress$/m);
      return true;
    }, 'Helm refuses the wedged release');
    assert.deepEqual(await runActivity(activities.upgradeRelease, { ...live, values: cpuValues('v3') }), { revision: 4 });
    assert.deepEqual(await history('triton', namespace), [[1, 'superseded'], [2, 'pending-upgrade'], [3, 'superseded'], [4, 'deployed']]);
    assert.match(await args('triton'), /versions\/v3/);

    // pending-rollback: the rollback to a revision that never becomes ready was killed; rolling back
    // to the serving revision goes over it (Helm's rollback does not check the lock).
    const failing = upgrade('triton', 'v4', neverReady, 2);
    await execa(HELM, [...failing.args, '--kubeconfig', cluster.kubeconfig], { input: failing.input, reject: false });
    assert.deepEqual((await history('triton', namespace)).at(-1), [5, 'failed']);
    await killedDuring('triton', namespace, ['rollback', 'triton', '5', '--namespace', namespace, '--wait', '--timeout', '600s']);
    assert.deepEqual((await history('triton', namespace)).at(-1), [6, 'pending-rollback']);
    assert.deepEqual(await runActivity(activities.rollbackRelease, { ...live, toRevision: 4 }), { revision: 7 });
    assert.deepEqual((await history('triton', namespace)).slice(-2), [[6, 'pending-rollback'], [7, 'deployed']]);
    assert.match(await args('triton'), /versions\/v3/);

    // pending-install: the first install never became ready; nothing served, so it is uninstalled.
    const first = { ...live, release: 'fresh' };
    const installing = upgrade('fresh', 'v1', neverReady);
    await killedDuring('fresh', namespace, installing.args, installing.input);
    assert.deepEqual(await history('fresh', namespace), [[1, 'pending-install']]);
    assert.deepEqual(await runActivity(activities.upgradeRelease, { ...first, values: cpuValues('v1') }), { revision: 1 });
    assert.deepEqual(await history('fresh', namespace), [[1, 'deployed']]);

    for (const release of ['triton', 'fresh']) await runActivity(activities.uninstallRelease, { ...live, release });
  });

  it('keeps the replica count an HPA set across upgrades and rollbacks (autoscaling.external)', async () => {
    await cluster.kubectl(['apply', '-f', '-'], cpuNode('gke-kwok-default-0', 'default-pool'));
    const activities = helmActivities();
    const namespace = 'autoscaled';
    const replicas = async (release: string) => Number(await cluster.kubectl(['get', 'deployment', release, '-n', namespace, '-o', 'jsonpath={.spec.replicas}']));
    // What the HPA does: write the scale subresource.
    const scale = (release: string, count: number) => cluster.kubectl(['scale', 'deployment', release, '-n', namespace, `--replicas=${count}`]);
    const external = { autoscaling: { external: true } };
    const counted = { autoscaling: { external: false } };

    const scaled = { run, cluster: ref, release: 'scaled', namespace };
    assert.deepEqual(await runActivity(activities.upgradeRelease, { ...scaled, values: cpuValues('v1', external) }), { revision: 1 });
    await scale('scaled', 3);
    assert.deepEqual(await runActivity(activities.upgradeRelease, { ...scaled, values: cpuValues('v2', external) }), { revision: 2 });
    assert.equal(await replicas('scaled'), 3, 'the upgrade kept the HPA\'s count');
    assert.deepEqual(await runActivity(activities.rollbackRelease, { ...scaled, toRevision: 1 }), { revision: 3 });
    assert.equal(await replicas('scaled'), 3, 'the rollback kept the HPA\'s count');

    // Without the flag every upgrade resets the count to replicaCount.
    const fixed = { ...scaled, release: 'fixed' };
    assert.deepEqual(await runActivity(activities.upgradeRelease, { ...fixed, values: cpuValues('v1', counted) }), { revision: 1 });
    await scale('fixed', 3);
    assert.deepEqual(await runActivity(activities.upgradeRelease, { ...fixed, values: cpuValues('v2', counted) }), { revision: 2 });
    assert.equal(await replicas('fixed'), 1);
    // The first revision that leaves replicas out: Helm's three-way merge sees the chart drop a
    // field it set, and removes it, so Kubernetes defaults the count to 1 this once.
    await scale('fixed', 3);
    assert.deepEqual(await runActivity(activities.upgradeRelease, { ...fixed, values: cpuValues('v3', external) }), { revision: 3 });
    assert.equal(await replicas('fixed'), 1);
    await scale('fixed', 3);
    assert.deepEqual(await runActivity(activities.upgradeRelease, { ...fixed, values: cpuValues('v4', external) }), { revision: 4 });
    assert.equal(await replicas('fixed'), 3, 'from then on the count is kept');

    for (const release of ['scaled', 'fixed']) await runActivity(activities.uninstallRelease, { ...scaled, release });
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
    const renders = [
      ['template', 'triton', join(PROJECT_ROOT, 'deploy/charts/triton'), '-f', join(PROJECT_ROOT, 'deploy/values/triton-seed.yaml'), '--set', 'monitoring.kind=none', '--set', 'autoscaling.enabled=true', '--namespace', 'default'],
      ['template', 'worker', join(PROJECT_ROOT, 'deploy/charts/pipeline-worker'), '-f', join(PROJECT_ROOT, 'deploy/values/worker-example.yaml'), '--namespace', 'default'],
    ];
    for (const args of renders) {
      const manifests = (await exec(HELM, args)).stdout;
      // Namespaced objects of the chart land in namespaces that exist on a fresh cluster or are created by it.
      await cluster.kubectl(['apply', '--dry-run=server', '-f', '-'], manifests);
    }
  });
});
