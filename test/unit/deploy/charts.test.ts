/**
 * The Helm charts (deploy/charts/triton, deploy/charts/pipeline-worker) against the real helm binary
 * and kubernetes-validate (both installed by scripts/setup.sh): lint with the example values, render
 * the triton chart with the values the pipeline computes for the seed example, check the rendered
 * facts, and validate every rendered manifest offline against the Kubernetes 1.34 schemas.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { execa } from 'execa';
import { parse, parseAllDocuments, stringify } from 'yaml';
import { METRIC_WINDOW_SECONDS, previewValues, RECORDED_METRICS, renderHpa, tritonDeploymentName, tritonValues, type TritonValues } from '../../../src/plan/helm-values.js';
import type { DeploymentSpec } from '../../../src/spec/schema.js';
import { validateSpec } from '../../../src/spec/validate.js';
import { PROJECT_ROOT } from '../../helpers/specs.js';

const HELM = join(PROJECT_ROOT, '.tools/bin/helm');
const KUBERNETES_VALIDATE = join(PROJECT_ROOT, '.tools/venv/bin/kubernetes-validate');
const TRITON_CHART = join(PROJECT_ROOT, 'deploy/charts/triton');
const WORKER_CHART = join(PROJECT_ROOT, 'deploy/charts/pipeline-worker');
const TRITON_SEED_VALUES = join(PROJECT_ROOT, 'deploy/values/triton-seed.yaml');
const WORKER_VALUES = join(PROJECT_ROOT, 'deploy/values/worker-example.yaml');
const KUBE_VERSION = '1.34';
const RELEASE = 'triton';

/**
 * Custom resources that kubernetes-validate has no schema for (it only ships the built-in API
 * groups): validated here by their own assertions, and checked to be skipped for that reason only.
 */
const CRD_KINDS: ReadonlyMap<string, string> = new Map([
  ['PodMonitoring', 'monitoring.googleapis.com/v1'],
  ['Rules', 'monitoring.googleapis.com/v1'],
  ['ClusterRules', 'monitoring.googleapis.com/v1'],
  ['ServiceMonitor', 'monitoring.coreos.com/v1'],
]);

type Manifest = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [field: string]: unknown;
};

interface Container {
  name: string;
  image: string;
  imagePullPolicy?: string;
  args?: string[];
  command?: string[];
  env?: Array<{ name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string; optional?: boolean } } }>;
  ports?: Array<{ name: string; containerPort: number }>;
  resources?: { limits?: Record<string, unknown>; requests?: Record<string, unknown> };
  startupProbe?: Probe;
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  securityContext?: Record<string, unknown>;
  volumeMounts?: Array<{ name: string; mountPath: string }>;
}
interface Probe {
  httpGet?: { path: string; port: string | number };
  initialDelaySeconds?: number;
  periodSeconds?: number;
  failureThreshold?: number;
}
interface PodSpec {
  serviceAccountName?: string;
  nodeSelector?: Record<string, string>;
  tolerations?: Array<{ key: string; operator: string; effect: string }>;
  securityContext?: Record<string, unknown>;
  terminationGracePeriodSeconds?: number;
  containers: Container[];
  volumes?: Array<{ name: string; secret?: { secretName: string } }>;
}
interface DeploymentSpecK8s {
  replicas?: number;
  selector: { matchLabels: Record<string, string> };
  template: { metadata: { labels: Record<string, string>; annotations?: Record<string, string> }; spec: PodSpec };
}
interface Rule {
  apiGroups?: string[];
  resources?: string[];
  resourceNames?: string[];
  verbs: string[];
  nonResourceURLs?: string[];
}

let workDir = '';

function seedSpec(text: string): DeploymentSpec {
  const result = validateSpec(parse(text));
  if (!result.ok) assert.fail(`examples/sim-seed.yaml is invalid: ${JSON.stringify(result.errors)}`);
  return result.spec;
}

async function requireTool(path: string): Promise<void> {
  if (!existsSync(path)) assert.fail(`${path} is missing: run scripts/setup.sh (npm test does) to install it`);
}

async function helm(args: readonly string[]): Promise<{ exitCode: number; output: string }> {
  const result = await execa(HELM, [...args], { reject: false, all: true, env: { HELM_CACHE_HOME: join(workDir, 'helm-cache'), HELM_CONFIG_HOME: join(workDir, 'helm-config'), HELM_DATA_HOME: join(workDir, 'helm-data') } });
  return { exitCode: result.exitCode ?? -1, output: result.all ?? '' };
}

async function lint(chart: string, args: readonly string[]): Promise<{ exitCode: number; output: string }> {
  return helm(['lint', '--strict', '--kube-version', KUBE_VERSION, chart, ...args]);
}

