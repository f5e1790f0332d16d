/**
 * The pipeline-worker chart's RBAC (rendered by the real helm) against what the worker really
 * calls. The kube client, the Triton probe and the activities that use them run against a small
 * recording API server (node:http) with the objects the pipeline applies (the driver installer, the
 * Job namespace and scripts, an engine build and a perf sweep Job, the metrics adapter, the HPA);
 * each request is mapped to RBAC attributes (verb, group, resource, subresource, namespace, name)
 * and must be allowed by the rendered rules for the worker's Google identity and declared in
 * src/plan/worker-api-calls.ts. Helm's calls cannot be recorded without a real API server: the
 * kinds it installs come from the triton chart rendered with the pipeline's own values, and each
 * must be declared and allowed. Finally every rendered rule must serve a declared call.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { KubeConfig } from '@kubernetes/client-node';
import { ApplicationFailure } from '@temporalio/common';
import { execa } from 'execa';
import { parseAllDocuments, stringify } from 'yaml';
import { createAutoscalingActivities, createLoadDrillActivities } from '../../../src/activities/autoscaling.js';
import { createDriverActivities } from '../../../src/activities/driver.js';
import { runJob } from '../../../src/activities/jobs.js';
import { loadDriverInstaller, loadJobScripts, loadMetricsAdapter } from '../../../src/assets.js';
import { createKubeClient } from '../../../src/clients/kube.js';
import { createTritonProbe } from '../../../src/clients/triton-probe.js';
import { previewValues, tritonValues } from '../../../src/plan/helm-values.js';
import { JOB_NAMESPACE, renderEngineBuildJob, renderSweepJob } from '../../../src/plan/jobs.js';
import { type ApiVerb, WORKER_API_CALLS, type WorkerApiCall } from '../../../src/plan/worker-api-calls.js';
import type { ClusterRef, GkeApi, KubeObject } from '../../../src/ports/systems.js';
import type { DeploymentSpec, DeploymentSpecInput } from '../../../src/spec/schema.js';
import { validateSpec } from '../../../src/spec/validate.js';
import { mockEnvironment } from '../../helpers/activity-env.js';
import { PROJECT_ROOT, specWith } from '../../helpers/specs.js';

const HELM = join(PROJECT_ROOT, '.tools/bin/helm');
const WORKER_CHART = join(PROJECT_ROOT, 'deploy/charts/pipeline-worker');
const TRITON_CHART = join(PROJECT_ROOT, 'deploy/charts/triton');
const KUBE_VERSION = '1.34';
const GSA = 'triton-pipeline-worker@my-gcp-project.iam.gserviceaccount.com';
const CLUSTER: ClusterRef = { project: 'my-gcp-project', zone: 'us-central1-a', cluster: 'triton-gke' };

/** What the fake API server's discovery answers: kind -> resource, per group version. */
const RESOURCES: Record<string, Record<string, { resource: string; namespaced: boolean }>> = {
  v1: {
    Namespace: { resource: 'namespaces', namespaced: false },
    Node: { resource: 'nodes', namespaced: false },
    ConfigMap: { resource: 'configmaps', namespaced: true },
    Pod: { resource: 'pods', namespaced: true },
    Secret: { resource: 'secrets', namespaced: true },
    Service: { resource: 'services', namespaced: true },
    ServiceAccount: { resource: 'serviceaccounts', namespaced: true },
  },
  'apps/v1': {
    DaemonSet: { resource: 'daemonsets', namespaced: true },
    Deployment: { resource: 'deployments', namespaced: true },
    ReplicaSet: { resource: 'replicasets', namespaced: true },
  },
  'batch/v1': { Job: { resource: 'jobs', namespaced: true } },
  'autoscaling/v2': { HorizontalPodAutoscaler: { resource: 'horizontalpodautoscalers', namespaced: true } },
  'policy/v1': { PodDisruptionBudget: { resource: 'poddisruptionbudgets', namespaced: true } },
  'rbac.authorization.k8s.io/v1': {
    ClusterRole: { resource: 'clusterroles', namespaced: false },
    ClusterRoleBinding: { resource: 'clusterrolebindings', namespaced: false },
    Role: { resource: 'roles', namespaced: true },
    RoleBinding: { resource: 'rolebindings', namespaced: true },
  },
  'apiregistration.k8s.io/v1': { APIService: { resource: 'apiservices', namespaced: false } },
  'monitoring.googleapis.com/v1': {
    PodMonitoring: { resource: 'podmonitorings', namespaced: true },
    Rules: { resource: 'rules', namespaced: true },
    ClusterRules: { resource: 'clusterrules', namespaced: false },
  },
  'monitoring.coreos.com/v1': { ServiceMonitor: { resource: 'servicemonitors', namespaced: true } },
};

