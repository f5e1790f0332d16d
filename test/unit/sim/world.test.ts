import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFile, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ApiError } from '../../../src/ports/errors.js';
import type { ClusterRef, NodePoolCreateRequest, TargetClients } from '../../../src/ports/systems.js';
import { extractPerfCsv, renderEngineBuildJob, renderPerfJob } from '../../../src/plan/jobs.js';
import { engineUris } from '../../../src/plan/layout.js';
import type { EngineBuildRecord } from '../../../src/ports/run.js';
import { ModelSchema } from '../../../src/spec/schema.js';
import { type ModelConfigInput, renderModelConfig } from '../../../src/triton/model-config.js';
import { parsePerfCsv, parsePerfVerbose } from '../../../src/triton/perf-output.js';
import { runInSimContext, type SimContext } from '../../../src/sim/context.js';
import type { SimGke } from '../../../src/sim/gke.js';
import { createSimWorld, type SimWorld } from '../../../src/sim/world.js';
import { tempDir } from '../../helpers/temp-dir.js';

const T0 = Date.parse('2025-01-01T00:00:00Z');
const REF: ClusterRef = { project: 'demo', zone: 'us-central1-a', cluster: 'nvidia-gcp-gke' };
const clusterPath = 'projects/demo/zones/us-central1-a/clusters/nvidia-gcp-gke';
const BUCKET = 'gs://sim-models';
const POOL: NodePoolCreateRequest = {
  name: 'accel',
  machineType: 'n1-standard-8',
  acceleratorType: 'nvidia-tesla-t4',
  acceleratorCount: 1,
  diskSizeGb: 100,
  initialNodes: 1,
  minNodes: 1,
  maxNodes: 3,
  autoRepair: true,
  gpuDriver: 'installer-daemonset',
};
const DRIVER = {
  apiVersion: 'apps/v1',
  kind: 'DaemonSet',
  metadata: { name: 'nvidia-driver-installer', namespace: 'kube-system' },
  spec: { template: { spec: { containers: [{ name: 'nvidia-driver-installer', image: 'cos-nvidia-installer:fixed' }] } } },
};
const RESNET = ModelSchema.parse({
  name: 'resnet50',
  source: 'gs://sim-models/sources/resnet50.onnx',
  format: 'onnx',
  variants: [{ name: 'ResNet50-INT8' }],
  sla: { latencyMs: 100, minThroughput: 3000, batchSize: 32 },
});

interface Harness {
  dir: string;
  world: SimWorld;
  clients: TargetClients;
  /** The fake clock (ms); advance it to let simulated time pass. */
  now: { t: number };
  as<T>(fn: () => Promise<T>, ctx?: Partial<SimContext>): Promise<T>;
}

/** A world on a fresh directory, or (a restarted worker) on an existing one with its clock at `t`. */
async function harness(dir?: string, t = T0): Promise<Harness> {
  const stateDir = dir ?? (await tempDir('sim-world'));
  const now = { t };
  const world = createSimWorld({ stateDir, clock: () => now.t });
  return {
    dir: stateDir,
    world,
    clients: world.clients(),
    now,
    as: (fn, ctx = {}) => runInSimContext({ deploymentId: 'deploy/test', speed: 0, regression: 0, ...ctx }, fn),
  };
}

async function rejectsWith(promise: Promise<unknown>, code: ApiError['code'], message?: RegExp): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof ApiError, `expected ApiError, got ${String(error)}`);
    assert.equal(error.code, code);
    if (message !== undefined) assert.match(error.message, message);
    return true;
  });
}

/** A RUNNING cluster with a RUNNING GPU pool whose driver GKE installs (speed 0: all instant). */
async function readyCluster(h: Harness, pool: Partial<NodePoolCreateRequest> = {}): Promise<void> {
  await h.as(async () => {
    await h.clients.gke.createCluster(REF, { name: REF.cluster, machineType: 'n1-standard-8', nodes: 1, releaseChannel: 'regular' });
    await h.clients.gke.createNodePool(REF, { ...POOL, gpuDriver: 'gke-default', ...pool });
  });
}

/** The engine-build Job the pipeline would create for the sample's ResNet50. */
function engineJob(engineKey: string, acceleratorType = 'nvidia-tesla-t4') {
  const uris = engineUris(BUCKET, RESNET.name, engineKey);
  const job = renderEngineBuildJob({
    name: `trt-resnet50-${engineKey}`,
    namespace: 'triton-pipeline',
    model: RESNET,
    engineKey,
    planUri: uris.plan,
    recordUri: uris.record,
    tensorrtImage: 'nvcr.io/nvidia/tensorrt:24.08-py3',
    nodePool: 'accel',
    acceleratorType,
    scriptsConfigMap: 'triton-pipeline-job-scripts',
  });
  return { uris, job };
}

async function buildEngine(h: Harness, engineKey: string, acceleratorType?: string): Promise<{ plan: string; record: string }> {
  const { uris, job } = engineJob(engineKey, acceleratorType);
  await h.as(() => h.clients.kube(REF).apply(job));
  assert.equal((await h.clients.kube(REF).jobStatus('triton-pipeline', job.metadata.name))?.phase, 'succeeded');
  return uris;
}

/** Publishes a repository version with the sample's two ResNet variants (1 vs 4 instances). */
/** gpus: the instance groups' list (null: none, every GPU of the pod). */
async function publishRepository(h: Harness, version: string, planUri: string, gpus: number[] | null = [0]): Promise<string> {
  const repo = `${BUCKET}/model_repository/versions/${version}`;
  const base: ModelConfigInput = {
    name: 'ResNet50-INT8',
    platform: 'tensorrt_plan',
    maxBatchSize: 32,
    instances: 1,
    kind: 'KIND_GPU',
    ...(gpus === null ? {} : { gpus }),
    profile: 2,
    dynamicBatching: { preferredBatchSizes: [32], maxQueueDelayMicroseconds: 1_000_000 },
  };
  await h.as(async () => {
    for (const config of [base, { ...base, name: 'ResNet50-INT8-2', instances: 4 }]) {
      await h.clients.store.write(`${repo}/${config.name}/config.pbtxt`, renderModelConfig(config));
      await h.clients.store.copy(planUri, `${repo}/${config.name}/1/model.plan`);
    }
  });
  return repo;
}