/** helm template, parsed into manifests (empty documents dropped). */
async function render(chart: string, release: string, args: readonly string[]): Promise<Manifest[]> {
  const { exitCode, output } = await helm(['template', release, chart, '--kube-version', KUBE_VERSION, ...args]);
  assert.equal(exitCode, 0, `helm template ${chart} failed:\n${output}`);
  const docs = parseAllDocuments(output);
  const manifests: Manifest[] = [];
  for (const doc of Array.isArray(docs) ? docs : [docs]) {
    assert.deepEqual(doc.errors, [], 'rendered YAML parses');
    const value = doc.toJS() as Manifest | null;
    if (value !== null && value !== undefined) manifests.push(value);
  }
  return manifests;
}

async function writeValues(name: string, values: Record<string, unknown>): Promise<string> {
  const path = join(workDir, name);
  await writeFile(path, stringify(values));
  return path;
}

function only(manifests: readonly Manifest[], kind: string, name?: string): Manifest {
  const found = manifests.filter((m) => m.kind === kind && (name === undefined || m.metadata.name === name));
  assert.equal(found.length, 1, `exactly one ${kind}${name ? ` ${name}` : ''} (got ${found.map((m) => m.metadata.name).join(', ') || 'none'})`);
  return found[0]!;
}

function deploymentSpec(manifest: Manifest): DeploymentSpecK8s {
  return manifest['spec'] as DeploymentSpecK8s;
}

/**
 * kubernetes-validate --strict of every manifest except the listed CRD kinds, which are run on their
 * own to prove they are skipped only because the tool has no schema for them.
 */
async function validateOffline(name: string, manifests: readonly Manifest[]): Promise<void> {
  const builtIn = manifests.filter((m) => !CRD_KINDS.has(m.kind));
  const custom = manifests.filter((m) => CRD_KINDS.has(m.kind));
  assert.ok(builtIn.length > 0);
  const file = join(workDir, `${name}.yaml`);
  await writeFile(file, builtIn.map((m) => stringify(m)).join('---\n'));
  const result = await execa(KUBERNETES_VALIDATE, ['-k', KUBE_VERSION, '--strict', file], { reject: false, all: true });
  const output = result.all ?? '';
  assert.equal(result.exitCode, 0, `kubernetes-validate ${name}:\n${output}`);
  assert.doesNotMatch(output, /^(WARN|ERROR)/m, `kubernetes-validate ${name} warned:\n${output}`);
  assert.equal((output.match(/^INFO .* passed for resource /gm) ?? []).length, builtIn.length, `every manifest of ${name} was validated:\n${output}`);
  for (const manifest of custom) {
    assert.equal(manifest.apiVersion, CRD_KINDS.get(manifest.kind), `${manifest.kind} apiVersion`);
    const crdFile = join(workDir, `${name}-${manifest.kind}.yaml`);
    await writeFile(crdFile, stringify(manifest));
    const crd = await execa(KUBERNETES_VALIDATE, ['-k', KUBE_VERSION, '--strict', crdFile], { reject: false, all: true });
    assert.equal(crd.exitCode, 0, crd.all);
    assert.match(crd.all ?? '', new RegExp(`Couldn't find schema for kind ${manifest.kind}`), `${manifest.kind} is skipped for lack of a schema`);
  }
}

/** Every leaf path of an object: ["image.name", "models", ...] (arrays are leaves). */
function leafPaths(value: unknown, prefix = ''): string[] {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return [prefix];
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length === 0) return [prefix];
  return entries.flatMap(([key, child]) => leafPaths(child, prefix === '' ? key : `${prefix}.${key}`));
}

function hasPath(value: unknown, path: string): boolean {
  let node: unknown = value;
  for (const key of path.split('.')) {
    if (node === null || typeof node !== 'object' || !(key in (node as object))) return false;
    node = (node as Record<string, unknown>)[key];
  }
  return true;
}

