import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { PROJECT_ROOT } from '../../../../src/assets.js';
import {
  autoscalable,
  criLog,
  GPU_COUNT_ANNOTATION,
  GPU_DRIVER_ANNOTATION,
  GPU_STARTUP_TAINT,
  gpuStatusPatch,
  karpenterInstanceType,
  karpenterInstanceTypes,
  machineResources,
  nodeName,
  renderKarpenterNodePool,
  renderNode,
} from '../../../../src/targets/local/nodes.js';

describe('local target nodes (pure)', () => {
  it('sizes Compute Engine machine types', () => {
    assert.deepEqual(machineResources('n1-standard-8'), { cpu: 8, memoryMi: 30 * 1024 });
    assert.deepEqual(machineResources('n1-highmem-4'), { cpu: 4, memoryMi: 26 * 1024 });
    assert.deepEqual(machineResources('e2-standard-4'), { cpu: 4, memoryMi: 16 * 1024 });
    assert.deepEqual(machineResources('custom-thing'), { cpu: 4, memoryMi: 16 * 1024 });
  });

  it('renders a GPU node like GKE: pool and accelerator labels, the GPU taint, no GPU until the driver is up', () => {
    const node = renderNode({ cluster: 'c', zone: 'us-central1-a', pool: 'accel', machineType: 'n1-standard-4', acceleratorType: 'nvidia-tesla-t4', acceleratorCount: 1, gpuDriver: 'installer-daemonset' }, 0);
    assert.equal(node.metadata.name, 'gke-c-accel-0');
    assert.equal(node.metadata.labels!['cloud.google.com/gke-nodepool'], 'accel');
    assert.equal(node.metadata.labels!['cloud.google.com/gke-accelerator'], 'nvidia-tesla-t4');
    assert.equal(node.metadata.labels!['node.kubernetes.io/instance-type'], 'n1-standard-4');
    assert.equal(node.metadata.annotations![GPU_COUNT_ANNOTATION], '1');
    assert.equal(node.metadata.annotations![GPU_DRIVER_ANNOTATION], 'installer-daemonset');
    assert.deepEqual((node['spec'] as { taints: unknown[] }).taints, [{ key: 'nvidia.com/gpu', value: 'present', effect: 'NoSchedule' }]);
    assert.equal((node['status'] as { capacity: Record<string, string> }).capacity['nvidia.com/gpu'], undefined);
  });

  it('renders a CPU node without taints or GPU annotations', () => {
    const node = renderNode({ cluster: 'c', zone: 'z', pool: 'default-pool', machineType: 'n1-standard-4', acceleratorCount: 0 }, 2);
    assert.equal(node.metadata.name, 'gke-c-default-pool-2');
    assert.equal(node.metadata.labels!['cloud.google.com/gke-accelerator'], undefined);
    assert.deepEqual(node['spec'], {});
    assert.equal(node.metadata.annotations![GPU_COUNT_ANNOTATION], undefined);
  });

  it('keeps node names within DNS label limits', () => {
    const name = nodeName({ cluster: 'A'.repeat(80), pool: 'pool_x' }, 12);
    assert.ok(name.length <= 63, name);
    assert.match(name, /^[a-z0-9-]+-12$/);
  });

  it('patches both GPU fields of a node status (JSON pointer escaping the slash)', () => {
    assert.deepEqual(gpuStatusPatch(2), [
      { op: 'add', path: '/status/capacity/nvidia.com~1gpu', value: '2' },
      { op: 'add', path: '/status/allocatable/nvidia.com~1gpu', value: '2' },
    ]);
  });

  it('writes CRI log lines, one per line of output', () => {
    const at = new Date('2026-11-26T13:00:00.123Z');
    assert.equal(criLog('a\nb\n', at), '2026-11-26T13:00:00.123000000Z stdout F a\n2026-11-26T13:00:00.123000000Z stdout F b\n');
    assert.equal(criLog('only', at), '2026-11-26T13:00:00.123000000Z stdout F only\n');
  });

  const pool = { cluster: 'c', zone: 'us-central1-a', pool: 'accel', machineType: 'n1-standard-8', acceleratorType: 'nvidia-tesla-t4', acceleratorCount: 1, gpuDriver: 'installer-daemonset' as const };

  it('renders the Karpenter NodePool that grows a GPU pool with nodes of its shape, labels, taint and driver', () => {
    const nodePool = renderKarpenterNodePool(pool, 2, 30) as unknown as {
      metadata: { name: string };
      spec: {
        template: { metadata: { labels: Record<string, string>; annotations: Record<string, string> }; spec: { requirements: Array<{ key: string; values: string[] }>; taints: unknown[]; startupTaints: unknown[] } };
        limits: Record<string, string>;
        disruption: { consolidateAfter: string };
      };
    };
    assert.equal(nodePool.metadata.name, 'accel');
    const { labels, annotations } = nodePool.spec.template.metadata;
    const node = renderNode(pool, 0).metadata;
    for (const key of ['cloud.google.com/gke-nodepool', 'cloud.google.com/gke-accelerator']) assert.equal(labels[key], node.labels![key]);
    assert.deepEqual(annotations, { [GPU_COUNT_ANNOTATION]: '1', [GPU_DRIVER_ANNOTATION]: 'installer-daemonset' });
    const requirement = (key: string) => nodePool.spec.template.spec.requirements.find((r) => r.key === key)!.values;
    assert.deepEqual(requirement('node.kubernetes.io/instance-type'), ['n1-standard-8-gpu1']);
    assert.deepEqual(requirement('topology.kubernetes.io/zone'), ['us-central1-a']);
    assert.deepEqual(nodePool.spec.template.spec.taints, (renderNode(pool, 0)['spec'] as { taints: unknown[] }).taints);
    assert.deepEqual(nodePool.spec.template.spec.startupTaints, [GPU_STARTUP_TAINT]);
    assert.deepEqual(nodePool.spec.limits, { nodes: '2' });
    assert.equal(nodePool.spec.disruption.consolidateAfter, '30s');
  });

  it('offers each autoscaled shape as a Karpenter instance type with its GPUs, and knows which shapes it offers', () => {
    const types = karpenterInstanceTypes() as Array<{ name: string; resources: Record<string, string>; offerings: Array<{ Requirements: Array<{ key: string; values: string[] }> }> }>;
    const t4x2 = types.find((t) => t.name === karpenterInstanceType('n1-standard-8', 2))!;
    assert.deepEqual([t4x2.resources['cpu'], t4x2.resources['memory'], t4x2.resources['nvidia.com/gpu']], ['8', `${30 * 1024}Mi`, '2']);
    assert.ok(t4x2.offerings[0]!.Requirements.find((r) => r.key === 'topology.kubernetes.io/zone')!.values.includes('us-central1-a'));
    assert.equal(new Set(types.map((t) => t.name)).size, types.length);
    assert.ok(autoscalable(pool));
    assert.ok(!autoscalable({ ...pool, machineType: 'a2-highgpu-1g' }));
    assert.ok(!autoscalable({ ...pool, zone: 'mars-north1-a' }));
  });

  it('deploy/local/karpenter/instance-types.json is karpenterInstanceTypes() (UPDATE_GOLDEN=1 rewrites it)', async () => {
    const file = join(PROJECT_ROOT, 'deploy/local/karpenter/instance-types.json');
    const expected = `${JSON.stringify(karpenterInstanceTypes(), null, 2)}\n`;
    if (process.env['UPDATE_GOLDEN'] === '1') await writeFile(file, expected);
    assert.equal(await readFile(file, 'utf8'), expected);
  });
});