function upgrade(h: Harness, repo: string, ctx: Partial<SimContext> = {}, signal?: AbortSignal, gpusPerReplica = 1) {
  return h.as(
    () =>
      h.clients.helm(REF).upgradeInstall(
        { release: 'triton', namespace: 'default', chart: h.clients.tritonChart, values: { modelRepositoryPath: repo, replicaCount: 1, ...(gpusPerReplica === 1 ? {} : { gpusPerReplica }) }, timeoutSeconds: 900 },
        signal,
      ),
    ctx,
  );
}

/** A ready cluster whose release serves a published repository of the two ResNet50 configs (the engine built under engineKey). */
async function servingRelease(engineKey: string): Promise<{ h: Harness; repo: string }> {
  const h = await harness();
  await readyCluster(h);
  const engine = await buildEngine(h, engineKey);
  const repo = await publishRepository(h, 'v1', engine.plan);
  await upgrade(h, repo);
  return { h, repo };
}

async function runPerf(h: Harness, name: string, model: string): Promise<{ phase: string | undefined; logs: string }> {
  const job = renderPerfJob({
    name,
    namespace: 'triton-pipeline',
    image: 'nvcr.io/nvidia/tritonserver:24.08-py3-sdk',
    args: ['-m', model, '-b', '32', '--concurrency-range', '1:10:1', '-f', '/tmp/perf.csv'],
    csvPath: '/tmp/perf.csv',
    avoidNodePool: 'accel',
    env: {
      PERF_RELEASE: 'triton',
      PERF_NAMESPACE: 'default',
      PERF_MODEL: model,
      PERF_BATCH: '32',
      PERF_CONCURRENCY: '1:10:1',
      PERF_PERCENTILE: '90',
    },
  });
  const kube = h.clients.kube(REF);
  await h.as(() => kube.apply(job));
  const status = await kube.jobStatus('triton-pipeline', name);
  return { phase: status?.phase, logs: await kube.jobLogs('triton-pipeline', name) };
}

test('a cluster provisions for its scaled duration, then runs; the state survives a new world', async () => {
  const h = await harness();
  const { gke } = h.clients;
  const speed = 0.5; // cluster create 300 s → 150 s of (fake) wall time
  const { operation } = await h.as(
    () => gke.createCluster(REF, { name: REF.cluster, machineType: 'n1-standard-8', nodes: 1, releaseChannel: 'regular' }),
    { speed },
  );
  assert.match(operation, /^operation-/);
  assert.equal((await gke.getCluster(REF))?.status, 'PROVISIONING');
  // GKE's answer while the create runs (the gcloud client maps it to ABORTED, a conflict to retry).
  await rejectsWith(h.as(() => gke.createNodePool(REF, POOL)), 'ABORTED', new RegExp(`^Cluster is running incompatible operation ${operation}\\.$`));
  await rejectsWith(h.clients.kube(REF).listNodes({}), 'UNAVAILABLE');
  h.now.t += 149_999;
  assert.equal((await gke.getCluster(REF))?.status, 'PROVISIONING');
  h.now.t += 1;
  assert.deepEqual(await gke.getCluster(REF), { name: REF.cluster, status: 'RUNNING', machineType: 'n1-standard-8', releaseChannel: 'regular' });

  const persisted = JSON.parse((await readFile(path.join(h.dir, 'projects', 'demo.jsonl'), 'utf8')).trimEnd().split('\n').at(-1)!);
  assert.equal(persisted.clusters[`${REF.zone}/${REF.cluster}`].status, 'RUNNING');

  await rejectsWith(
    h.as(() => gke.createCluster(REF, { name: REF.cluster, machineType: 'n1-standard-8', nodes: 1, releaseChannel: 'regular' })),
    'ALREADY_EXISTS',
  );
  await rejectsWith(h.as(() => gke.createNodePool({ ...REF, cluster: 'missing' }, POOL)), 'NOT_FOUND', /^Not found: projects\/demo\/zones\/us-central1-a\/clusters\/missing\.$/);
  assert.equal(await gke.getCluster({ ...REF, cluster: 'missing' }), null);

  await h.as(() => gke.createNodePool(REF, POOL), { speed });
  assert.equal((await gke.getNodePool(REF, 'accel'))?.status, 'PROVISIONING');
  h.now.t += 90_000;
  const restarted = (await harness(h.dir, h.now.t)).clients.gke;
  const pool = await restarted.getNodePool(REF, 'accel');
  assert.equal(pool?.status, 'RUNNING');
  assert.deepEqual(pool?.autoscaling, { enabled: true, minNodes: 1, maxNodes: 3 });
});