describe('helm charts', () => {
  let spec: DeploymentSpec;
  let values: TritonValues;
  let seedManifests: Manifest[];

  before(async () => {
    await requireTool(HELM);
    await requireTool(KUBERNETES_VALIDATE);
    workDir = await mkdtemp(join(tmpdir(), 'charts-test-'));
    spec = seedSpec(await readFile(join(PROJECT_ROOT, 'examples/sim-seed.yaml'), 'utf8'));
    values = tritonValues(spec, 'gs://b/r/versions/v1', { deploymentId: 'deploy/x', repositoryVersion: 'v1' });
    const valuesFile = await writeValues('triton-pipeline-values.yaml', values);
    seedManifests = await render(TRITON_CHART, RELEASE, ['--namespace', spec.release.namespace, '-f', valuesFile]);
  });

  after(async () => {
    if (workDir !== '') await rm(workDir, { recursive: true, force: true });
  });

  describe('triton', () => {
    it('passes helm lint --strict with its defaults, the seed example values and the pipeline values', async () => {
      for (const args of [[], ['-f', TRITON_SEED_VALUES], ['-f', join(workDir, 'triton-pipeline-values.yaml')]]) {
        const { exitCode, output } = await lint(TRITON_CHART, args);
        assert.equal(exitCode, 0, `helm lint ${args.join(' ')}:\n${output}`);
      }
    });

    it('declares every value key the pipeline sets, and the seed example mirrors tritonValues()', async () => {
      const defaults = parse(await readFile(join(TRITON_CHART, 'values.yaml'), 'utf8')) as Record<string, unknown>;
      for (const path of leafPaths(values)) assert.ok(hasPath(defaults, path), `values.yaml documents ${path}`);
      const seed = parse(await readFile(TRITON_SEED_VALUES, 'utf8')) as TritonValues;
      assert.deepEqual(Object.keys(seed).sort(), Object.keys(values).sort());
      // The repository version and the run marker change per run; everything else is the spec's.
      const perRun = new Set(['modelRepositoryPath', 'pipeline']);
      const stable = (v: TritonValues) => Object.fromEntries(Object.entries(v).filter(([key]) => !perRun.has(key)));
      assert.deepEqual(stable(seed), stable(values));
      assert.match(seed.modelRepositoryPath, /^gs:\/\/sim-models\/model_repository\/versions\//);
      assert.match(seed.pipeline.deploymentId, /^deploy\//);
    });

    it('rejects bad values through values.schema.json', async () => {
      const typo = await lint(TRITON_CHART, ['-f', TRITON_SEED_VALUES, '--set', 'image.pyullPolicy=IfNotPresent']);
      assert.notEqual(typo.exitCode, 0, 'the sample\'s pyullPolicy typo is an error');
      assert.match(typo.output, /pyullPolicy/);
      const noModels = await lint(TRITON_CHART, ['--set', 'modelControlMode=explicit']);
      assert.notEqual(noModels.exitCode, 0, 'explicit model control without models is an error');
      const badMode = await lint(TRITON_CHART, ['--set', 'monitoring.kind=prometheus']);
      assert.notEqual(badMode.exitCode, 0);
      const badPull = await lint(TRITON_CHART, ['--set', 'image.pullPolicy=Sometimes']);
      assert.notEqual(badPull.exitCode, 0);
    });

    it('renders the seed: Deployment named after the release, args, ports, probes, GPU, placement, security', () => {
      assert.deepEqual(seedManifests.map((m) => m.kind).sort(), ['ClusterRules', 'Deployment', 'PodMonitoring', 'Service', 'ServiceAccount']);
      const deployment = only(seedManifests, 'Deployment');
      assert.equal(deployment.apiVersion, 'apps/v1');
      assert.equal(deployment.metadata.name, RELEASE);
      assert.equal(deployment.metadata.name, tritonDeploymentName(spec.release.name));
      assert.equal(deployment.metadata.namespace, spec.release.namespace);
      assert.equal(deployment.metadata.labels?.['app.kubernetes.io/name'], 'triton');
      assert.equal(deployment.metadata.labels?.['app.kubernetes.io/instance'], RELEASE);
      const { replicas, selector, template } = deploymentSpec(deployment);
      assert.equal(spec.autoscaling.enabled, true);
      assert.equal(replicas, undefined, 'the pipeline\'s HPA owns the count (autoscaling.external)');
      assert.deepEqual(selector.matchLabels, { 'app.kubernetes.io/name': 'triton', 'app.kubernetes.io/instance': RELEASE });
      assert.equal(template.metadata.labels['app.kubernetes.io/instance'], RELEASE, 'the HPA selector (instance label) matches the pods');
      assert.deepEqual(template.metadata.annotations, {
        'triton-pipeline.dev/deployment-id': 'deploy/x',
        'triton-pipeline.dev/repository-version': 'v1',
      });

      const pod = template.spec;
      assert.equal(pod.containers.length, 1);
      const triton = pod.containers[0]!;
      assert.equal(triton.image, spec.release.image);
      assert.equal(triton.imagePullPolicy, 'IfNotPresent', 'pullPolicy reaches the container (the sample rendered it empty)');
      const args = triton.args ?? [];
      assert.equal(args[0], 'tritonserver');
      assert.ok(args.includes('--model-repository=gs://b/r/versions/v1'), args.join(' '));
      assert.ok(!args.some((a) => a.startsWith('--model-store')), 'the current flag name');
      assert.ok(args.includes('--model-control-mode=explicit'));
      assert.deepEqual(
        args.filter((a) => a.startsWith('--load-model=')),
        ['ResNet50-INT8', 'ResNet50-INT8-2', 'Bert', 'Bert-2'].map((m) => `--load-model=${m}`),
      );
      assert.deepEqual(values.models, ['ResNet50-INT8', 'ResNet50-INT8-2', 'Bert', 'Bert-2']);
      assert.ok(args.includes('--metrics-config=summary_latencies=true'));
      assert.ok(args.includes('--strict-model-config=false'));
      assert.ok(args.some((a) => /^--log-verbose=\d+$/.test(a)));

      assert.deepEqual(
        triton.ports?.map((p) => [p.name, p.containerPort]),
        [['http', 8000], ['grpc', 8001], ['metrics', 8002]],
      );
      assert.equal(triton.resources?.limits?.['nvidia.com/gpu'], 1);
      assert.ok(triton.resources?.requests?.['cpu'] !== undefined && triton.resources.requests['memory'] !== undefined);
      assert.equal(triton.livenessProbe?.httpGet?.path, '/v2/health/live');
      assert.equal(triton.readinessProbe?.httpGet?.path, '/v2/health/ready');
      assert.equal(triton.startupProbe?.httpGet?.path, '/v2/health/live');
      const startupBudget = (triton.startupProbe?.periodSeconds ?? 10) * (triton.startupProbe?.failureThreshold ?? 3);
      assert.ok(startupBudget >= 300, `model loading gets ${startupBudget}s`);
      for (const probe of [triton.livenessProbe, triton.readinessProbe]) {
        assert.ok((probe?.initialDelaySeconds ?? 0) < 100, 'no 100 s initial delay: the startup probe gates them');
      }

      assert.deepEqual(pod.nodeSelector, {
        'cloud.google.com/gke-nodepool': 'accel',
        'cloud.google.com/gke-accelerator': 'nvidia-tesla-t4',
      });
      assert.ok(pod.tolerations?.some((t) => t.key === 'nvidia.com/gpu' && t.effect === 'NoSchedule'));
      assert.equal(pod.securityContext?.['runAsNonRoot'], true);
      assert.equal(pod.securityContext?.['runAsUser'], 1000);
      assert.equal(triton.securityContext?.['allowPrivilegeEscalation'], false);
      assert.ok((pod.terminationGracePeriodSeconds ?? 0) > 0);
      const serviceAccount = only(seedManifests, 'ServiceAccount');
      assert.equal(pod.serviceAccountName, serviceAccount.metadata.name);
    });

    it('renders the Service with the three ports and the internal load balancer annotation', () => {
      const service = only(seedManifests, 'Service');
      assert.equal(service.metadata.name, RELEASE);
      const serviceSpec = service['spec'] as { type: string; selector: Record<string, string>; ports: Array<{ name: string; port: number; targetPort: string }> };
      assert.equal(serviceSpec.type, 'LoadBalancer');
      assert.equal(service.metadata.annotations?.['networking.gke.io/load-balancer-type'], 'Internal');
      assert.deepEqual(serviceSpec.ports.map((p) => [p.name, p.port]), [['http', 8000], ['grpc', 8001], ['metrics', 8002]]);
      assert.deepEqual(serviceSpec.selector, deploymentSpec(only(seedManifests, 'Deployment')).selector.matchLabels);
    });

    it('scrapes the metrics port with a PodMonitoring by default', () => {
      const monitor = only(seedManifests, 'PodMonitoring');
      assert.equal(monitor.apiVersion, 'monitoring.googleapis.com/v1');
      const monitorSpec = monitor['spec'] as { selector: { matchLabels: Record<string, string> }; endpoints: Array<{ port: string; path?: string }> };
      assert.deepEqual(monitorSpec.endpoints.map((e) => e.port), ['metrics']);
      assert.deepEqual(monitorSpec.selector.matchLabels, deploymentSpec(only(seedManifests, 'Deployment')).selector.matchLabels);
    });

    it('records the gauge the pipeline\'s HPA reads, per pod of this release: queue time per request (Rules), GPU utilization (ClusterRules)', async () => {
      type RuleGroups = { groups: Array<{ rules: Array<{ record: string; expr: string }> }> };
      const rulesOf = (m: Manifest) => (m['spec'] as RuleGroups).groups.flatMap((g) => g.rules);
      const withMetric = (metric: DeploymentSpec['autoscaling']['metric']) => ({ ...spec, autoscaling: { ...spec.autoscaling, metric } });
      const renderFor = async (s: DeploymentSpec, release = RELEASE) =>
        render(TRITON_CHART, release, ['--namespace', s.release.namespace, '-f', await writeValues(`rules-${s.autoscaling.metric}.yaml`, tritonValues(s, 'gs://b/r/versions/v1', { deploymentId: 'deploy/x', repositoryVersion: 'v1' }))]);
      const hpaName = (s: DeploymentSpec) => renderHpa(s).spec!.metrics![0]!.pods!.metric.name;

      const queue = withMetric('triton-queue-time-us');
      const queueManifests = await renderFor(queue);
      assert.ok(!queueManifests.some((m) => m.kind === 'ClusterRules'));
      const rules = only(queueManifests, 'Rules');
      assert.equal(rules.apiVersion, 'monitoring.googleapis.com/v1');
      assert.equal(rules.metadata.namespace, queue.release.namespace, 'a Rules object reads its own namespace only');
      const [queueRule] = rulesOf(rules);
      assert.equal(hpaName(queue), `prometheus.googleapis.com|${queueRule!.record}|gauge`, 'the HPA reads what the rule records');
      assert.equal(queueRule!.record, RECORDED_METRICS.queueTime);
      const job = only(queueManifests, 'PodMonitoring').metadata.name;
      // The load drill holds its load for the rate's window (METRIC_WINDOW_SECONDS), here and in the local cluster's rules.
      const window = `${METRIC_WINDOW_SECONDS['triton-queue-time-us'] / 60}m`;
      const localRules = await readFile(join(PROJECT_ROOT, 'deploy/local/prometheus/rules.yml'), 'utf8');
      for (const counter of ['nv_inference_queue_duration_us', 'nv_inference_request_success']) {
        assert.ok(queueRule!.expr.includes(`rate(${counter}{job="${job}"}[${window}])`), `${counter}: a rate of this release's scrape (job = the PodMonitoring) over the drill's window`);
        assert.ok(localRules.includes(`rate(${counter}[${window}])`), `${counter}: the local rule's rate over the drill's window`);
      }
      assert.match(queueRule!.expr, /sum by \(pod\)/, 'one series per pod');
      assert.match(queueRule!.expr, /> 0\)\s+or\s+/, 'an idle pod records 0, not NaN');

      const gpuManifests = await renderFor(withMetric('gpu-utilization'));
      assert.ok(!gpuManifests.some((m) => m.kind === 'Rules'));
      const clusterRules = only(gpuManifests, 'ClusterRules');
      assert.equal(clusterRules.metadata.namespace, undefined, 'cluster-scoped: the DCGM series live in gke-managed-system');
      assert.equal(clusterRules.metadata.name, `${spec.release.namespace}-${RELEASE}-gpu-utilization`);
      const [gpuRule] = rulesOf(clusterRules);
      assert.equal(hpaName(withMetric('gpu-utilization')), `prometheus.googleapis.com|${gpuRule!.record}|gauge`);
      assert.match(gpuRule!.expr, /^avg by \(namespace, pod\) \(/);
      const selectors = [...gpuRule!.expr.matchAll(/DCGM_FI_DEV_GPU_UTIL\{([^}]*)\}/g)].map((m) => m[1]!);
      assert.equal(selectors.length, 2, 'the GPU\'s pod as exported_pod, or as pod where the scrape keeps no pod metadata');
      for (const selector of selectors) {
        assert.ok(selector.includes(`exported_namespace="${spec.release.namespace}"`), selector);
        assert.ok(selector.includes(`pod=~"${RELEASE}-[a-z0-9]+-[a-z0-9]+"`), `only this release's pods: ${selector}`);
      }
      // The preview scrapes nothing into the live release's metrics, and records nothing either.
      const previewManifests = await render(TRITON_CHART, `${RELEASE}-preview`, ['-f', await writeValues('rules-preview.yaml', previewValues(tritonValues(withMetric('gpu-utilization'), 'gs://b/r/versions/v1', { deploymentId: 'deploy/x', repositoryVersion: 'v1' })))]);
      assert.ok(!previewManifests.some((m) => ['Rules', 'ClusterRules', 'PodMonitoring'].includes(m.kind)));
    });

    it('has the chart HPA off by default; when on it is autoscaling/v2 on the Deployment, like the pipeline HPA', async () => {
      assert.ok(!seedManifests.some((m) => m.kind === 'HorizontalPodAutoscaler'));
      const valuesFile = join(workDir, 'triton-pipeline-values.yaml');
      const manifests = await render(TRITON_CHART, RELEASE, ['-f', valuesFile, '--set', 'autoscaling.enabled=true', '--set', 'autoscaling.maxReplicas=4']);
      const hpa = only(manifests, 'HorizontalPodAutoscaler');
      const deployment = only(manifests, 'Deployment');
      assert.equal(hpa.apiVersion, 'autoscaling/v2');
      const hpaSpec = hpa['spec'] as { scaleTargetRef: { apiVersion: string; kind: string; name: string }; maxReplicas: number; metrics: Array<{ type: string }> };
      assert.deepEqual(hpaSpec.scaleTargetRef, { apiVersion: 'apps/v1', kind: 'Deployment', name: deployment.metadata.name });
      assert.equal(hpaSpec.maxReplicas, 4);
      assert.equal(deploymentSpec(deployment).replicas, undefined, 'the HPA owns the replica count');
      assert.ok(hpaSpec.metrics.length > 0);

      const pipelineHpa = renderHpa(spec) as unknown as { spec: { scaleTargetRef: { kind: string; name: string } } };
      const seedDeployment = only(seedManifests, 'Deployment');
      assert.equal(pipelineHpa.spec.scaleTargetRef.kind, 'Deployment');
      assert.equal(pipelineHpa.spec.scaleTargetRef.name, seedDeployment.metadata.name, 'the pipeline HPA targets the rendered Deployment');
    });

    it('leaves replicas out for an HPA outside the chart (autoscaling.external), so upgrades and rollbacks keep its count', async () => {
      assert.deepEqual(values.autoscaling, { external: true }, 'the pipeline sets it when the spec enables autoscaling');
      assert.ok(!seedManifests.some((m) => m.kind === 'HorizontalPodAutoscaler'), 'the HPA is the pipeline\'s, not the chart\'s');
      const valuesFile = join(workDir, 'triton-pipeline-values.yaml');
      const counted = await render(TRITON_CHART, RELEASE, ['-f', valuesFile, '--set', 'autoscaling.external=false']);
      assert.equal(deploymentSpec(only(counted, 'Deployment')).replicas, spec.release.replicas, 'without an HPA the chart sets the count');
      await validateOffline('triton-no-hpa', counted);
      const notBoolean = await lint(TRITON_CHART, ['--set', 'autoscaling.external=yes']);
      assert.notEqual(notBoolean.exitCode, 0, 'autoscaling.external is a boolean');
      assert.match(notBoolean.output, /external/);
    });

    it('renders the options: ServiceMonitor, no monitor, PDB, Workload Identity, non-explicit modes, CPU only', async () => {
      const base = ['-f', TRITON_SEED_VALUES];
      const serviceMonitor = await render(TRITON_CHART, RELEASE, [...base, '--set', 'monitoring.kind=servicemonitor']);
      const sm = only(serviceMonitor, 'ServiceMonitor');
      assert.equal(sm.apiVersion, 'monitoring.coreos.com/v1');
      assert.deepEqual((sm['spec'] as { endpoints: Array<{ port: string }> }).endpoints.map((e) => e.port), ['metrics']);
      assert.ok(!serviceMonitor.some((m) => m.kind === 'PodMonitoring'));

      const none = await render(TRITON_CHART, RELEASE, [...base, '--set', 'monitoring.kind=none']);
      assert.ok(!none.some((m) => CRD_KINDS.has(m.kind)));

      const options = await render(TRITON_CHART, RELEASE, [
        ...base,
        '--set', 'podDisruptionBudget.enabled=true',
        '--set', 'serviceAccount.gcpServiceAccount=triton@my-project.iam.gserviceaccount.com',
        '--set', 'service.type=ClusterIP', '--set', 'service.internal=false',
      ]);
      assert.equal(only(options, 'PodDisruptionBudget').apiVersion, 'policy/v1');
      assert.equal(only(options, 'ServiceAccount').metadata.annotations?.['iam.gke.io/gcp-service-account'], 'triton@my-project.iam.gserviceaccount.com');
      assert.equal(only(options, 'Service').metadata.annotations?.['networking.gke.io/load-balancer-type'], undefined);

      const defaults = await render(TRITON_CHART, RELEASE, ['--set', 'gpusPerReplica=0']);
      const pod = deploymentSpec(only(defaults, 'Deployment')).template.spec;
      const args = pod.containers[0]!.args ?? [];
      assert.ok(args.includes('--model-control-mode=none'));
      assert.ok(!args.some((a) => a.startsWith('--load-model=')));
      assert.equal(pod.containers[0]!.resources?.limits?.['nvidia.com/gpu'], undefined);
      assert.equal(pod.tolerations, undefined);
      assert.equal(pod.nodeSelector, undefined);
      assert.equal(deploymentSpec(only(defaults, 'Deployment')).template.metadata.annotations, undefined);
    });

    it('validates every rendered manifest offline (kubernetes-validate --strict, Kubernetes 1.34)', async () => {
      await validateOffline('triton-seed', seedManifests);
      const all = await render(TRITON_CHART, RELEASE, [
        '-f', TRITON_SEED_VALUES,
        '--set', 'autoscaling.enabled=true',
        '--set', 'podDisruptionBudget.enabled=true',
        '--set', 'monitoring.kind=servicemonitor',
        '--set', 'serviceAccount.gcpServiceAccount=triton@my-project.iam.gserviceaccount.com',
        '--set', 'ldPreload=/plugins/libcustom.so',
      ]);
      assert.deepEqual(all.map((m) => m.kind).sort(), ['Deployment', 'HorizontalPodAutoscaler', 'PodDisruptionBudget', 'Service', 'ServiceAccount', 'ServiceMonitor']);
      await validateOffline('triton-all', all);
      await validateOffline('triton-defaults', await render(TRITON_CHART, RELEASE, []));
    });
  });

  describe('pipeline-worker', () => {
    let manifests: Manifest[];
    const namespace = 'triton-pipeline-system';

    before(async () => {
      manifests = await render(WORKER_CHART, 'triton-pipeline', ['--namespace', namespace, '-f', WORKER_VALUES]);
    });

    it('passes helm lint --strict with its defaults and the example values', async () => {
      for (const args of [[], ['-f', WORKER_VALUES]]) {
        const { exitCode, output } = await lint(WORKER_CHART, args);
        assert.equal(exitCode, 0, `helm lint ${args.join(' ')}:\n${output}`);
      }
      const noSecret = await lint(WORKER_CHART, ['--set', 'temporal.tls.enabled=true']);
      assert.notEqual(noSecret.exitCode, 0, 'TLS without a Secret is rejected');
      const badAddress = await lint(WORKER_CHART, ['--set', 'temporal.address=no-port']);
      assert.notEqual(badAddress.exitCode, 0);
    });

    it('runs the worker against Temporal with TLS files, the payload key and the gke target from Secrets', () => {
      const deployment = only(manifests, 'Deployment');
      const pod = deploymentSpec(deployment).template.spec;
      const worker = pod.containers[0]!;
      assert.equal(worker.image, 'us-central1-docker.pkg.dev/my-project/triton-pipeline/worker:0.1.0');
      assert.equal(worker.command, undefined, 'the image\'s entrypoint (tini, node --max-semi-space-size=64 --import tsx src/worker.ts) runs');
      const env = new Map((worker.env ?? []).map((e) => [e.name, e]));
      assert.equal(env.get('TEMPORAL_ADDRESS')?.value, 'my-namespace.a1b2c.tmprl.cloud:7233');
      assert.equal(env.get('TEMPORAL_NAMESPACE')?.value, 'my-namespace.a1b2c');
      assert.equal(env.get('PIPELINE_TARGET')?.value, 'gke');
      const mount = worker.volumeMounts?.find((m) => m.name === 'temporal-tls');
      assert.ok(mount, 'the TLS Secret is mounted');
      assert.equal(env.get('TEMPORAL_TLS_CLIENT_CERT_PATH')?.value, `${mount.mountPath}/tls.crt`);
      assert.equal(env.get('TEMPORAL_TLS_CLIENT_KEY_PATH')?.value, `${mount.mountPath}/tls.key`);
      assert.equal(pod.volumes?.find((v) => v.name === 'temporal-tls')?.secret?.secretName, 'temporal-client');
      assert.deepEqual(env.get('PIPELINE_PAYLOAD_KEY')?.valueFrom?.secretKeyRef, { name: 'pipeline-payload-key', key: 'key' });
      assert.equal(env.get('PIPELINE_PAYLOAD_KEY_ID')?.valueFrom?.secretKeyRef?.name, 'pipeline-payload-key');
      for (const e of worker.env ?? []) {
        assert.ok(!/KEY|TOKEN|PASSWORD|CREDENTIAL/.test(e.name) || e.value === undefined || e.name.startsWith('TEMPORAL_TLS_'), `${e.name} comes from a Secret, not a value`);
      }
      assert.ok(!env.has('GOOGLE_APPLICATION_CREDENTIALS'), 'GCP credentials come from Workload Identity');
      assert.equal(pod.securityContext?.['runAsNonRoot'], true);
      assert.equal(worker.securityContext?.['allowPrivilegeEscalation'], false);
    });

    it('reads the API key from a Secret when configured', async () => {
      const withKey = await render(WORKER_CHART, 'w', ['--set', 'temporal.apiKey.existingSecret=temporal-api', '--set', 'temporal.apiKey.key=key']);
      const env = deploymentSpec(only(withKey, 'Deployment')).template.spec.containers[0]!.env ?? [];
      assert.deepEqual(env.find((e) => e.name === 'TEMPORAL_API_KEY')?.valueFrom?.secretKeyRef, { name: 'temporal-api', key: 'key' });
      assert.ok(!env.some((e) => e.name === 'TEMPORAL_TLS_CLIENT_CERT_PATH' || e.name === 'PIPELINE_PAYLOAD_KEY'), 'nothing optional is set by default');
    });

    it('links the ServiceAccount to the Google service account, and binds every rule to that account\'s user', () => {
      const gsa = 'triton-pipeline-worker@my-project.iam.gserviceaccount.com';
      const serviceAccount = only(manifests, 'ServiceAccount');
      assert.equal(serviceAccount.metadata.name, 'triton-pipeline-worker');
      assert.equal(serviceAccount.metadata.namespace, namespace);
      assert.equal(serviceAccount.metadata.annotations?.['iam.gke.io/gcp-service-account'], gsa);
      assert.equal(deploymentSpec(only(manifests, 'Deployment')).template.spec.serviceAccountName, 'triton-pipeline-worker');
      const bindings = manifests.filter((m) => m.kind === 'ClusterRoleBinding' || m.kind === 'RoleBinding');
      assert.ok(bindings.length >= 3);
      for (const binding of bindings) {
        const { subjects, roleRef } = binding as unknown as { subjects: Array<{ kind: string; name: string; apiGroup: string }>; roleRef: { kind: string; name: string } };
        // The worker reaches every cluster through get-credentials: GKE sees the Google service account.
        assert.deepEqual(subjects, [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: gsa }], binding.metadata.name);
        const role = manifests.find((m) => m.kind === roleRef.kind && m.metadata.name === roleRef.name && (m.kind === 'ClusterRole' || m.metadata.namespace === binding.metadata.namespace));
        assert.ok(role, `${binding.kind} ${binding.metadata.name} refers to a rendered ${roleRef.kind} ${roleRef.name}`);
      }
      const releaseBinding = bindings.find((b) => b.kind === 'RoleBinding' && b.metadata.namespace === 'inference');
      assert.ok(releaseBinding, 'the release rules are bound in the release namespace only');
      assert.ok(!bindings.some((b) => b.kind === 'ClusterRoleBinding' && (b as unknown as { roleRef: { name: string } }).roleRef.name.endsWith('-release')));
    });

    it('limits the metrics-adapter install to its named objects, and drops it when an admin installs the adapter', async () => {
      const adapterRoles = manifests.filter((m) => (m.kind === 'ClusterRole' || m.kind === 'Role') && m.metadata.name.includes('metrics-adapter'));
      assert.ok(adapterRoles.length >= 2);
      for (const role of adapterRoles) {
        for (const rule of (role as unknown as { rules: Rule[] }).rules) {
          if (rule.verbs.some((v) => ['bind', 'escalate', 'get', 'patch'].includes(v)) && (rule.resources ?? []).some((r) => r.startsWith('cluster') || r === 'roles' || r === 'rolebindings' || r === 'apiservices')) {
            assert.ok((rule.resourceNames ?? []).length > 0, `${role.metadata.name}: ${JSON.stringify(rule)} is limited by name`);
          }
        }
      }
      const without = await render(WORKER_CHART, 'w', ['-f', WORKER_VALUES, '--set', 'rbac.metricsAdapter=false']);
      assert.equal(without.filter((m) => m.metadata.name.includes('metrics-adapter')).length, 0);
    });

    it('grants least privilege: no wildcards, Secrets only per release namespace, only the verbs the activities use', async () => {
      const rbacOf = (docs: readonly Manifest[]) => docs.filter((m) => m.kind === 'ClusterRole' || m.kind === 'Role');
      for (const docs of [manifests, await render(WORKER_CHART, 'w', ['-f', WORKER_VALUES, '--set', 'rbac.clusterWide=true'])]) {
        for (const role of rbacOf(docs)) {
          const rules = (role as unknown as { rules: Rule[] }).rules;
          assert.ok(rules.length > 0);
          for (const rule of rules) {
            for (const field of [rule.apiGroups, rule.resources, rule.verbs, rule.resourceNames, rule.nonResourceURLs]) {
              assert.ok(!(field ?? []).some((entry) => entry.includes('*')), `${role.metadata.name}: no wildcard in ${JSON.stringify(rule)}`);
            }
            assert.equal(rule.nonResourceURLs, undefined);
            for (const verb of rule.verbs) {
              // bind / escalate only to install the metrics adapter's named roles.
              const named = rule.resourceNames !== undefined && rule.resourceNames.length > 0;
              const allowed = ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete', ...(named ? ['bind', 'escalate'] : [])];
              assert.ok(allowed.includes(verb), `${role.metadata.name}: verb ${verb}`);
            }
          }
        }
      }
      const rules = rbacOf(manifests).map((role) => ({ role, rules: (role as unknown as { rules: Rule[] }).rules }));
      const grants = (resource: string) => rules.flatMap(({ role, rules: list }) => list.filter((r) => r.resources?.includes(resource)).map((r) => ({ role, rule: r })));
      assert.deepEqual(grants('nodes').map((g) => g.rule.verbs), [['list']]);
      for (const resource of ['daemonsets', 'jobs', 'namespaces', 'configmaps', 'services', 'deployments', 'horizontalpodautoscalers', 'pods', 'pods/log', 'podmonitorings', 'servicemonitors', 'secrets']) {
        assert.ok(grants(resource).length > 0, `${resource} is granted`);
      }
      for (const { rule } of grants('pods').concat(grants('pods/log'))) {
        assert.ok(!rule.verbs.some((v) => ['create', 'update', 'patch', 'delete'].includes(v)), 'pods are only read');
      }
      for (const { role } of grants('secrets')) {
        const bindings = manifests.filter((m) => (m.kind === 'RoleBinding' || m.kind === 'ClusterRoleBinding') && (m as unknown as { roleRef: { name: string } }).roleRef.name === role.metadata.name);
        assert.ok(bindings.length > 0 && bindings.every((b) => b.kind === 'RoleBinding'), 'Secrets are never granted cluster-wide by default');
      }
      for (const { rule } of grants('daemonsets')) {
        assert.ok(rule.verbs.every((v) => v === 'create') || rule.resourceNames?.includes('nvidia-driver-installer'), 'only the driver installer DaemonSet is read or patched');
      }
    });

    it('validates every rendered manifest offline (kubernetes-validate --strict, Kubernetes 1.34)', async () => {
      await validateOffline('worker-example', manifests);
      await validateOffline('worker-defaults', await render(WORKER_CHART, 'w', []));
      await validateOffline('worker-cluster-wide', await render(WORKER_CHART, 'w', ['-f', WORKER_VALUES, '--set', 'rbac.clusterWide=true', '--set', 'temporal.apiKey.existingSecret=api']));
      await validateOffline('worker-target-rbac', await render(WORKER_CHART, 'w', ['--set', 'worker.enabled=false', '--set', 'rbac.create=true', '--set', 'rbac.user=triton-pipeline-worker@my-project.iam.gserviceaccount.com']));
    });
  });
});
