import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { planDeployment } from '../../../src/plan/deployment-plan.js';
import { renderHpa, tritonValues } from '../../../src/plan/helm-values.js';
import { deploymentWorkflowId, repositoryVersionFor } from '../../../src/plan/ids.js';
import { extractPerfCsv, jobEnv, PERF_CSV_BEGIN, PERF_CSV_END, renderEngineBuildJob, renderPerfJob, tensorrtImageFor } from '../../../src/plan/jobs.js';
import { repositoryManifestUri, repositoryVersionUri } from '../../../src/plan/layout.js';
import type { DeploymentSpec } from '../../../src/spec/schema.js';
import { validateSpec } from '../../../src/spec/validate.js';
import { exampleSpec } from '../../helpers/specs.js';

function example(name = 'sim-seed'): DeploymentSpec {
  const result = validateSpec(exampleSpec(name));
  assert.ok(result.ok);
  return result.spec;
}

describe('planning', () => {
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

  it('renders an autoscaling/v2 HPA scoped to the release', () => {
    const hpa = renderHpa(example());
    assert.equal(hpa.apiVersion, 'autoscaling/v2');
    assert.equal(hpa.spec?.scaleTargetRef.name, 'triton');
    assert.deepEqual([hpa.spec?.minReplicas, hpa.spec?.maxReplicas], [1, 3]);
    assert.equal(hpa.spec?.metrics?.[0]!.type, 'External');
    assert.ok(hpa.spec?.metrics?.[0]!.external!.metric.selector, 'the metric has a selector (the sample had none)');
    const queue = renderHpa({ ...example(), autoscaling: { ...example().autoscaling, metric: 'triton-queue-time-us' } });
    assert.equal(queue.spec?.metrics?.[0]!.type, 'Pods');
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
    const assets = { driverInstaller: { apiVersion: 'apps/v1', kind: 'DaemonSet', metadata: { name: 'nvidia-driver-installer' } }, metricsAdapter: [{ apiVersion: 'apiregistration.k8s.io/v1', kind: 'APIService', metadata: { name: 'v1beta1.external.metrics.k8s.io' } }] };
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