function resourceOf(apiVersion: string, kind: string): { group: string; resource: string; namespaced: boolean } {
  const found = RESOURCES[apiVersion]?.[kind];
  assert.ok(found, `the test's API table knows ${apiVersion} ${kind} (add it to RESOURCES)`);
  return { group: apiVersion.includes('/') ? apiVersion.split('/')[0]! : '', ...found };
}

type Manifest = KubeObject & { rules?: Rule[]; subjects?: Subject[]; roleRef?: { kind: string; name: string } };
interface Rule {
  apiGroups?: string[];
  resources?: string[];
  resourceNames?: string[];
  verbs: string[];
}
interface Subject {
  kind: string;
  name: string;
  apiGroup?: string;
  namespace?: string;
}

/** One authorization check, as the API server makes it. */
interface Attributes {
  verb: ApiVerb | 'deletecollection';
  group: string;
  resource: string;
  subresource?: string;
  namespace?: string;
  name?: string;
}

interface Recorded {
  method: string;
  path: string;
  attributes: Attributes[] | 'discovery';
}

// ---------------------------------------------------------------------------------------------
// RBAC as the API server evaluates it (no aggregation, no wildcards: the chart uses neither).

function ruleAllows(rule: Rule, a: Attributes): boolean {
  const resource = a.subresource === undefined ? a.resource : `${a.resource}/${a.subresource}`;
  const named = rule.resourceNames !== undefined && rule.resourceNames.length > 0;
  return (
    (rule.apiGroups ?? []).includes(a.group) &&
    (rule.resources ?? []).includes(resource) &&
    rule.verbs.includes(a.verb) &&
    (!named || (a.name !== undefined && rule.resourceNames!.includes(a.name)))
  );
}

function allows(manifests: readonly Manifest[], user: string, a: Attributes): boolean {
  const bound = (m: Manifest) => (m.subjects ?? []).some((s) => s.kind === 'User' && s.name === user && s.apiGroup === 'rbac.authorization.k8s.io');
  for (const binding of manifests.filter((m) => (m.kind === 'ClusterRoleBinding' || m.kind === 'RoleBinding') && bound(m))) {
    if (binding.kind === 'RoleBinding' && binding.metadata.namespace !== a.namespace) continue;
    const ref = binding.roleRef!;
    const role = manifests.find(
      (m) => m.kind === ref.kind && m.metadata.name === ref.name && (ref.kind === 'ClusterRole' || m.metadata.namespace === binding.metadata.namespace),
    );
    assert.ok(role, `${binding.kind} ${binding.metadata.name} refers to a rendered ${ref.kind} ${ref.name}`);
    if ((role.rules ?? []).some((rule) => ruleAllows(rule, a))) return true;
  }
  return false;
}

const describeAttributes = (a: Attributes) =>
  `${a.verb} ${a.group === '' ? 'core' : a.group}/${a.resource}${a.subresource ? `/${a.subresource}` : ''}${a.name ? ` ${a.name}` : ''}${a.namespace ? ` in ${a.namespace}` : ''}`;

