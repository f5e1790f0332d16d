/** The pure parts of the real clients: argv building, output parsing and error mapping. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { JOB_NAMESPACE } from '../../../src/plan/jobs.js';
import { JOB_SCRIPTS_CONFIGMAP, loadJobScripts } from '../../../src/assets.js';
import { clusterInfo, gcloudErrorCode, nodePoolInfo } from '../../../src/clients/gcloud-gke.js';
import { helmErrorCode, parseHistory, upgradeArgs } from '../../../src/clients/helm.js';
import { jobStatusOf, nodeInfo } from '../../../src/clients/kube.js';
import { deploymentServing } from '../../../src/clients/triton-probe.js';

describe('helm client', () => {
  it('upgrades with values on stdin, --wait and a timeout', () => {
    const args = upgradeArgs({ release: 'triton', namespace: 'inference', chart: 'deploy/charts/triton', values: { a: 1 }, timeoutSeconds: 900 });
    assert.deepEqual(args.slice(0, 4), ['upgrade', '--install', 'triton', 'deploy/charts/triton']);
    for (const flag of ['--wait', '--create-namespace']) assert.ok(args.includes(flag), flag);
    assert.equal(args[args.indexOf('--values') + 1], '-');
    assert.equal(args[args.indexOf('--timeout') + 1], '900s');
    assert.ok(!args.join(' ').includes('"a"'), 'values never on the command line');
  });

  it('parses history and maps helm errors', () => {
    assert.deepEqual(parseHistory('[{"revision":1,"updated":"x","status":"superseded","chart":"triton-0.1.0","app_version":"24.08","description":"Install complete"},{"revision":2,"status":"deployed","description":"Upgrade complete"}]'), [
      { revision: 1, status: 'superseded', description: 'Install complete' },
      { revision: 2, status: 'deployed', description: 'Upgrade complete' },
    ]);
    assert.equal(helmErrorCode('Error: release: not found'), 'NOT_FOUND');
    assert.equal(helmErrorCode('Error: UPGRADE FAILED: context deadline exceeded'), 'FAILED_PRECONDITION');
    assert.equal(helmErrorCode('Error: UPGRADE FAILED: another operation (install/upgrade/rollback) is in progress'), 'ABORTED');
    assert.equal(helmErrorCode('Error: Kubernetes cluster unreachable: dial tcp: connection refused'), 'UNAVAILABLE');
    assert.equal(helmErrorCode('Error: secrets is forbidden: User cannot list resource'), 'PERMISSION_DENIED');
  });
});

describe('kubernetes client', () => {
  it('reads allocatable GPUs and readiness from nodes', () => {
    assert.deepEqual(
      nodeInfo({ metadata: { name: 'n1', labels: { 'cloud.google.com/gke-nodepool': 'accel' } }, status: { allocatable: { 'nvidia.com/gpu': '1' }, conditions: [{ type: 'Ready', status: 'True' }] } }),
      { name: 'n1', ready: true, labels: { 'cloud.google.com/gke-nodepool': 'accel' }, allocatableGpus: 1 },
    );
    assert.equal(nodeInfo({ metadata: { name: 'n2' }, status: { conditions: [{ type: 'Ready', status: 'False' }] } }).allocatableGpus, 0);
  });

  it('derives a Job phase from its status and conditions', () => {
    assert.deepEqual(jobStatusOf({}), { phase: 'pending' });
    assert.deepEqual(jobStatusOf({ status: { active: 1 } }), { phase: 'running' });
    assert.deepEqual(jobStatusOf({ status: { succeeded: 1 } }), { phase: 'succeeded' });
    assert.deepEqual(jobStatusOf({ status: { failed: 2, conditions: [{ type: 'Failed', status: 'True', reason: 'BackoffLimitExceeded', message: 'Job has reached the specified backoff limit' }] } }), {
      phase: 'failed',
      message: 'BackoffLimitExceeded: Job has reached the specified backoff limit',
    });
  });

  it('knows what a Triton Deployment serves and whether it rolled out', () => {
    const deployment = {
      metadata: { generation: 3 },
      spec: { replicas: 2, template: { spec: { containers: [{ args: ['tritonserver', '--model-repository=gs://b/r/versions/v2', '--model-control-mode=explicit', '--load-model=A', '--load-model=B'] }] } } },
      status: { observedGeneration: 3, updatedReplicas: 2, availableReplicas: 2, replicas: 2 },
    };
    assert.deepEqual(deploymentServing(deployment), { rolledOut: true, modelRepository: 'gs://b/r/versions/v2', models: ['A', 'B'] });
    assert.equal(deploymentServing({ ...deployment, status: { ...deployment.status, observedGeneration: 2 } }).rolledOut, false);
    assert.equal(deploymentServing({ ...deployment, status: { ...deployment.status, replicas: 3 } }).rolledOut, false, 'old pods still terminating');
  });
});

describe('gcloud client', () => {
  it('reads clusters and node pools from describe output', () => {
    assert.deepEqual(clusterInfo({ name: 'c', status: 'RUNNING', nodePools: [{ name: 'default-pool', config: { machineType: 'n1-standard-8' } }], releaseChannel: { channel: 'REGULAR' } }), {
      name: 'c',
      status: 'RUNNING',
      machineType: 'n1-standard-8',
      releaseChannel: 'regular',
      monitoring: { components: [], managedPrometheus: false },
    });
    // Components in gcloud's --monitoring names, as an update sends them back.
    const monitored = clusterInfo({
      name: 'c',
      monitoringConfig: { componentConfig: { enableComponents: ['SYSTEM_COMPONENTS', 'APISERVER', 'WORKLOADS', 'DCGM', 'POD'] }, managedPrometheusConfig: { enabled: true } },
    });
    assert.deepEqual(monitored.monitoring, { components: ['SYSTEM', 'API_SERVER', 'WORKLOAD', 'DCGM', 'POD'], managedPrometheus: true });
    const pool = nodePoolInfo({
      name: 'accel',
      status: 'RECONCILING',
      initialNodeCount: 1,
      config: { machineType: 'n1-standard-8', accelerators: [{ acceleratorType: 'nvidia-tesla-t4', acceleratorCount: '1', gpuDriverInstallationConfig: { gpuDriverVersion: 'LATEST' } }] },
      autoscaling: { enabled: true, minNodeCount: 1, maxNodeCount: 3 },
    });
    assert.equal(pool.acceleratorCount, 1);
    assert.equal(pool.gpuDriver, 'gke-latest');
    assert.deepEqual(pool.autoscaling, { enabled: true, minNodes: 1, maxNodes: 3 });
    assert.equal(nodePoolInfo({ name: 'x', status: 'WEIRD' }).status, 'ERROR');
  });

  it('maps gcloud errors: quota and conflicts before status codes', () => {
    assert.equal(gcloudErrorCode(`ERROR: (gcloud.container.node-pools.create) ResponseError: code=403, message=Insufficient regional quota to satisfy request: resource "NVIDIA_T4_GPUS"`), 'RESOURCE_EXHAUSTED');
    assert.equal(gcloudErrorCode("ERROR: (gcloud.container.clusters.describe) ResponseError: code=404, message=Not found: projects/p/locations/z/clusters/quota."), 'NOT_FOUND');
    assert.equal(gcloudErrorCode('ERROR: (gcloud.container.clusters.create) ResponseError: code=409, message=Already exists: projects/p/locations/z/clusters/c.'), 'ALREADY_EXISTS');
    assert.equal(gcloudErrorCode("ERROR: (gcloud.container.clusters.get) ResponseError: code=403, message=Required 'container.clusters.get' permission"), 'PERMISSION_DENIED');
    assert.equal(gcloudErrorCode('ERROR: (gcloud.container.clusters.create) ResponseError: code=400, message=Invalid value for field'), 'INVALID_ARGUMENT');
    assert.equal(gcloudErrorCode('ERROR: gcloud crashed (ConnectionError)'), 'UNAVAILABLE');
  });
});

describe('job scripts', () => {
  it('ships deploy/jobs as the ConfigMap the engine-build Job mounts', async () => {
    const configMap = await loadJobScripts(JOB_NAMESPACE);
    assert.equal(configMap.metadata.name, JOB_SCRIPTS_CONFIGMAP);
    const data = configMap['data'] as Record<string, string>;
    assert.deepEqual(Object.keys(data), ['build-engine.sh', 'build_onnx_engine.py', 'engine_plan.py', 'export_transformer_onnx.py', 'gcs_copy.py']);
    assert.match(data['build-engine.sh']!, /build_onnx_engine\.py/);
  });
});