test('GKE runs one operation at a time per cluster: deletes take time and refuse, and are refused, while another runs', async () => {
  const h = await harness();
  const gke = h.clients.gke as SimGke;
  const speed = 0.01; // pool delete 120 s → 1.2 s, cluster delete 240 s → 2.4 s of (fake) wall time
  await h.as(async () => {
    await gke.createCluster(REF, { name: REF.cluster, machineType: 'n1-standard-8', nodes: 1, releaseChannel: 'regular', labels: { 'triton-pipeline-run': 'abc123' } });
    await gke.createNodePool(REF, { ...POOL, labels: { 'triton-pipeline-run': 'abc123' } });
  });
  assert.deepEqual((await gke.getCluster(REF))?.labels, { 'triton-pipeline-run': 'abc123' });
  assert.deepEqual((await gke.getNodePool(REF, 'accel'))?.labels, { 'triton-pipeline-run': 'abc123' });
  assert.deepEqual(await gke.runningOperations(REF), []);

  await h.as(() => gke.deleteNodePool(REF, 'accel'), { speed });
  assert.equal((await gke.getNodePool(REF, 'accel'))?.status, 'STOPPING');
  const [running] = await gke.runningOperations(REF);
  assert.deepEqual(
    { ...running, name: running?.name.replace(/\d+-[0-9a-f]+$/, 'N') },
    { name: 'operation-N', operationType: 'DELETE_NODE_POOL', status: 'RUNNING', targetLink: `https://container.googleapis.com/v1/${clusterPath}/nodePools/accel` },
  );
  const busy = new RegExp(`^Cluster is running incompatible operation ${running!.name}\\.$`);
  await rejectsWith(h.as(() => gke.deleteCluster(REF), { speed }), 'ABORTED', busy);
  await rejectsWith(h.as(() => gke.deleteNodePool(REF, 'accel')), 'ABORTED', busy);
  await rejectsWith(h.as(() => gke.setNodePoolAutoscaling(REF, 'accel', 1, 2)), 'ABORTED', busy);
  await rejectsWith(h.as(() => gke.createNodePool(REF, { ...POOL, name: 'second' })), 'ABORTED', busy);
  assert.deepEqual((await h.world.snapshot('demo')).clusters[0]?.nodes.map((n) => n.name), ['gke-nvidia-gcp-gke-default-pool-1'], 'a deleting pool has no nodes');

  h.now.t += 1_200;
  assert.equal(await gke.getNodePool(REF, 'accel'), null);
  assert.deepEqual(await gke.runningOperations(REF), []);
  await h.as(() => gke.deleteCluster(REF), { speed });
  assert.equal((await gke.getCluster(REF))?.status, 'STOPPING');
  await rejectsWith(h.clients.kube(REF).listNodes({}), 'UNAVAILABLE');
  h.now.t += 2_399;
  assert.equal((await gke.getCluster(REF))?.status, 'STOPPING');
  h.now.t += 1;
  assert.equal(await gke.getCluster(REF), null);
  // Deleting what is gone is not an error, and changes nothing.
  await h.as(() => gke.deleteNodePool(REF, 'accel'));
  await h.as(() => gke.deleteCluster(REF));
  const deletes = (await h.world.operations()).filter((o) => o.op.endsWith('.delete')).map((o) => [o.op, o.mutating]);
  // Refused calls change nothing and are not logged (as every failed call).
  assert.deepEqual(deletes, [['nodepool.delete', true], ['cluster.delete', true], ['nodepool.delete', false], ['cluster.delete', false]]);
});

test('a read rewrites the project document only when settling changed the world, and what it settled persists', async () => {
  const h = await harness();
  await h.as(() => h.clients.gke.createCluster(REF, { name: REF.cluster, machineType: 'n1-standard-8', nodes: 1, releaseChannel: 'regular' }), { speed: 1 });
  const file = path.join(h.dir, 'projects', `${REF.project}.jsonl`);
  const written = (await stat(file, { bigint: true })).mtimeNs;
  assert.equal((await h.as(() => h.clients.gke.getCluster(REF)))?.status, 'PROVISIONING');
  assert.equal((await stat(file, { bigint: true })).mtimeNs, written, 'a read that settles nothing writes nothing');
  h.now.t += 300_000;
  assert.equal((await h.as(() => h.clients.gke.getCluster(REF)))?.status, 'RUNNING');
  assert.notEqual((await stat(file, { bigint: true })).mtimeNs, written, 'the read wrote what settling changed');
  // Another process on the same directory finds the cluster RUNNING without settling anything itself.
  assert.equal((await (await harness(h.dir, h.now.t)).world.snapshot(REF.project)).clusters[0]?.cluster.status, 'RUNNING');
});

test("applied manifests and finished Jobs leave the project's document: its journal defines each once, and they come back whole", async () => {
  const h = await harness();
  await readyCluster(h);
  const other = { ...REF, project: 'other' };
  await h.as(async () => {
    await h.clients.gke.createCluster(other, { name: REF.cluster, machineType: 'n1-standard-8', nodes: 1, releaseChannel: 'regular' });
    await h.clients.kube(REF).apply(DRIVER);
    await h.clients.kube(other).apply(DRIVER);
    await h.clients.kube(REF).apply(DRIVER);
  });
  const { job } = engineJob('sealed1');
  await buildEngine(h, 'sealed1');
  const logs = await h.clients.kube(REF).jobLogs('triton-pipeline', job.metadata.name);
  assert.match(logs, /PASSED/);

  const journal = (await readFile(path.join(h.dir, 'projects', `${REF.project}.jsonl`), 'utf8')).trimEnd().split('\n');
  const [definitions, documents] = [journal.filter((line) => line.startsWith('{"$sealed":')), journal.filter((line) => !line.startsWith('{"$sealed":'))];
  assert.ok(documents.length > 1);
  for (const document of documents) assert.doesNotMatch(document, /cos-nvidia-installer|PASSED/, 'neither the manifest nor the logs are in a document');
  assert.equal(definitions.filter((line) => line.includes('cos-nvidia-installer:fixed')).length, 1, 'a manifest applied twice is defined once');
  assert.equal(definitions.filter((line) => line.includes('PASSED')).length, 1);

  // Another process on the same directory reads them back whole, from the journals.
  const restarted = await harness(h.dir, h.now.t);
  const driver = await restarted.clients.kube(other).get('apps/v1', 'DaemonSet', 'kube-system', DRIVER.metadata.name);
  assert.deepEqual(driver, DRIVER);
  assert.equal(await restarted.clients.kube(REF).jobLogs('triton-pipeline', job.metadata.name), logs);
  // What leaves the world is a copy: changing it changes nothing inside.
  const [cluster] = (await restarted.world.snapshot(REF.project)).clusters;
  const seen = cluster!.objects.find((object) => object.kind === 'DaemonSet')!;
  seen.metadata.name = 'changed';
  driver!.metadata.name = 'changed';
  assert.deepEqual(await restarted.clients.kube(REF).get('apps/v1', 'DaemonSet', 'kube-system', DRIVER.metadata.name), DRIVER);
});