// ---------------------------------------------------------------------------------------------
// Request path -> RBAC attributes, as the API server's request-info resolver does it.

function attributesOf(method: string, path: string, query: URLSearchParams, contentType: string): Attributes[] | 'discovery' {
  const segments = path.split('/').filter((s) => s !== '').map(decodeURIComponent);
  let group: string;
  let rest: string[];
  if (segments[0] === 'api' && segments.length >= 2) [group, rest] = ['', segments.slice(2)];
  else if (segments[0] === 'apis' && segments.length >= 3) [group, rest] = [segments[1]!, segments.slice(3)];
  else return 'discovery';
  if (rest.length === 0) return 'discovery';
  let namespace: string | undefined;
  if (rest[0] === 'namespaces' && rest.length >= 3) {
    namespace = rest[1];
    rest = rest.slice(2);
  }
  const [resource, name, subresource] = rest as [string, string | undefined, string | undefined];
  const base = { group, resource, ...(subresource === undefined ? {} : { subresource }), ...(namespace === undefined ? {} : { namespace }), ...(name === undefined ? {} : { name }) };
  switch (method) {
    case 'GET':
      return [{ ...base, verb: name !== undefined ? 'get' : query.get('watch') === 'true' ? 'watch' : 'list' }];
    case 'POST':
      return [{ ...base, verb: 'create' }];
    case 'PUT':
      return [{ ...base, verb: 'update' }];
    case 'DELETE':
      return [{ ...base, verb: name === undefined ? 'deletecollection' : 'delete' }];
    case 'PATCH':
      // Server-side apply creates a missing object: the API server also checks create, with the name.
      return contentType.startsWith('application/apply-patch') ? [{ ...base, verb: 'patch' }, { ...base, verb: 'create' }] : [{ ...base, verb: 'patch' }];
    default:
      throw new Error(`unexpected ${method} ${path}`);
  }
}

// ---------------------------------------------------------------------------------------------
// The recording API server: answers discovery, stores applied objects, serves what reads expect.

interface FakeCluster {
  server: Server;
  url: string;
  requests: Recorded[];
  objects: Map<string, Record<string, unknown>>;
  /** Status the server reports for a stored Job. */
  jobOutcome: 'succeeded' | 'failed';
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

function text(res: ServerResponse, body: string): void {
  res.writeHead(200, { 'content-type': 'text/plain' });
  res.end(body);
}

const notFound = (res: ServerResponse, what: string) => json(res, 404, { apiVersion: 'v1', kind: 'Status', status: 'Failure', reason: 'NotFound', code: 404, message: `${what} not found` });

function readyPod(name: string, namespace: string, labels: Record<string, string>) {
  return {
    metadata: { name, namespace, labels, creationTimestamp: '2025-01-01T00:00:00Z' },
    status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] },
  };
}

