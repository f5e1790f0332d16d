import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { planDeployment } from '../../../src/plan/deployment-plan.js';
import { clusterMonitoringFor, RECORDED_METRICS, renderHpa, tritonValues } from '../../../src/plan/helm-values.js';
import { deploymentWorkflowId, repositoryVersionFor } from '../../../src/plan/ids.js';
import { extractPerfCsv, jobEnv, PERF_CSV_BEGIN, PERF_CSV_END, renderEngineBuildJob, renderPerfJob, tensorrtImageFor } from '../../../src/plan/jobs.js';
import { repositoryManifestUri, repositoryVersionUri } from '../../../src/plan/layout.js';
import type { DeploymentSpec } from '../../../src/spec/schema.js';
import { validateSpec } from '../../../src/spec/validate.js';
import { exampleSpec } from '../../helpers/specs.js';

const ASSETS = { driverInstaller: { apiVersion: 'apps/v1', kind: 'DaemonSet', metadata: { name: 'nvidia-driver-installer' } }, metricsAdapter: [{ apiVersion: 'apiregistration.k8s.io/v1', kind: 'APIService', metadata: { name: 'v1beta1.external.metrics.k8s.io' } }] };

function example(name = 'sim-seed'): DeploymentSpec {
  const result = validateSpec(exampleSpec(name));
  assert.ok(result.ok);
  return result.spec;
}