test('the project journal appends a line per change, survives a torn last line and moves a document of an earlier version into itself', async () => {
  const h = await harness();
  const journal = path.join(h.dir, 'projects', `${REF.project}.jsonl`);
  const lines = async () => (await readFile(journal, 'utf8')).split('\n');
  await readyCluster(h);
  const written = await lines();
  assert.equal(written.at(-1), '', 'every line is complete');
  assert.ok(written.length - 1 >= 2, `a line per change, appended (${written.length - 1})`);
  assert.equal(JSON.parse(written.at(-2)!).clusters[`${REF.zone}/${REF.cluster}`].status, 'RUNNING');

  // A crash in the middle of an append: the torn line is not the state, and the next write compacts it away.
  await appendFile(journal, '{"project":"demo","clusters":{');
  const restarted = await harness(h.dir, h.now.t);
  assert.equal((await restarted.clients.gke.getCluster(REF))?.status, 'RUNNING');
  await restarted.as(() => restarted.clients.kube(REF).apply(DRIVER));
  const compacted = await lines();
  assert.equal(compacted.at(-1), '');
  for (const line of compacted.slice(0, -1)) assert.doesNotThrow(() => JSON.parse(line), 'no line is the torn one or joined to it');
  assert.deepEqual(await (await harness(h.dir, h.now.t)).clients.kube(REF).get('apps/v1', 'DaemonSet', 'kube-system', DRIVER.metadata.name), DRIVER);

  // A world written by an earlier version (one document per project) is read, then moved into a journal.
  const legacy = path.join(h.dir, 'projects', 'legacy.json');
  const legacyRef = { ...REF, project: 'legacy' };
  await writeFile(legacy, compacted.at(-2)!.replace('"project":"demo"', '"project":"legacy"'));
  const upgraded = await harness(h.dir, h.now.t);
  assert.equal((await upgraded.clients.gke.getCluster(legacyRef))?.status, 'RUNNING');
  await upgraded.as(() => upgraded.clients.kube(legacyRef).delete('apps/v1', 'DaemonSet', 'kube-system', DRIVER.metadata.name));
  await assert.rejects(stat(legacy), { code: 'ENOENT' });
  assert.equal(await (await harness(h.dir, h.now.t)).clients.kube(legacyRef).get('apps/v1', 'DaemonSet', 'kube-system', DRIVER.metadata.name), null);
});

test("node pools whose machine type cannot take their GPUs fail as Compute Engine refuses them, before any quota", async () => {
  const h = await harness();
  await readyCluster(h);
  const gke = h.clients.gke;
  await rejectsWith(
    h.as(() => gke.createNodePool(REF, { ...POOL, name: 'three', acceleratorCount: 3 })),
    'INVALID_ARGUMENT',
    /^Invalid value for field 'resource\.guestAccelerators\[0\]\.acceleratorCount': '3'\. Number of accelerator cards attached to an instance must be one of \[1, 2, 4\]\.$/,
  );
  await rejectsWith(
    h.as(() => gke.createNodePool(REF, { ...POOL, name: 'wide', machineType: 'n1-standard-64' })),
    'INVALID_ARGUMENT',
    /At most 48 vCPUs can be used along with 1 accelerator cards in an instance\.$/,
  );
  await rejectsWith(
    h.as(() => gke.createNodePool(REF, { ...POOL, name: 'n2', machineType: 'n2-standard-32' })),
    'INVALID_ARGUMENT',
    /^\[n2-standard-32, nvidia-tesla-t4\] features are not compatible for creating instance\.$/,
  );
  assert.deepEqual((await h.world.snapshot(REF.project)).clusters[0]?.nodePools.map((p) => p.name), ['accel']);
});

test('node pools beyond the regional T4 quota fail with RESOURCE_EXHAUSTED; autoscaling updates are logged', async () => {
  const h = await harness();
  await readyCluster(h); // 1 GPU × 3 nodes reserved
  const gke = h.clients.gke;
  await rejectsWith(
    h.as(() => gke.createNodePool(REF, { ...POOL, name: 'big', acceleratorCount: 4, maxNodes: 3 })),
    'RESOURCE_EXHAUSTED',
    /^Quota 'NVIDIA_T4_GPUS' exceeded\. Limit: 8\.0 in region us-central1\.$/,
  );
  await rejectsWith(h.as(() => gke.createNodePool(REF, { ...POOL, name: 'second', acceleratorCount: 2 })), 'RESOURCE_EXHAUSTED');
  await h.as(() => gke.createNodePool(REF, { ...POOL, name: 'second', acceleratorCount: 1, maxNodes: 5 }));
  await rejectsWith(h.as(() => gke.createNodePool(REF, { ...POOL, name: 'l4', machineType: 'g2-standard-8', acceleratorType: 'nvidia-l4' })), 'RESOURCE_EXHAUSTED', /NVIDIA_L4_GPUS/);
  await rejectsWith(h.as(() => gke.createNodePool(REF, POOL)), 'ALREADY_EXISTS');

  await h.as(() => gke.setNodePoolAutoscaling(REF, 'accel', 1, 2));
  await h.as(() => gke.setNodePoolAutoscaling(REF, 'accel', 1, 2));
  assert.deepEqual((await gke.getNodePool(REF, 'accel'))?.autoscaling, { enabled: true, minNodes: 1, maxNodes: 2 });
  await rejectsWith(h.as(() => gke.setNodePoolAutoscaling(REF, 'accel', 1, 4)), 'RESOURCE_EXHAUSTED');
  await rejectsWith(h.as(() => gke.setNodePoolAutoscaling(REF, 'nope', 1, 2)), 'NOT_FOUND');
  const autoscaling = (await h.world.operations()).filter((o) => o.op === 'nodepool.autoscaling');
  assert.deepEqual(
    autoscaling.map((o) => o.mutating),
    [true, false],
  );
});

