import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { criLog, GPU_COUNT_ANNOTATION, GPU_DRIVER_ANNOTATION, gpuStatusPatch, machineResources, nodeName, renderNode } from '../../../../src/targets/local/nodes.js';

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
});