async function startFakeCluster(spec: DeploymentSpec): Promise<FakeCluster> {
  const cluster: FakeCluster = { server: createServer(), url: '', requests: [], objects: new Map(), jobOutcome: 'succeeded' };
  const { release, nodePool } = spec;
  // The release as helm left it: a rolled-out Deployment the probe reads.
  cluster.objects.set(`/apis/apps/v1/namespaces/${release.namespace}/deployments/${release.name}`, {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: release.name, namespace: release.namespace, generation: 1 },
    spec: { replicas: 1, template: { spec: { containers: [{ name: 'triton', args: ['tritonserver', '--model-repository=gs://b/r', '--load-model=m'] }] } } },
    status: { observedGeneration: 1, replicas: 1, updatedReplicas: 1, availableReplicas: 1 },
  });

  cluster.server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://fake');
      const method = req.method ?? 'GET';
      const body = await readBody(req);
      const attributes = attributesOf(method, url.pathname, url.searchParams, req.headers['content-type'] ?? '');
      cluster.requests.push({ method, path: url.pathname, attributes });
      const path = url.pathname.toLowerCase();

      if (attributes === 'discovery') {
        const groupVersion = path.replace(/^\/apis?\//, '');
        const kinds = RESOURCES[groupVersion];
        if (kinds === undefined) return notFound(res, groupVersion);
        return json(res, 200, {
          kind: 'APIResourceList',
          apiVersion: 'v1',
          groupVersion,
          resources: Object.entries(kinds).map(([kind, r]) => ({ name: r.resource, singularName: '', namespaced: r.namespaced, kind, verbs: ['get', 'list', 'create', 'patch', 'delete'] })),
        });
      }
      const a = attributes[0]!;
      if (a.subresource === 'log') return text(res, 'build log');
      if (a.subresource === 'proxy' && a.resource === 'services') return text(res, '');
      if (a.subresource === 'proxy' && a.resource === 'pods') return text(res, 'nv_inference_count{model="m",version="1"} 1\n');
      if (method === 'GET' && a.verb === 'list') {
        if (a.resource === 'nodes') {
          return json(res, 200, {
            apiVersion: 'v1',
            kind: 'NodeList',
            items: [{ metadata: { name: 'gpu-0', labels: { 'cloud.google.com/gke-nodepool': nodePool.name } }, status: { conditions: [{ type: 'Ready', status: 'True' }], allocatable: { 'nvidia.com/gpu': String(nodePool.acceleratorCount) } } }],
          });
        }
        if (a.resource === 'pods') {
          const selector = url.searchParams.get('labelSelector') ?? '';
          const [key = '', value = ''] = selector.split('=');
          return json(res, 200, { apiVersion: 'v1', kind: 'PodList', items: [readyPod(`${value}-0`, a.namespace ?? '', { [key]: value })] });
        }
        return json(res, 200, { apiVersion: 'v1', kind: 'List', items: [] });
      }
      if (method === 'PATCH') {
        const object = JSON.parse(body) as Record<string, unknown>;
        cluster.objects.set(path, object);
        return json(res, 200, object);
      }
      if (method === 'DELETE') {
        if (!cluster.objects.delete(path)) return notFound(res, path);
        return json(res, 200, { apiVersion: 'v1', kind: 'Status', status: 'Success' });
      }
      if (method === 'GET') {
        const object = cluster.objects.get(path);
        if (object === undefined) return notFound(res, path);
        if (a.resource === 'jobs') {
          const status = cluster.jobOutcome === 'succeeded' ? { succeeded: 1 } : { failed: 1, conditions: [{ type: 'Failed', status: 'True', reason: 'BackoffLimitExceeded' }] };
          return json(res, 200, { ...object, status });
        }
        return json(res, 200, object);
      }
      return json(res, 405, { kind: 'Status', apiVersion: 'v1', code: 405 });
    })().catch((error: unknown) => json(res, 500, { kind: 'Status', apiVersion: 'v1', code: 500, message: String(error) }));
  });
  await new Promise<void>((resolve) => cluster.server.listen(0, '127.0.0.1', resolve));
  cluster.url = `http://127.0.0.1:${(cluster.server.address() as AddressInfo).port}`;
  return cluster;
}

function kubeConfigFor(url: string): KubeConfig {
  const config = new KubeConfig();
  config.loadFromOptions({
    clusters: [{ name: 'fake', server: url, skipTLSVerify: true }],
    users: [{ name: 'worker', token: 'google-access-token' }],
    contexts: [{ name: 'fake', cluster: 'fake', user: 'worker' }],
    currentContext: 'fake',
  });
  return config;
}

// ---------------------------------------------------------------------------------------------

let workDir = '';

async function helm(args: readonly string[]): Promise<string> {
  const result = await execa(HELM, [...args], {
    reject: false,
    all: true,
    env: { HELM_CACHE_HOME: join(workDir, 'helm-cache'), HELM_CONFIG_HOME: join(workDir, 'helm-config'), HELM_DATA_HOME: join(workDir, 'helm-data') },
  });
  assert.equal(result.exitCode, 0, `helm ${args.join(' ')}:\n${result.all ?? ''}`);
  return result.all ?? '';
}