test('GPU nodes appear with the pool and report GPUs only after the driver DaemonSet is ready', async () => {
  const h = await harness();
  const speed = 1;
  await h.as(async () => {
    await h.clients.gke.createCluster(REF, { name: REF.cluster, machineType: 'n1-standard-8', nodes: 2, releaseChannel: 'regular' });
  }, { speed });
  h.now.t += 300_000;
  await h.as(() => h.clients.gke.createNodePool(REF, { ...POOL, initialNodes: 2 }), { speed });
  const kube = h.clients.kube(REF);
  assert.deepEqual(
    (await kube.listNodes({})).map((n) => n.name),
    ['gke-nvidia-gcp-gke-default-pool-1', 'gke-nvidia-gcp-gke-default-pool-2'],
  );
  h.now.t += 180_000;
  await h.as(() => kube.apply(DRIVER), { speed });
  const gpuNodes = () => kube.listNodes({ 'cloud.google.com/gke-nodepool': 'accel' });
  const nodes = await gpuNodes();
  assert.deepEqual(nodes.map((n) => [n.name, n.labels['cloud.google.com/gke-accelerator'], n.allocatableGpus]), [
    ['gke-nvidia-gcp-gke-accel-1', 'nvidia-tesla-t4', 0],
    ['gke-nvidia-gcp-gke-accel-2', 'nvidia-tesla-t4', 0],
  ]);
  h.now.t += 119_999;
  assert.equal((await gpuNodes()).reduce((sum, n) => sum + n.allocatableGpus, 0), 0);
  h.now.t += 1;
  assert.equal((await gpuNodes()).reduce((sum, n) => sum + n.allocatableGpus, 0), 2);
  assert.equal((await kube.listNodes({ 'cloud.google.com/gke-nodepool': 'default-pool' })).every((n) => n.allocatableGpus === 0), true);
  assert.deepEqual((await kube.get('apps/v1', 'DaemonSet', 'kube-system', 'nvidia-driver-installer'))?.spec, DRIVER.spec);

  // GKE-managed drivers: GPUs as soon as the pool runs.
  await h.as(() => h.clients.gke.createNodePool(REF, { ...POOL, name: 'managed', maxNodes: 1, gpuDriver: 'gke-latest' }), { speed });
  h.now.t += 180_000;
  assert.deepEqual((await kube.listNodes({ 'cloud.google.com/gke-nodepool': 'managed' })).map((n) => n.allocatableGpus), [1]);
});

test('an engine-build Job runs pending → running → succeeded and writes plan and record exactly once', async () => {
  const h = await harness();
  await readyCluster(h);
  const { uris, job } = engineJob('key1');
  const kube = h.clients.kube(REF);
  await h.as(() => kube.apply(job), { speed: 1, deploymentId: 'deploy/builder' });
  await h.as(() => kube.apply(job), { speed: 1, deploymentId: 'deploy/builder' }); // identical: no second Job
  assert.deepEqual(await kube.jobStatus('triton-pipeline', job.metadata.name), { phase: 'pending' });
  assert.equal(await kube.jobLogs('triton-pipeline', job.metadata.name), '');
  h.now.t += 10_000;
  assert.equal((await kube.jobStatus('triton-pipeline', job.metadata.name))?.phase, 'running');
  assert.match(await kube.jobLogs('triton-pipeline', job.metadata.name), /TensorRT engine build for resnet50/);
  assert.equal(await h.clients.store.stat(uris.plan), null);
  h.now.t += 240_000;
  assert.equal((await kube.jobStatus('triton-pipeline', job.metadata.name))?.phase, 'succeeded');
  await (await harness(h.dir, h.now.t)).clients.kube(REF).jobStatus('triton-pipeline', job.metadata.name); // another world reads too
  assert.match(await kube.jobLogs('triton-pipeline', job.metadata.name), /PASSED/);

  const plan = JSON.parse(Buffer.from((await h.clients.store.read(uris.plan)) as Uint8Array).toString('utf8'));
  assert.deepEqual(plan, {
    simulated: true,
    format: 'onnx',
    precision: 'int8',
    perfProfile: 'resnet50-int8-t4',
    engineKey: 'key1',
    profiles: RESNET.optimizationProfiles,
    gpu: 'nvidia-tesla-t4',
  });
  const record = JSON.parse(Buffer.from((await h.clients.store.read(uris.record)) as Uint8Array).toString('utf8')) as EngineBuildRecord;
  assert.equal(record.planMd5, (await h.clients.store.stat(uris.plan))?.md5);
  assert.deepEqual(
    { ...record, planMd5: 'x' },
    {
      engineKey: 'key1',
      model: 'resnet50',
      planUri: uris.plan,
      planMd5: 'x',
      tensorrtImage: 'nvcr.io/nvidia/tensorrt:24.08-py3',
      gpu: 'nvidia-tesla-t4',
      flags: ['--int8'],
      profiles: '1,8,32;1,16,32;1,32,32',
      builtAt: new Date(T0 + 250_000).toISOString(),
    },
  );

  const ops = (await h.world.operations()).filter((o) => o.mutating && o.deploymentId === 'deploy/builder');
  assert.deepEqual(
    ops.map((o) => [o.op, o.resource]),
    [
      ['job.create', `projects/demo/zones/us-central1-a/clusters/nvidia-gcp-gke/k8s/triton-pipeline/Job/${job.metadata.name}`],
      ['gcs.write', uris.plan],
      ['gcs.write', uris.record],
      ['job.complete', `projects/demo/zones/us-central1-a/clusters/nvidia-gcp-gke/k8s/triton-pipeline/Job/${job.metadata.name}`],
    ],
  );
  await rejectsWith(
    h.as(() => kube.apply({ ...job, spec: { ...(job['spec'] as object), backoffLimit: 3 } })),
    'INVALID_ARGUMENT',
    /immutable/,
  );
});

test('deleting a running Job cancels it: its effect never happens', async () => {
  const h = await harness();
  await readyCluster(h);
  const { uris, job } = engineJob('key2');
  const kube = h.clients.kube(REF);
  await h.as(() => kube.apply(job), { speed: 1 });
  h.now.t += 60_000;
  await h.as(() => kube.delete('batch/v1', 'Job', 'triton-pipeline', job.metadata.name));
  h.now.t += 600_000;
  assert.equal(await kube.jobStatus('triton-pipeline', job.metadata.name), null);
  assert.equal(await h.clients.store.stat(uris.plan), null);
  await rejectsWith(kube.jobLogs('triton-pipeline', job.metadata.name), 'NOT_FOUND');
  await h.as(() => kube.delete('batch/v1', 'Job', 'triton-pipeline', job.metadata.name)); // missing: fine
});