describe('planning', () => {
  it('shows where each variant\'s instances run: GPU 0 of a one-GPU pod, every GPU of a pod with several', () => {
    const repositoryActions = (spec: DeploymentSpec) => planDeployment(spec, ASSETS).stages.find((s) => s.stage === 'repository')!.actions;
    const one = example();
    assert.ok(repositoryActions(one).includes('ResNet50-INT8-2: 4 instances on GPU 0'));
    const two = { ...one, nodePool: { ...one.nodePool, acceleratorCount: 2 } };
    assert.ok(repositoryActions(two).includes("ResNet50-INT8-2: 4 instances on each of the pod's 2 GPUs, 8 in all"));
    const config = planDeployment(two, ASSETS).modelConfigs.find((c) => c.path.endsWith('/ResNet50-INT8-2/config.pbtxt'))!;
    assert.doesNotMatch(config.text, /gpus:/);
  });

  it('derives IDs and immutable, sortable repository versions', () => {
    assert.equal(deploymentWorkflowId(example()), 'deploy/sim-project/nvidia-gcp-gke/default/triton');
    assert.equal(repositoryVersionFor(new Date('2026-11-26T10:34:58.123Z'), '01a2177b-740c-722b'), '20261126-103458-01a2177b');
    const version = '20261126-103458-01a2177b';
    assert.equal(repositoryVersionUri('gs://b', 'model_repository', version), `gs://b/model_repository/versions/${version}`);
    assert.ok(!repositoryManifestUri('gs://b', 'model_repository', version).startsWith(repositoryVersionUri('gs://b', 'model_repository', version)));
  });

  it('renders Helm values pointing at the version, with explicit model control and the run marker', () => {
    const values = tritonValues(example(), 'gs://b/r/versions/v1', { deploymentId: 'deploy/x', repositoryVersion: 'v1' });
    assert.equal(values.modelRepositoryPath, 'gs://b/r/versions/v1');
    assert.equal(values.modelControlMode, 'explicit');
    assert.deepEqual(values.models, ['ResNet50-INT8', 'ResNet50-INT8-2', 'Bert', 'Bert-2']);
    assert.equal(values.gpusPerReplica, 1);
    assert.deepEqual(values.pipeline, { deploymentId: 'deploy/x', repositoryVersion: 'v1' });
  });

  it('renders an autoscaling/v2 HPA on a per-pod metric of the release', () => {
    const hpa = renderHpa(example());
    assert.equal(hpa.apiVersion, 'autoscaling/v2');
    assert.equal(hpa.spec?.scaleTargetRef.name, 'triton');
    assert.deepEqual([hpa.spec?.minReplicas, hpa.spec?.maxReplicas], [1, 3]);
    // Pods: the adapter reads only the scale target's pods (the sample's metric had no scope at all).
    for (const metric of ['gpu-utilization', 'triton-queue-time-us', 'triton-inflight-requests'] as const) {
      const [source] = renderHpa({ ...example(), autoscaling: { ...example().autoscaling, metric } }).spec?.metrics ?? [];
      assert.equal(source!.type, 'Pods', metric);
      assert.deepEqual(source!.pods!.target, { type: 'AverageValue', averageValue: '70' });
    }
  });

  it('names each HPA metric as the adapter serves a Managed Prometheus gauge, in lower case', () => {
    const nameOf = (metric: DeploymentSpec['autoscaling']['metric']) =>
      renderHpa({ ...example('gke'), autoscaling: { ...example('gke').autoscaling, metric } }).spec!.metrics![0]!.pods!.metric.name;
    // GPU utilization: the ClusterRules' gauge over GKE's managed DCGM metrics, not DCGM_FI_DEV_GPU_UTIL
    // itself (the HPA client lowercases metric names; Cloud Monitoring's types are case-sensitive).
    assert.equal(nameOf('gpu-utilization'), `prometheus.googleapis.com|${RECORDED_METRICS.gpuUtilization}|gauge`);
    // Queue time: a per-request gauge, not the counter the adapter would serve as µs queued per second.
    assert.equal(nameOf('triton-queue-time-us'), `prometheus.googleapis.com|${RECORDED_METRICS.queueTime}|gauge`);
    assert.equal(nameOf('triton-inflight-requests'), 'prometheus.googleapis.com|nv_inference_pending_request_count|gauge');
    for (const metric of ['gpu-utilization', 'triton-queue-time-us', 'triton-inflight-requests'] as const) {
      const name = nameOf(metric);
      assert.equal(name, name.toLowerCase(), `${metric}: lower case`);
      assert.match(name, /^prometheus\.googleapis\.com\|[a-z_:][a-z0-9_:]*\|gauge$/, `${metric}: a gauge, with a Prometheus metric name`);
    }
  });

  it('gives the local cluster the HPA the gke target applies, but for the name its prometheus-adapter serves the series by', () => {
    const local = example('local');
    const gke = example('gke');
    for (const metric of ['triton-queue-time-us', 'triton-inflight-requests'] as const) {
      const autoscaling = { ...local.autoscaling, metric };
      const [onLocal, onGke] = [renderHpa({ ...local, autoscaling }), renderHpa({ ...gke, release: local.release, autoscaling })];
      const series = onLocal.spec!.metrics![0]!.pods!.metric.name;
      // The stackdriver adapter's Cloud Monitoring name for a Managed Prometheus gauge, the series' own name in prometheus-adapter.
      assert.equal(onGke.spec!.metrics![0]!.pods!.metric.name, `prometheus.googleapis.com|${series}|gauge`);
      const withoutName = (hpa: typeof onLocal) => JSON.stringify(hpa, (key, value: unknown) => (key === 'metric' ? undefined : value));
      assert.equal(withoutName(onLocal), withoutName(onGke), metric);
    }
    assert.equal(renderHpa(local).spec!.metrics![0]!.pods!.metric.name, RECORDED_METRICS.queueTime);
    assert.deepEqual(renderHpa(local).spec!.behavior, { scaleDown: { stabilizationWindowSeconds: local.autoscaling.scaleDownStabilizationSeconds } });
  });

  it('turns on the chart\'s recording rule for the HPA\'s metric, and managed DCGM on GKE for GPU utilization', () => {
    const gke = example('gke');
    const rulesFor = (spec: DeploymentSpec) => tritonValues(spec, 'gs://b/r/versions/v1', { deploymentId: 'deploy/x', repositoryVersion: 'v1' }).monitoring.rules;
    assert.deepEqual(rulesFor(gke), { queueTime: false, gpuUtilization: true });
    assert.deepEqual(clusterMonitoringFor(gke), ['SYSTEM', 'DCGM']);
    const queue = { ...gke, autoscaling: { ...gke.autoscaling, metric: 'triton-queue-time-us' as const } };
    assert.deepEqual(rulesFor(queue), { queueTime: true, gpuUtilization: false });
    assert.equal(clusterMonitoringFor(queue), null, 'Triton metrics need no DCGM');
    assert.deepEqual(rulesFor({ ...gke, autoscaling: { ...gke.autoscaling, enabled: false } }), { queueTime: false, gpuUtilization: false });
    assert.deepEqual(rulesFor({ ...gke, release: { ...gke.release, monitoring: 'servicemonitor' } }), { queueTime: false, gpuUtilization: false }, 'the rules are Managed Prometheus CRDs');
    assert.equal(clusterMonitoringFor(example('sim-seed')), null, 'GKE only');
    const autoscaling = planDeployment(gke, ASSETS).stages.find((s) => s.stage === 'autoscaling')!.actions;
    assert.match(autoscaling[0]!, /^cluster monitoring SYSTEM,DCGM with Managed Prometheus/);
    assert.match(autoscaling.at(-1)!, /on gpu-utilization \(%, per pod\) target 70, replicas 1-3, read as pod:dcgm_fi_dev_gpu_util:avg/);
    assert.match(planDeployment(queue, ASSETS).stages.find((s) => s.stage === 'autoscaling')!.actions.at(-1)!, /on triton-queue-time-us \(µs per request, per pod\)/);
    const unscraped = planDeployment({ ...gke, release: { ...gke.release, monitoring: 'none' } }, ASSETS).stages.find((s) => s.stage === 'autoscaling')!.actions.at(-1)!;
    assert.match(unscraped, /HPA finds no metric \(set release.monitoring: podmonitoring\)/);
  });

  it('refuses GPU-utilization autoscaling on GKE over a driver GKE does not manage (managed DCGM needs GKE\'s)', () => {
    const spec = exampleSpec('gke');
    const result = validateSpec({ ...spec, nodePool: { ...spec.nodePool, gpuDriver: 'installer-daemonset' } });
    assert.ok(!result.ok);
    assert.match(JSON.stringify(result.errors), /nodePool.*gpuDriver|gke-default/);
    assert.ok(validateSpec({ ...spec, nodePool: { ...spec.nodePool, gpuDriver: 'installer-daemonset' }, autoscaling: { ...spec.autoscaling, metric: 'triton-queue-time-us' } }).ok, 'the installer still serves Triton metrics');
  });

  it('selects metrics only by the label keys the custom-metrics-stackdriver adapter accepts', () => {
    // The adapter's translator: Pods (custom) metrics allow metric.labels.* keys only; External
    // metrics allow metric.labels.*, resource.labels.*, metadata.system_labels.*, metadata.user_labels.* and resource.type.
    const allowed = {
      Pods: (key: string) => key.startsWith('metric.labels.'),
      External: (key: string) => /^(metric\.labels|resource\.labels|metadata\.system_labels|metadata\.user_labels)\./.test(key) || key === 'resource.type',
    };
    for (const metric of ['gpu-utilization', 'triton-queue-time-us', 'triton-inflight-requests'] as const) {
      const [spec] = renderHpa({ ...example(), autoscaling: { ...example().autoscaling, metric } }).spec?.metrics ?? [];
      const source = spec!.type === 'Pods' ? spec!.pods!.metric : spec!.external!.metric;
      const keys = [...Object.keys(source.selector?.matchLabels ?? {}), ...(source.selector?.matchExpressions ?? []).map((e) => e.key)];
      const accepts = spec!.type === 'Pods' ? allowed.Pods : allowed.External;
      assert.deepEqual(keys.filter((key) => !accepts(key)), [], `${metric}: ${spec!.type} metric selector keys the adapter refuses`);
    }
  });

  it('builds engines in a Job pinned to the GPU pool, with the TensorRT image matching Triton', () => {
    const spec = example();
    assert.equal(tensorrtImageFor(spec.release.image), 'nvcr.io/nvidia/tensorrt:24.08-py3');
    assert.throws(() => tensorrtImageFor('my/triton:latest'), /NGC tag/);
    const job = renderEngineBuildJob({
      name: 'trt-resnet50-abc',
      namespace: 'triton-pipeline',
      model: spec.models[0]!,
      engineKey: 'abc',
      planUri: 'gs://b/engines/resnet50/abc/model.plan',
      recordUri: 'gs://b/engines/resnet50/abc/build-record.json',
      tensorrtImage: 'nvcr.io/nvidia/tensorrt:24.08-py3',
      nodePool: 'accel',
      acceleratorType: 'nvidia-tesla-t4',
      scriptsConfigMap: 'triton-pipeline-job-scripts',
    });
    assert.equal(job.kind, 'Job');
    const pod = (job['spec'] as { template: { spec: { restartPolicy: string; nodeSelector: Record<string, string>; containers: Array<{ resources: { limits: Record<string, number> } }> } } }).template.spec;
    assert.equal(pod.restartPolicy, 'Never');
    assert.equal(pod.nodeSelector['cloud.google.com/gke-nodepool'], 'accel');
    assert.equal(pod.containers[0]!.resources.limits['nvidia.com/gpu'], 1);
    assert.equal(jobEnv(job)['PROFILES'], '1,8,32;1,16,32;1,32,32');
  });

  it('runs perf_analyzer off the GPU pool and reads its CSV between markers', () => {
    const job = renderPerfJob({ name: 'perf-1', namespace: 'n', image: 'sdk', args: ['-m', "it's"], csvPath: '/tmp/p.csv', avoidNodePool: 'accel', env: {} });
    const text = JSON.stringify(job);
    assert.ok(text.includes('"operator":"NotIn","values":["accel"]'));
    assert.ok(text.includes(`'it'\\\\''s'`), 'arguments are shell-quoted');
    assert.equal(extractPerfCsv(`noise\n${PERF_CSV_BEGIN}\na,b\n1,2\n${PERF_CSV_END}\n`), 'a,b\n1,2');
    assert.throws(() => extractPerfCsv('perf_analyzer crashed'), /no CSV block/);
  });

  it('plans every stage and the manifests without touching anything', () => {
    const assets = ASSETS;
    const plan = planDeployment(example(), assets);
    assert.deepEqual(plan.stages.map((s) => s.stage), ['cluster', 'driver', 'engines', 'repository', 'preview', 'validation', 'release', 'bake', 'autoscaling', 'report']);
    assert.match(plan.stages.find((s) => s.stage === 'preview')!.actions[0]!, /helm upgrade --install triton-preview .*no production traffic/);
    const inPlace = example();
    const planned = planDeployment({ ...inPlace, release: { ...inPlace.release, strategy: 'in-place' } }, assets);
    assert.deepEqual(planned.stages.map((s) => s.stage), ['cluster', 'driver', 'engines', 'repository', 'release', 'validation', 'autoscaling', 'report']);
    assert.equal(plan.modelConfigs.length, 4);
    assert.deepEqual(plan.manifests.map((m) => m.kind), ['DaemonSet', 'APIService', 'HorizontalPodAutoscaler']);
    const gke = planDeployment(example('gke'), assets);
    assert.deepEqual(gke.manifests.map((m) => m.kind), ['APIService', 'HorizontalPodAutoscaler'], 'GKE-managed driver: no DaemonSet');
  });
});
