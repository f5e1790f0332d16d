/**
 * The deployment workflow on the gke task queue with the gke activities, end to end against local
 * stand-ins that speak the same protocols: real gcloud → GKE API stand-in, @kubernetes/client-node
 * and real helm → a real kube-apiserver with kwok nodes, @google-cloud/storage → the GCS
 * emulator. No real perf_analyzer runs here (the Job's pod exits 0 without output), so the run
 * must stop at validation with a typed failure and undo what it did (cluster.deleteOnFailure): the
 * Helm release removed, the unserved repository version deleted, then the node pool and the
 * cluster it created deleted, in that order, from a GKE stand-in that runs one operation at a time.
 */
import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Worker } from '@temporalio/worker';
import { CREATED_BY_LABEL } from '../../src/activities/cluster.js';
import { createEngineActivities } from '../../src/activities/engines.js';
import { JOB_NAMESPACE } from '../../src/plan/jobs.js';
import { loadJobScripts } from '../../src/assets.js';
import { exec } from '../../src/clients/exec.js';
import { createGcsStore, parseGsUri } from '../../src/clients/gcs.js';
import { createHelmCli } from '../../src/clients/helm.js';
import { applicationFailureIn } from '../../src/ports/errors.js';
import { deploymentWorkflowId } from '../../src/plan/ids.js';
import { engineBuilderImageFor } from '../../src/plan/jobs.js';
import type { DeploymentSpec } from '../../src/spec/schema.js';
import { validateSpec } from '../../src/spec/validate.js';
import { createGkeClients } from '../../src/targets/gke.js';
import { createPipelineWorker } from '../../src/worker.js';
import { progressQuery } from '../../src/workflows/definitions.js';
import type { deployTriton } from '../../src/workflows/deploy.js';
import { runActivity } from '../helpers/activity-env.js';
import { exampleSpec, PROJECT_ROOT } from '../helpers/specs.js';
import { bundleWorkflows, startTemporal, startTogether, unique } from '../helpers/temporal.js';
import { tempDir } from '../helpers/temp-dir.js';
import { type GcsEmulator, startGcsEmulator } from '../standins/gcs-emulator.js';
import { type GkeStandIn, startGkeStandIn } from '../standins/gke-api.js';
import { cpuNode, gpuNode, type KwokCluster, startKwokCluster } from '../standins/kwok-cluster.js';

let env: TestWorkflowEnvironment;
let gkeApi: GkeStandIn;
let kwok: KwokCluster;
let gcs: GcsEmulator;
let worker: Worker;
let running: Promise<void>;
let spec: DeploymentSpec;
let jobPods: { stop(): void };
const taskQueue = unique('gke-target');

before(async () => {
  await startTogether([startTemporal(), startGkeStandIn(), startKwokCluster(`gke-${process.pid}`), startGcsEmulator()], (s) => ([env, gkeApi, kwok, gcs] = s as [typeof env, typeof gkeApi, typeof kwok, typeof gcs]));
  const example = exampleSpec('gke');
  const result = validateSpec({
    ...example,
    models: example.models.map((m) => ({
      ...m,
      source: 'gs://gke-e2e-models/sources/resnet50-v1-12.onnx',
      calibration: { cache: 'gs://gke-e2e-models/sources/resnet50.cache' },
    })),
    project: 'gke-e2e',
    bucket: 'gs://gke-e2e-models',
    release: { name: 'triton', namespace: 'inference', internalLoadBalancer: false, monitoring: 'none' },
    cluster: { ...example.cluster, deleteOnFailure: true },
    nodePool: { ...example.nodePool, gpuDriver: 'installer-daemonset' },
    // The installer DaemonSet is what this run covers; GPU-utilization autoscaling needs GKE's drivers (managed DCGM).
    autoscaling: { ...example.autoscaling, metric: 'triton-queue-time-us', target: 50_000 },
    approval: { required: false },
  });
  assert.ok(result.ok, JSON.stringify(!result.ok && result.errors));
  spec = result.spec;

  // The GPU pool's node (on GKE: created by the node pool) with its GPU reported, and a CPU node for the load generator.
  await kwok.kubectl(['apply', '-f', '-'], gpuNode('gke-e2e-accel-0', spec.nodePool.name, 1));
  await kwok.kubectl(['apply', '-f', '-'], cpuNode('gke-e2e-default-0', 'default-pool'));

  // The bucket, the model source, and an engine built earlier for the same content hash.
  await gcs.storage.createBucket(parseGsUri(spec.bucket).bucket);
  const store = createGcsStore(gcs.storage);
  const model = spec.models[0]!;
  await store.write(model.source, 'onnx model bytes');
  await store.write(model.calibration!.cache!, 'calibration cache');
  const engines = createEngineActivities({ kube: () => assert.fail('no Job for a cached engine'), store, pollIntervalMs: 100, jobScripts: await loadJobScripts(JOB_NAMESPACE) });
  const request = {
    run: { deploymentId: 'earlier' },
    cluster: { project: spec.project, zone: spec.zone, cluster: spec.cluster.name },
    bucket: spec.bucket,
    model,
    tensorrtImage: engineBuilderImageFor(spec),
    nodePool: spec.nodePool.name,
    acceleratorType: spec.nodePool.acceleratorType,
  };
  const resolved = await runActivity(engines.resolveEngine, request);
  await store.write(resolved.planUri, 'serialized TensorRT engine');
  const plan = await store.stat(resolved.planUri);
  await store.write(resolved.recordUri, JSON.stringify({ engineKey: resolved.engineKey, model: model.name, planUri: resolved.planUri, planMd5: plan!.md5, tensorrtImage: request.tensorrtImage, gpu: request.acceleratorType, flags: ['int8'], profiles: '1,8,32;1,16,32;1,32,32', builtAt: '2026-11-01T00:00:00Z' }));

  const gcloudConfig = await mkdtemp(join(tmpdir(), 'gcloud-'));
  await writeFile(join(gcloudConfig, 'token'), 'stand-in-token\n');
  const stateDir = await tempDir('gke-target');
  worker = await createPipelineWorker({
    connection: env.nativeConnection,
    namespace: 'default',
    target: 'gke',
    stateDir,
    taskQueue,
    workflowBundle: await bundleWorkflows(),
    clients: createGkeClients({
      stateDir,
      gcloudEnv: {
        CLOUDSDK_CONFIG: gcloudConfig,
        CLOUDSDK_AUTH_ACCESS_TOKEN_FILE: join(gcloudConfig, 'token'),
        CLOUDSDK_CORE_ACCOUNT: 'pipeline@gke-e2e.iam.gserviceaccount.com',
        CLOUDSDK_API_ENDPOINT_OVERRIDES_CONTAINER: gkeApi.url,
        CLOUDSDK_API_ENDPOINT_OVERRIDES_SERVICEUSAGE: gkeApi.url,
      },
      helm: join(PROJECT_ROOT, '.tools/bin/helm'),
      kubeconfig: kwok.kubeconfig,
      storage: gcs.storage,
      tritonHealthCheck: false,
    }),
  });
  running = worker.run();
  jobPods = kwok.exitJobPods(JOB_NAMESPACE, 0);
});