async function render(chart: string, release: string, namespace: string, values: Record<string, unknown>): Promise<Manifest[]> {
  const file = join(workDir, `values-${Math.random().toString(36).slice(2)}.yaml`);
  await writeFile(file, stringify(values));
  const output = await helm(['template', release, chart, '--namespace', namespace, '--kube-version', KUBE_VERSION, '-f', file]);
  return parseAllDocuments(output)
    .map((doc) => doc.toJS() as Manifest | null)
    .filter((m): m is Manifest => m !== null && m !== undefined);
}

type ScalingMetric = DeploymentSpec['autoscaling']['metric'];
const SCALING_METRICS: readonly ScalingMetric[] = ['triton-queue-time-us', 'triton-inflight-requests', 'gpu-utilization'];

/** gpu-utilization reads GKE's managed DCGM metrics, which the spec validation allows only on GKE's own drivers. */
const gpuDriverFor = (metric: ScalingMetric) => (metric === 'gpu-utilization' ? 'gke-default' : 'installer-daemonset');

/**
 * examples/gke.yaml with every path the worker can take: the installer DaemonSet (so a Triton
 * metric, not gpu-utilization), the metrics adapter, autoscaling.
 */
function gkeSpec(change: (spec: DeploymentSpecInput) => void = () => undefined): DeploymentSpec {
  const result = validateSpec(
    specWith((spec) => {
      spec.nodePool = { ...spec.nodePool!, gpuDriver: 'installer-daemonset' };
      spec.autoscaling = { ...spec.autoscaling, enabled: true, installMetricsAdapter: true, metric: 'triton-queue-time-us' };
      change(spec);
    }, 'gke'),
  );
  if (!result.ok) assert.fail(`examples/gke.yaml, adjusted, is invalid: ${JSON.stringify(result.errors)}`);
  return result.spec;
}

const declaredFor = (by: readonly WorkerApiCall['by'][]) => WORKER_API_CALLS.filter((call) => by.includes(call.by));
const declares = (call: WorkerApiCall, a: Attributes) =>
  call.group === a.group && call.resource === a.resource && call.subresource === a.subresource && call.namespaced === (a.namespace !== undefined) && (call.verbs as readonly string[]).includes(a.verb);