test('a perf Job sweeps the served model: 4 instances beat 1, regressions slow it, unknown models fail', async () => {
  const { h, repo } = await servingRelease('key3');

  const one = await runPerf(h, 'perf-one', 'ResNet50-INT8');
  const four = await runPerf(h, 'perf-four', 'ResNet50-INT8-2');
  assert.equal(one.phase, 'succeeded');
  assert.equal(four.phase, 'succeeded');
  const onePoints = parsePerfCsv(extractPerfCsv(one.logs));
  const fourPoints = parsePerfCsv(extractPerfCsv(four.logs));
  assert.deepEqual(onePoints.map((p) => p.concurrency), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  assert.equal(parsePerfVerbose(one.logs).length, 10);
  const at10 = (points: typeof onePoints) => points.find((p) => p.concurrency === 10) as (typeof onePoints)[number];
  assert.ok(at10(fourPoints).throughput > 1.15 * at10(onePoints).throughput, 'four instances serve more at c=10');
  assert.ok(at10(fourPoints).latencyUs.p90 < at10(onePoints).latencyUs.p90, 'and with lower p90 latency');

  await upgrade(h, repo, { regression: 0.4 });
  const slow = parsePerfCsv(extractPerfCsv((await runPerf(h, 'perf-slow', 'ResNet50-INT8-2')).logs));
  assert.ok(at10(slow).throughput < 0.7 * at10(fourPoints).throughput, 'the regressed revision serves slower');

  const unknown = await runPerf(h, 'perf-unknown', 'Bert');
  assert.equal(unknown.phase, 'failed');
  assert.match(unknown.logs, /unknown model: 'Bert' is not found/);
  assert.match((await h.clients.kube(REF).jobStatus('triton-pipeline', 'perf-unknown'))?.message ?? '', /Bert/);
});

test("a release's Triton serves what its pods loaded at their start; a new rollout reads the repository again", async () => {
  const { h, repo } = await servingRelease('key-start');
  assert.equal((await runPerf(h, 'perf-before', 'ResNet50-INT8-2')).phase, 'succeeded');

  // The bucket changes under the running release: its Triton does not look again (model control mode none).
  await h.as(() => h.clients.store.delete(`${repo}/ResNet50-INT8-2/1/model.plan`));
  assert.equal((await runPerf(h, 'perf-running', 'ResNet50-INT8-2')).phase, 'succeeded');
  assert.deepEqual((await h.clients.triton(REF).ready({ release: 'triton', namespace: 'default' })).models, ['ResNet50-INT8', 'ResNet50-INT8-2']);

  // A new rollout's pods load the repository as it is now: the model without its plan fails to load.
  await upgrade(h, repo).catch(() => undefined);
  const history = await h.clients.helm(REF).history('triton', 'default');
  assert.equal(history.at(-1)!.status, 'failed');
  assert.match(history.at(-1)!.description, /failed/);
});

test('on an H200 pool the engine carries the H200 profile: one instance is host-bound near the recorded 2,200 infer/s, four serve 3x more', async () => {
  const h = await harness();
  await readyCluster(h, { machineType: 'a3-ultragpu-8g', acceleratorType: 'nvidia-h200-141gb', acceleratorCount: 8, maxNodes: 1 });
  const engine = await buildEngine(h, 'key-h200', 'nvidia-h200-141gb');
  const plan = JSON.parse(Buffer.from((await h.clients.store.read(engine.plan)) as Uint8Array).toString('utf8'));
  assert.equal(plan.perfProfile, 'resnet50-fp16-h200');
  await upgrade(h, await publishRepository(h, 'v1', engine.plan));
  const at10 = async (name: string, model: string) => parsePerfCsv(extractPerfCsv((await runPerf(h, name, model)).logs)).find((p) => p.concurrency === 10)!.throughput;
  const one = await at10('perf-h200-one', 'ResNet50-INT8');
  const four = await at10('perf-h200-four', 'ResNet50-INT8-2');
  assert.ok(one > 2000 && one < 3200, `one instance: ${one}`);
  assert.ok(four > 3 * one, `four instances: ${four}`);
});

test('a pod with two GPUs serves more than one GPU does when its instance groups list no GPU, and as one GPU when they list [0]', async () => {
  const h = await harness();
  await readyCluster(h, { acceleratorCount: 2 });
  const engine = await buildEngine(h, 'key-2gpu');
  // One instance per GPU: at c = 10 it is GPU-bound, where a second GPU shows.
  const at10 = async (name: string) => parsePerfCsv(extractPerfCsv((await runPerf(h, name, 'ResNet50-INT8')).logs)).find((p) => p.concurrency === 10)!.throughput;
  await upgrade(h, await publishRepository(h, 'v1', engine.plan, [0]), {}, undefined, 2);
  const pinned = await at10('perf-pinned');
  await upgrade(h, await publishRepository(h, 'v2', engine.plan, null), {}, undefined, 2);
  const spread = await at10('perf-spread');
  assert.ok(spread > 1.4 * pinned, `every GPU: ${spread} infer/s against GPU 0 only: ${pinned}`);
  await upgrade(h, await publishRepository(h, 'v3', engine.plan, [2]), {}, undefined, 2);
  const none = await runPerf(h, 'perf-no-gpu', 'ResNet50-INT8');
  assert.equal(none.phase, 'failed');
  assert.match(none.logs, /instance group ResNet50-INT8_0 of model ResNet50-INT8 specifies invalid or unsupported gpu id 2\. GPUs with at least the minimum required CUDA compute compatibility of 6\.000000 are: 0, 1/);
});

test('helm upgrade, failed upgrade, rollback, history, values and Triton readiness', async () => {
  const h = await harness();
  await readyCluster(h);
  const helm = h.clients.helm(REF);
  assert.deepEqual(await helm.history('triton', 'default'), []);
  assert.deepEqual(await h.clients.triton(REF).ready({ release: 'triton', namespace: 'default' }), { ready: false, models: [] });

  const engine = await buildEngine(h, 'key4');
  const v1 = await publishRepository(h, 'v1', engine.plan);
  const v2 = await publishRepository(h, 'v2', engine.plan);
  assert.deepEqual(await upgrade(h, v1, { regression: 0.3 }), { revision: 1 });
  assert.deepEqual(await upgrade(h, v2), { revision: 2 });

  // v3 lacks model.plan: Triton cannot load it, so the rollout times out.
  await h.as(() => h.clients.store.write(`${BUCKET}/model_repository/versions/v3/ResNet50-INT8/config.pbtxt`, 'name: "ResNet50-INT8"\nplatform: "tensorrt_plan"\nmax_batch_size: 32\n'));
  await assert.rejects(upgrade(h, `${BUCKET}/model_repository/versions/v3`), (error: unknown) => {
    assert.ok(error instanceof ApiError);
    assert.equal(error.code, 'FAILED_PRECONDITION');
    assert.match(error.message, /^UPGRADE FAILED: .*ResNet50-INT8.*model\.plan.*timed out waiting for the condition$/);
    return true;
  });
  await rejectsWith(upgrade(h, `${BUCKET}/model_repository/versions/empty`), 'FAILED_PRECONDITION', /no models found/);
  await rejectsWith(upgrade(h, v2, { speed: 1 }, AbortSignal.abort('cancelled')), 'ABORTED'); // before its 90 s rollout ended

  await h.as(() => helm.rollback('triton', 'default', 1, 900));
  await rejectsWith(h.as(() => helm.rollback('triton', 'default', 42, 900)), 'NOT_FOUND');
  assert.deepEqual(await helm.history('triton', 'default'), [
    { revision: 1, status: 'superseded', description: 'Install complete' },
    { revision: 2, status: 'superseded', description: 'Upgrade complete' },
    { revision: 3, status: 'failed', description: 'Upgrade "triton" failed: timed out waiting for the condition' },
    { revision: 4, status: 'failed', description: 'Upgrade "triton" failed: timed out waiting for the condition' },
    { revision: 5, status: 'failed', description: 'Upgrade "triton" failed: context canceled' },
    { revision: 6, status: 'deployed', description: 'Rollback to 1' },
  ]);
  assert.deepEqual(await helm.values('triton', 'default', 6), { modelRepositoryPath: v1, replicaCount: 1 });
  await rejectsWith(helm.values('triton', 'default', 99), 'NOT_FOUND');
  assert.deepEqual(await h.clients.triton(REF).ready({ release: 'triton', namespace: 'default' }), {
    ready: true,
    modelRepository: v1,
    models: ['ResNet50-INT8', 'ResNet50-INT8-2'],
  });
  const revisions = (await h.world.snapshot('demo')).clusters[0]?.releases[0]?.revisions ?? [];
  assert.deepEqual(
    revisions.map((r) => r.regression),
    [0.3, 0, 0, 0, 0, 0.3],
    'a rollback restores the regression recorded on its target revision',
  );
});

test('a rollout whose waiting client died completes when its deadline has passed', async () => {
  const h = await harness();
  await readyCluster(h);
  const engine = await buildEngine(h, 'key5');
  const repo = await publishRepository(h, 'v1', engine.plan);
  // A worker starts helm --wait (90 s at speed 1) and is never heard of again; a restarted
  // worker (another world on the same directory) sees the revision pending until the deadline.
  const crashed = new AbortController();
  const pending = h.as(
    () =>
      h.clients.helm(REF).upgradeInstall(
        { release: 'triton', namespace: 'default', chart: 'c', values: { modelRepositoryPath: repo }, timeoutSeconds: 900 },
        crashed.signal,
      ),
    { speed: 1 },
  );
  const restarted = await harness(h.dir, h.now.t);
  const helm = restarted.clients.helm(REF);
  assert.deepEqual((await helm.history('triton', 'default')).map((r) => r.status), ['pending-install']);
  restarted.now.t += 89_999;
  assert.deepEqual((await helm.history('triton', 'default')).map((r) => r.status), ['pending-install']);
  restarted.now.t += 1;
  assert.deepEqual((await helm.history('triton', 'default')).map((r) => [r.status, r.description]), [['deployed', 'Install complete']]);
  crashed.abort(); // end the first worker's real wait; the completed rollout stays deployed
  await rejectsWith(pending, 'ABORTED');
  assert.deepEqual((await helm.history('triton', 'default')).map((r) => r.status), ['deployed']);
});

test('state persists across two worlds on the same directory', async () => {
  const first = await harness(path.join(await tempDir('sim-world'), 'not-yet-created'));
  assert.equal(first.clients.reportDir, path.join(first.dir, 'reports'));
  await readyCluster(first);
  await first.as(() => first.clients.kube(REF).apply({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cfg' }, data: { a: '1' } }));
  await first.as(() => first.clients.store.write(`${BUCKET}/a/b.txt`, 'hello'));
  const second = await harness(first.dir, first.now.t);
  const [a, b] = [await first.world.snapshot('demo'), await second.world.snapshot('demo')];
  assert.deepEqual(b, a);
  assert.deepEqual(b.objects, [`${BUCKET}/a/b.txt`]);
  assert.deepEqual(b.clusters[0]?.objects, [{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cfg', namespace: 'default' }, data: { a: '1' } }]);
  assert.equal(b.clusters[0]?.nodes.length, 2);
  assert.deepEqual((await second.world.snapshot('other')).clusters, []);
});

test('the operation log records each mutating operation once; identical re-applies are not mutations', async () => {
  const h = await harness();
  await readyCluster(h);
  const kube = h.clients.kube(REF);
  const cm = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cfg', namespace: 'default' }, data: { a: '1' } };
  await h.as(() => kube.apply(cm));
  await h.as(() => kube.apply({ ...cm, data: { a: '1' } }));
  await h.as(() => kube.apply({ data: { a: '1' }, metadata: { namespace: 'default', name: 'cfg' }, kind: 'ConfigMap', apiVersion: 'v1' }));
  await h.as(() => kube.apply({ ...cm, data: { a: '2' } }));
  await h.as(() => kube.delete('v1', 'ConfigMap', 'default', 'cfg'));
  await h.as(() => kube.delete('v1', 'ConfigMap', 'default', 'cfg'));
  await kube.get('v1', 'ConfigMap', 'default', 'cfg');

  const ops = await h.world.operations();
  const cmOps = ops.filter((o) => o.resource.endsWith('/ConfigMap/cfg')).map((o) => [o.op, o.mutating]);
  assert.deepEqual(cmOps, [
    ['kube.apply', true],
    ['kube.apply', false],
    ['kube.apply', false],
    ['kube.apply', true],
    ['kube.delete', true],
    ['kube.delete', false],
    ['kube.get', false],
  ]);
  const mutating = ops.filter((o) => o.mutating && o.op !== 'kube.apply');
  assert.deepEqual(mutating.map((o) => o.op), ['cluster.create', 'nodepool.create', 'kube.delete']);
  assert.ok(ops.every((o) => o.deploymentId === 'deploy/test' || !o.mutating));
  assert.ok(ops.every((o) => !Number.isNaN(Date.parse(o.at))));
});

test('concurrent calls on one project (and across worlds and projects) lose no updates', async () => {
  const h = await harness();
  await readyCluster(h);
  const other = await harness(h.dir);
  const otherRef: ClusterRef = { ...REF, project: 'second' };
  const writes = Array.from({ length: 30 }, (_, i) => {
    const h2 = i % 2 === 0 ? h : other;
    return h2.as(() => h2.clients.kube(REF).apply({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `cm-${i}` }, data: { i: String(i) } }));
  });
  const clusters = Array.from({ length: 5 }, (_, i) =>
    h.as(() => h.clients.gke.createCluster({ ...otherRef, cluster: `c${i}` }, { name: `c${i}`, machineType: 'n1-standard-4', nodes: 1, releaseChannel: 'rapid' })),
  );
  const duplicates = Promise.allSettled(
    Array.from({ length: 4 }, () =>
      h.as(() => h.clients.gke.createCluster(otherRef, { name: 'same', machineType: 'n1-standard-4', nodes: 1, releaseChannel: 'rapid' })),
    ),
  );
  await Promise.all([...writes, ...clusters]);
  const results = await duplicates;
  assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1, 'exactly one concurrent create of the same cluster wins');

  const snapshot = await (await harness(h.dir, h.now.t)).world.snapshot('demo');
  assert.equal(snapshot.clusters[0]?.objects.filter((o) => o.kind === 'ConfigMap').length, 30);
  assert.equal((await h.world.snapshot('second')).clusters.length, 6);
  const ops = await h.world.operations();
  assert.equal(ops.filter((o) => o.op === 'kube.apply' && o.mutating).length, 30);
  assert.equal(ops.filter((o) => o.op === 'cluster.create').length, 1 + 5 + 1);
});

test('the simulated GCS stores real files with GCS-style md5, preconditions and prefix listing', async () => {
  const h = await harness();
  const { store } = h.clients;
  const info = await h.as(() => store.write(`${BUCKET}/dir/x.txt`, 'hello'));
  assert.deepEqual(info, { uri: `${BUCKET}/dir/x.txt`, md5: 'XUFAKrxLKna5cZ2REBfFkg==', size: 5 });
  assert.equal(await readFile(path.join(h.dir, 'gcs', 'sim-models', 'dir', 'x.txt'), 'utf8'), 'hello');
  assert.deepEqual(await store.stat(`${BUCKET}/dir/x.txt`), info);
  await rejectsWith(h.as(() => store.write(`${BUCKET}/dir/x.txt`, 'other', { ifAbsent: true })), 'FAILED_PRECONDITION', /412/);
  const racers = await Promise.allSettled(Array.from({ length: 5 }, (_, i) => store.write(`${BUCKET}/race.txt`, `w${i}`, { ifAbsent: true })));
  assert.equal(racers.filter((r) => r.status === 'fulfilled').length, 1);
  await h.as(() => store.write(`${BUCKET}/dir/sub/y.bin`, new Uint8Array([1, 2, 3])));
  await h.as(() => store.copy(`${BUCKET}/dir/x.txt`, `${BUCKET}/dirx/z.txt`));
  await rejectsWith(h.as(() => store.copy(`${BUCKET}/nope`, `${BUCKET}/z`)), 'NOT_FOUND');
  assert.deepEqual(await store.list(`${BUCKET}/dir/`), [`${BUCKET}/dir/sub/y.bin`, `${BUCKET}/dir/x.txt`]);
  assert.deepEqual(await store.list(`${BUCKET}/dir`), [`${BUCKET}/dir/sub/y.bin`, `${BUCKET}/dir/x.txt`, `${BUCKET}/dirx/z.txt`]);
  assert.deepEqual(await store.list(`${BUCKET}`), [
    `${BUCKET}/dir/sub/y.bin`,
    `${BUCKET}/dir/x.txt`,
    `${BUCKET}/dirx/z.txt`,
    `${BUCKET}/race.txt`,
  ]);
  assert.deepEqual(await store.list('gs://empty-bucket/x'), []);
  assert.deepEqual(Array.from((await store.read(`${BUCKET}/dir/sub/y.bin`)) ?? []), [1, 2, 3]);
  assert.equal(await store.read(`${BUCKET}/missing`), null);
  await h.as(() => store.delete(`${BUCKET}/dir/x.txt`));
  await h.as(() => store.delete(`${BUCKET}/dir/x.txt`));
  assert.equal(await store.stat(`${BUCKET}/dir/x.txt`), null);
  for (const bad of ['s3://bucket/x', 'gs://B/x', `${BUCKET}/a/../b`, `${BUCKET}/a/`, BUCKET]) {
    await rejectsWith(store.stat(bad), 'INVALID_ARGUMENT');
  }
  const deletes = (await h.world.operations()).filter((o) => o.op === 'gcs.delete').map((o) => o.mutating);
  assert.deepEqual(deletes, [true, false]);
});