after(async () => {
  jobPods?.stop();
  worker?.shutdown();
  await running;
  await Promise.all([env?.teardown(), gkeApi?.close(), kwok?.stop(), gcs?.stop()]);
});

describe('the deployment workflow on the gke task queue (local stand-ins)', () => {
  it('creates the cluster, applies the driver, reuses the engine, publishes, installs with helm, then stops at validation and undoes it all: release, repository version, node pool, cluster', async () => {
    const handle = await env.client.workflow.start<typeof deployTriton>('deployTriton', { workflowId: deploymentWorkflowId(spec), taskQueue, args: [{ spec }] });
    const error = await handle.result().then(
      () => assert.fail('no perf_analyzer output exists here, so validation cannot pass'),
      (e: unknown) => e,
    );
    const failure = applicationFailureIn(error);
    assert.equal(failure?.type, 'InvalidArgument', String(error));
    assert.match(failure!.message, /perf/);

    const progress = await handle.query(progressQuery);
    const status = Object.fromEntries(progress.stages.map((s) => [s.name, s.status]));
    assert.deepEqual(
      [status['cluster'], status['driver'], status['engines'], status['repository'], status['validation'], status['autoscaling'], status['report']],
      ['completed', 'completed', 'completed', 'completed', 'failed', 'pending', 'completed'],
      JSON.stringify(progress.stages),
    );
    assert.match(progress.stages.find((s) => s.name === 'cluster')!.detail!, /cluster created, node pool created/);
    assert.match(progress.stages.find((s) => s.name === 'engines')!.detail!, /resnet50: cached/);

    // GKE: the cluster and GPU pool were created as the spec asked, marked with the run that created them.
    const created = (path: RegExp) => gkeApi.requests.find((r) => r.method === 'POST' && path.test(r.path))?.body as Record<string, Record<string, unknown>> | undefined;
    const cluster = created(/\/clusters$/)?.['cluster'];
    assert.equal(cluster?.['name'], spec.cluster.name);
    assert.match(String((cluster?.['resourceLabels'] as Record<string, string> | undefined)?.[CREATED_BY_LABEL]), /^[a-f0-9]{40}$/);
    const pool = created(/\/nodePools$/)?.['nodePool'];
    assert.equal(pool?.['name'], spec.nodePool.name);
    // Kubernetes: the driver installer was applied, every Helm release was removed by the saga.
    assert.match(await kwok.kubectl(['get', 'daemonset', '-n', 'kube-system', '-o', 'name']), /nvidia-driver-installer/);
    assert.deepEqual(await createHelmCli({ exec, helm: join(PROJECT_ROOT, '.tools/bin/helm'), kubeconfig: kwok.kubeconfig }).history('triton', 'inference'), []);
    assert.equal((await kwok.kubectl(['get', 'secrets', '-A', '-l', 'owner=helm', '-o', 'name'])).trim(), '', 'no Helm release is left');
    // GCS: the unserved repository version is gone (manifest first), the report is kept.
    const objects = await createGcsStore(gcs.storage).list(`${spec.bucket}/`);
    assert.ok(!objects.some((uri) => uri.includes('/versions/') || uri.includes('/manifests/')), objects.join('\n'));
    assert.ok(objects.some((uri) => uri.includes('/reports/')));
    // GKE again: the saga deleted the pool, waited for GKE to finish that, then deleted the cluster.
    assert.equal(gkeApi.cluster(spec.project, spec.zone, spec.cluster.name), undefined, 'no billed cluster is left');
    const deletes = gkeApi.requests.filter((r) => r.method === 'DELETE').map((r) => [r.path.includes('/nodePools/') ? 'node pool' : 'cluster', r.status]);
    assert.deepEqual(deletes, [['node pool', 200], ['cluster', 200]], 'each delete accepted at once: the inverse waited for the running operation');
    const ops = gkeApi.operations.filter((op) => op.operationType.startsWith('DELETE'));
    assert.deepEqual(ops.map((op) => [op.operationType, op.status]), [['DELETE_NODE_POOL', 'DONE'], ['DELETE_CLUSTER', 'DONE']]);
    assert.ok(ops[0]!.endTime! <= ops[1]!.startTime, 'the cluster delete started after the node pool delete ended');
  });
});