describe('pipeline-worker RBAC covers the API calls the worker makes', () => {
  let spec: DeploymentSpec;
  let fake: FakeCluster;
  let rbac: Manifest[];
  let driverNamespace: string;
  let adapter: KubeObject[];

  before(async () => {
    if (!existsSync(HELM)) assert.fail(`${HELM} is missing: run scripts/setup.sh to build it`);
    workDir = await mkdtemp(join(tmpdir(), 'worker-rbac-test-'));
    spec = gkeSpec();
    const driver = await loadDriverInstaller();
    driverNamespace = driver.metadata.namespace ?? '';
    adapter = await loadMetricsAdapter();
    rbac = await render(WORKER_CHART, 'triton-pipeline', 'triton-pipeline-system', {
      serviceAccount: { name: 'triton-pipeline-worker', gcpServiceAccount: GSA },
      rbac: {
        create: true,
        releaseNamespaces: [spec.release.namespace],
        jobNamespace: JOB_NAMESPACE,
        driverNamespace,
        driverDaemonSet: driver.metadata.name,
        metricsAdapter: true,
      },
    });

    // The activities and clients, as the gke target wires them, against the recording server.
    fake = await startFakeCluster(spec);
    const config = kubeConfigFor(fake.url);
    const kube = createKubeClient(config);
    const probe = createTritonProbe(kube, config, { checkHealth: true });
    const env = mockEnvironment();
    const model = spec.models[0]!;
    const jobScripts = await loadJobScripts(JOB_NAMESPACE);
    const failure = () => ApplicationFailure.nonRetryable('job failed');

    const driverActivities = createDriverActivities({ kube: () => kube, driverInstaller: driver });
    const gke = { setNodePoolAutoscaling: async () => undefined } as unknown as GkeApi;
    const autoscaling = createAutoscalingActivities({ gke, kube: () => kube, metricsAdapter: adapter });
    const run = { deploymentId: 'deploy/my-gcp-project/triton-gke/triton' };
    await env.run(async () => {
      await driverActivities.ensureGpuDriver({ run, cluster: CLUSTER, nodePool: spec.nodePool });
      await driverActivities.awaitAllocatableGpus({ run, cluster: CLUSTER, nodePool: spec.nodePool });
      // An engine build that succeeds at once.
      const engineJob = renderEngineBuildJob({
        name: 'engine-resnet50-0123456789ab',
        namespace: JOB_NAMESPACE,
        model,
        engineKey: '0123456789ab',
        planUri: `${spec.bucket}/engines/resnet50/0123456789ab/model.plan`,
        recordUri: `${spec.bucket}/engines/resnet50/0123456789ab/build.json`,
        tensorrtImage: 'us-central1-docker.pkg.dev/my-gcp-project/triton-pipeline/engine-builder:24.08',
        nodePool: spec.nodePool.name,
        acceleratorType: spec.nodePool.acceleratorType,
        scriptsConfigMap: jobScripts.metadata.name,
      });
      await runJob({ api: kube, job: engineJob, prerequisites: [jobScripts], pollIntervalMs: 1, failure });
      // A perf sweep whose earlier attempt failed: replaced, fails again, its log read.
      const sweep = renderSweepJob({
        name: 'perf-0123456789ab',
        namespace: JOB_NAMESPACE,
        release: spec.release,
        variant: model.variants[0]!.name,
        sla: model.sla,
        shapes: [],
        tritonImage: spec.release.image,
        gpuNodePool: spec.nodePool.name,
      });
      await kube.apply(sweep);
      fake.jobOutcome = 'failed';
      await assert.rejects(runJob({ api: kube, job: sweep, pollIntervalMs: 1, failure }), /job failed/);
      await autoscaling.enableAutoscaling({ run, cluster: CLUSTER, spec });
      // A load drill whose load Job ends at once: a look, the Job created, a look, the Job deleted.
      fake.jobOutcome = 'succeeded';
      const drillSpec = { ...spec, autoscaling: { ...spec.autoscaling, loadDrill: { concurrency: 8, scaleUpTimeoutSeconds: 60, scaleDownTimeoutSeconds: 60 } } };
      const drill = await createLoadDrillActivities({ kube: () => kube, triton: () => probe, pollIntervalMs: 1 }).runLoadDrill({ run, cluster: CLUSTER, spec: drillSpec, repositoryUri: `${spec.bucket}/model_repository/versions/v1` });
      assert.equal(drill.outcome, 'no-scale-up');
    });
    const ready = await probe.ready({ release: spec.release.name, namespace: spec.release.namespace });
    assert.equal(ready.ready, true, 'the probe went all the way to Triton\'s health endpoint');
    const scrapes = await probe.scrapeMetrics!({ release: spec.release.name, namespace: spec.release.namespace });
    assert.equal(scrapes.length, 1);
    assert.match(scrapes[0]!.text, /nv_inference_count/, 'the probe scraped a pod through the pod proxy');
  });

  after(async () => {
    if (fake !== undefined) await new Promise<void>((resolve) => fake.server.close(() => resolve()));
    if (workDir !== '') await rm(workDir, { recursive: true, force: true });
  });

  const resourceRequests = () => fake.requests.flatMap((r) => (r.attributes === 'discovery' ? [] : r.attributes));

  it('the rendered rules allow every request the kube client and the Triton probe sent', () => {
    assert.ok(resourceRequests().length > 20, 'the activities ran');
    const denied = resourceRequests().filter((a) => !allows(rbac, GSA, a));
    assert.deepEqual(denied.map(describeAttributes), [], 'requests the chart does not allow');
    for (const r of fake.requests.filter((r) => r.attributes === 'discovery')) {
      assert.match(r.path, /^\/apis?\/[^/]+(\/[^/]+)?$/, `${r.method} ${r.path} is discovery (allowed to every authenticated user)`);
    }
  });

  it('src/plan/worker-api-calls.ts declares every request sent, and every call it declares for them was sent', () => {
    const clients = declaredFor(['kube client', 'triton probe']);
    const undeclared = resourceRequests().filter((a) => !clients.some((call) => declares(call, a)));
    assert.deepEqual(undeclared.map(describeAttributes), [], 'requests missing from WORKER_API_CALLS');
    for (const call of clients) {
      for (const verb of call.verbs) {
        assert.ok(
          resourceRequests().some((a) => declares({ ...call, verbs: [verb] }, a)),
          `declared but never sent: ${verb} ${call.group || 'core'}/${call.resource}${call.subresource ? `/${call.subresource}` : ''} (${call.why})`,
        );
      }
    }
  });

  it('allows the bind and escalate checks of the metrics adapter\'s RBAC objects, and declares them', () => {
    const checks: Attributes[] = [];
    for (const object of adapter) {
      const { kind, metadata } = object;
      const roleRef = (object as Manifest).roleRef;
      if (kind === 'ClusterRole') checks.push({ verb: 'escalate', group: 'rbac.authorization.k8s.io', resource: 'clusterroles', name: metadata.name });
      if ((kind === 'ClusterRoleBinding' || kind === 'RoleBinding') && roleRef !== undefined) {
        checks.push({
          verb: 'bind',
          group: 'rbac.authorization.k8s.io',
          resource: roleRef.kind === 'Role' ? 'roles' : 'clusterroles',
          name: roleRef.name,
          ...(kind === 'RoleBinding' ? { namespace: metadata.namespace! } : {}),
        });
      }
    }
    assert.ok(checks.some((c) => c.verb === 'bind') && checks.some((c) => c.verb === 'escalate'));
    assert.deepEqual(checks.filter((c) => !allows(rbac, GSA, c)).map(describeAttributes), []);
    const declared = declaredFor(['rbac escalation check']);
    // A RoleBinding to a ClusterRole is checked in its namespace, but against the cluster role.
    const declaredAs = (c: Attributes) => declared.some((call) => call.resource === c.resource && call.group === c.group && (call.verbs as readonly string[]).includes(c.verb));
    assert.deepEqual(checks.filter((c) => !declaredAs(c)).map(describeAttributes), []);
    for (const call of declared) {
      for (const verb of call.verbs) assert.ok(checks.some((c) => c.resource === call.resource && c.verb === verb), `declared but not needed: ${verb} ${call.resource}`);
    }
  });

  it('declares and allows what helm does to every kind the triton chart renders with the pipeline\'s values', async () => {
    const kinds = new Map<string, { group: string; resource: string; namespaced: boolean }>();
    for (const metric of SCALING_METRICS) {
      for (const monitoring of ['podmonitoring', 'servicemonitor', 'none'] as const) {
        for (const internalLoadBalancer of [true, false]) {
          for (const autoscaled of [true, false]) {
            const variant = gkeSpec((s) => {
              s.nodePool = { ...s.nodePool!, gpuDriver: gpuDriverFor(metric) };
              s.release = { ...s.release!, monitoring, internalLoadBalancer };
              s.autoscaling = { ...s.autoscaling, enabled: autoscaled, metric };
            });
            const values = tritonValues(variant, `${variant.bucket}/model_repository/versions/v1`, { deploymentId: 'deploy/x', repositoryVersion: 'v1' });
            for (const [release, v] of [[variant.release.name, values], [`${variant.release.name}-preview`, previewValues(values)]] as const) {
              for (const m of await render(TRITON_CHART, release, variant.release.namespace, v as unknown as Record<string, unknown>)) {
                const r = resourceOf(m.apiVersion, m.kind);
                kinds.set(`${r.group}/${r.resource}`, r);
              }
            }
          }
        }
      }
    }
    assert.deepEqual([...kinds.keys()].sort(), [
      '/serviceaccounts',
      '/services',
      'apps/deployments',
      'monitoring.coreos.com/servicemonitors',
      'monitoring.googleapis.com/clusterrules',
      'monitoring.googleapis.com/podmonitorings',
      'monitoring.googleapis.com/rules',
    ]);
    const helmCalls = declaredFor(['helm']);
    for (const { group, resource, namespaced } of kinds.values()) {
      const call = helmCalls.find((c) => c.group === group && c.resource === resource && c.subresource === undefined);
      assert.ok(call, `WORKER_API_CALLS declares helm's calls on ${group || 'core'}/${resource}`);
      // Namespaced kinds go with the release rules, bound per release namespace; cluster-scoped ones with the cluster rules.
      assert.equal(call.namespaced, namespaced, `${resource} is declared ${namespaced ? 'namespaced' : 'cluster-scoped'}`);
      assert.equal(call.scope, namespaced ? 'releases' : 'cluster', `${resource}: helm's calls land in ${namespaced ? 'the release namespace' : 'cluster scope'}`);
      for (const verb of ['get', 'create', 'patch', 'delete'] as const) assert.ok(call.verbs.includes(verb), `helm ${verb} ${resource}`);
    }
    for (const call of helmCalls) {
      assert.ok(call.scope === 'releases' || call.scope === 'cluster', `${call.resource}: helm works in the release namespace or at cluster scope`);
      for (const verb of call.verbs) {
        const a: Attributes = { verb, group: call.group, resource: call.resource, ...(call.namespaced ? { namespace: spec.release.namespace } : {}) };
        assert.ok(allows(rbac, GSA, a), `the chart allows helm to ${describeAttributes(a)} (${call.why})`);
      }
    }
  });

  it('renders no rule that no declared call needs, and binds only the Google identity', () => {
    const roles = rbac.filter((m) => m.kind === 'ClusterRole' || m.kind === 'Role');
    assert.ok(roles.length >= 4);
    for (const role of roles) {
      for (const rule of role.rules ?? []) {
        for (const group of rule.apiGroups ?? []) {
          for (const resource of rule.resources ?? []) {
            const [base, sub] = resource.split('/') as [string, string | undefined];
            for (const verb of rule.verbs) {
              const used = WORKER_API_CALLS.some((c) => c.group === group && c.resource === base && c.subresource === sub && (c.verbs as readonly string[]).includes(verb));
              assert.ok(used, `${role.metadata.name}: ${verb} ${group || 'core'}/${resource} serves no call in WORKER_API_CALLS`);
            }
          }
        }
      }
    }
    const bindings = rbac.filter((m) => m.kind === 'ClusterRoleBinding' || m.kind === 'RoleBinding');
    assert.ok(bindings.length >= 6);
    for (const binding of bindings) {
      assert.deepEqual(binding.subjects, [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: GSA }], `${binding.kind} ${binding.metadata.name} binds the Google service account`);
    }
  });

  it('renders RBAC only when asked, and only RBAC with worker.enabled=false (a target cluster)', async () => {
    const defaults = await render(WORKER_CHART, 'w', 'default', {});
    assert.deepEqual(defaults.map((m) => m.kind).sort(), ['Deployment', 'ServiceAccount'], 'IAM roles/container.admin is the default: no RBAC');
    const target = await render(WORKER_CHART, 'w', 'default', { worker: { enabled: false }, rbac: { create: true, user: GSA } });
    assert.ok(target.length > 0 && target.every((m) => ['Namespace', 'ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding'].includes(m.kind)), target.map((m) => m.kind).join(', '));
  });
});
