/**
 * The local target's nodes as data: kwok Node objects shaped like GKE's (pool, accelerator and
 * instance-type labels, the GPU taint GKE puts on accelerator pools). A GPU node starts without
 * nvidia.com/gpu; its GPUs appear once the driver is up (see kubelet.ts), as on GKE.
 */
import type { KubeObject, NodePoolCreateRequest } from '../../ports/systems.js';

export const LOCAL_LABEL_PREFIX = 'local.triton-pipeline.dev';
/** GPUs the node reports once its driver is ready (what the device plugin would count). */
export const GPU_COUNT_ANNOTATION = `${LOCAL_LABEL_PREFIX}/gpus`;
export const GPU_DRIVER_ANNOTATION = `${LOCAL_LABEL_PREFIX}/gpu-driver`;
/** Set on a Job's pod to end its container (kwok stage pod-exit in deploy/kwok/stages.yaml). */
export const EXIT_CODE_ANNOTATION = `${LOCAL_LABEL_PREFIX}/exit-code`;
export const EXIT_MESSAGE_ANNOTATION = `${LOCAL_LABEL_PREFIX}/exit-message`;
export const POOL_LABEL = 'cloud.google.com/gke-nodepool';
export const ACCELERATOR_LABEL = 'cloud.google.com/gke-accelerator';

export interface PoolShape {
  cluster: string;
  zone: string;
  pool: string;
  machineType: string;
  acceleratorType?: string;
  acceleratorCount: number;
  gpuDriver?: NodePoolCreateRequest['gpuDriver'];
}

/** vCPUs and memory of a Compute Engine machine type ("n1-standard-8" → 8 vCPU, 30 GiB). */
export function machineResources(machineType: string): { cpu: number; memoryMi: number } {
  const match = /^([a-z]\d[a-z]?)-(standard|highmem|highcpu)-(\d+)$/.exec(machineType);
  if (match === null) return { cpu: 4, memoryMi: 16 * 1024 };
  const cpu = Number(match[3]);
  const perCpuGi = match[2] === 'highmem' ? (match[1] === 'n1' ? 6.5 : 8) : match[2] === 'highcpu' ? (match[1] === 'n1' ? 0.9 : 1) : match[1] === 'n1' ? 3.75 : 4;
  return { cpu, memoryMi: Math.round(cpu * perCpuGi * 1024) };
}

export function nodeName(shape: Pick<PoolShape, 'cluster' | 'pool'>, index: number): string {
  return `gke-${shape.cluster}-${shape.pool}`.toLowerCase().replace(/[^a-z0-9-]+/g, '-').slice(0, 50).replace(/-+$/, '') + `-${index}`;
}

export function renderNode(shape: PoolShape, index: number): KubeObject {
  const { cpu, memoryMi } = machineResources(shape.machineType);
  const resources = { cpu: String(cpu), memory: `${memoryMi}Mi`, pods: '110', 'ephemeral-storage': '100Gi' };
  const gpu = shape.acceleratorType !== undefined && shape.acceleratorCount > 0;
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name: nodeName(shape, index),
      labels: {
        [POOL_LABEL]: shape.pool,
        'node.kubernetes.io/instance-type': shape.machineType,
        'topology.kubernetes.io/zone': shape.zone,
        'kubernetes.io/os': 'linux',
        'kubernetes.io/arch': 'amd64',
        type: 'kwok',
        ...(gpu ? { [ACCELERATOR_LABEL]: shape.acceleratorType! } : {}),
      },
      annotations: {
        'kwok.x-k8s.io/node': 'fake',
        ...(gpu ? { [GPU_COUNT_ANNOTATION]: String(shape.acceleratorCount), [GPU_DRIVER_ANNOTATION]: shape.gpuDriver ?? 'installer-daemonset' } : {}),
      },
    },
    spec: gpu ? { taints: [{ key: 'nvidia.com/gpu', value: 'present', effect: 'NoSchedule' }] } : {},
    status: { capacity: resources, allocatable: resources },
  };
}

/** JSON patch of a node's status reporting its GPUs. */
export function gpuStatusPatch(gpus: number): object[] {
  return ['capacity', 'allocatable'].map((field) => ({ op: 'add', path: `/status/${field}/nvidia.com~1gpu`, value: String(gpus) }));
}

/** A kubelet-style (CRI) log file: one "<RFC3339Nano> <stream> F <line>" per line, what kwok serves as pod logs. */
export function criLog(text: string, at: Date): string {
  const stamp = at.toISOString().replace(/\.(\d{3})Z$/, '.$1000000Z');
  const lines = text.endsWith('\n') ? text.slice(0, -1).split('\n') : text.split('\n');
  return lines.map((line) => `${stamp} stdout F ${line}\n`).join('');
}
