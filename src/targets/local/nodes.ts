/**
 * The local target's nodes as data: kwok Node objects shaped like GKE's (pool, accelerator and
 * instance-type labels, the GPU taint GKE puts on accelerator pools). A GPU node starts without
 * nvidia.com/gpu; its GPUs appear once the driver is up (see kubelet.ts), as on GKE. A pool's
 * autoscaling is Karpenter's: a NodePool per GPU pool, whose nodes carry the same labels and taint.
 */
import type { KubeObject, NodePoolCreateRequest } from '../../ports/systems.js';

export const LOCAL_LABEL_PREFIX = 'local.triton-pipeline.dev';
/** GPUs the node reports once its driver is ready (what the device plugin would count). */
export const GPU_COUNT_ANNOTATION = `${LOCAL_LABEL_PREFIX}/gpus`;
export const GPU_DRIVER_ANNOTATION = `${LOCAL_LABEL_PREFIX}/gpu-driver`;
/** Set on a Job's pod to end its container (kwok stage pod-exit in deploy/kwok/stages.yaml). */
export const EXIT_CODE_ANNOTATION = `${LOCAL_LABEL_PREFIX}/exit-code`;
export const EXIT_MESSAGE_ANNOTATION = `${LOCAL_LABEL_PREFIX}/exit-message`;
/** Set on a Triton pod: where its container's metrics port listens on this machine (the local Prometheus scrapes it there). */
export const METRICS_ADDRESS_ANNOTATION = `${LOCAL_LABEL_PREFIX}/metrics-address`;
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

/** JSON patch setting annotations on an object. */
export function annotationPatch(object: { metadata?: { annotations?: Record<string, string> } }, values: Record<string, string>): object[] {
  if (object.metadata?.annotations === undefined) return [{ op: 'add', path: '/metadata/annotations', value: values }];
  return Object.entries(values).map(([key, value]) => ({ op: 'add', path: `/metadata/annotations/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`, value }));
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

/** The node class of deploy/local/karpenter/nodeclass.yaml. */
const KARPENTER_NODE_CLASS = 'gke';
/** On a node the autoscaler adds until its driver is up: keeps GPU pods off it meanwhile (kubelet.ts lifts it). */
export const GPU_STARTUP_TAINT = { key: `${LOCAL_LABEL_PREFIX}/gpu-driver`, value: 'installing', effect: 'NoSchedule' } as const;

/** The machine shapes Karpenter may add (deploy/local/karpenter/instance-types.json is this list). */
const AUTOSCALED_MACHINE_TYPES = ['n1-standard-4', 'n1-standard-8', 'n1-standard-16', 'n1-highmem-8', 'n1-highmem-16'];
const AUTOSCALED_GPU_COUNTS = [1, 2, 4];
/** Zones with T4s, where a local cluster's pools may be. */
const AUTOSCALED_ZONES = ['us-central1-a', 'us-central1-b', 'us-central1-c', 'us-central1-f', 'us-east1-c', 'us-east1-d', 'us-west1-a', 'us-west1-b', 'europe-west4-a', 'europe-west4-b', 'europe-west4-c', 'asia-southeast1-b'];

/** Karpenter's instance type for a machine with GPUs: a machine type alone names no GPU count. */
export function karpenterInstanceType(machineType: string, gpus: number): string {
  return `${machineType}-gpu${gpus}`;
}

/** The instance types Karpenter's kwok provider offers (its INSTANCE_TYPES_FILE_PATH format). */
export function karpenterInstanceTypes(): object[] {
  return AUTOSCALED_MACHINE_TYPES.flatMap((machineType) =>
    AUTOSCALED_GPU_COUNTS.map((gpus) => {
      const { cpu, memoryMi } = machineResources(machineType);
      return {
        name: karpenterInstanceType(machineType, gpus),
        architecture: 'amd64',
        operatingSystems: ['linux'],
        resources: { cpu: String(cpu), memory: `${memoryMi}Mi`, 'ephemeral-storage': '100Gi', pods: '110', 'nvidia.com/gpu': String(gpus) },
        offerings: [
          {
            // On-demand list prices are not the point here: a bigger machine costs more.
            Price: Number((cpu * 0.0475 + gpus * 0.35).toFixed(4)),
            Available: true,
            Requirements: [
              { key: 'karpenter.sh/capacity-type', operator: 'In', values: ['on-demand'] },
              { key: 'topology.kubernetes.io/zone', operator: 'In', values: AUTOSCALED_ZONES },
            ],
          },
        ],
      };
    }),
  );
}

/** Whether Karpenter can add nodes of this pool's shape (an instance type and zone it offers). */
export function autoscalable(shape: Pick<PoolShape, 'machineType' | 'acceleratorCount' | 'zone'>): boolean {
  return AUTOSCALED_MACHINE_TYPES.includes(shape.machineType) && AUTOSCALED_GPU_COUNTS.includes(shape.acceleratorCount) && AUTOSCALED_ZONES.includes(shape.zone);
}

/**
 * The Karpenter NodePool that grows a GPU pool past the nodes it has: nodes with the pool's labels,
 * GPU taint and driver annotations, at most `extraNodes` of them; empty or underused ones go after
 * `consolidateAfterSeconds`.
 */
export function renderKarpenterNodePool(shape: PoolShape, extraNodes: number, consolidateAfterSeconds: number): KubeObject {
  const template = renderNode(shape, 0).metadata;
  const { [POOL_LABEL]: pool, [ACCELERATOR_LABEL]: accelerator } = template.labels ?? {};
  return {
    apiVersion: 'karpenter.sh/v1',
    kind: 'NodePool',
    metadata: { name: shape.pool, labels: { [POOL_LABEL]: shape.pool } },
    spec: {
      template: {
        metadata: {
          labels: { [POOL_LABEL]: pool!, ...(accelerator === undefined ? {} : { [ACCELERATOR_LABEL]: accelerator }), type: 'kwok' },
          annotations: Object.fromEntries(Object.entries(template.annotations ?? {}).filter(([key]) => key !== 'kwok.x-k8s.io/node')),
        },
        spec: {
          nodeClassRef: { group: 'karpenter.kwok.sh', kind: 'KWOKNodeClass', name: KARPENTER_NODE_CLASS },
          requirements: [
            { key: 'node.kubernetes.io/instance-type', operator: 'In', values: [karpenterInstanceType(shape.machineType, shape.acceleratorCount)] },
            { key: 'karpenter.sh/capacity-type', operator: 'In', values: ['on-demand'] },
            { key: 'topology.kubernetes.io/zone', operator: 'In', values: [shape.zone] },
          ],
          taints: [{ key: 'nvidia.com/gpu', value: 'present', effect: 'NoSchedule' }],
          startupTaints: [GPU_STARTUP_TAINT],
          expireAfter: 'Never',
        },
      },
      limits: { nodes: String(extraNodes) },
      disruption: { consolidationPolicy: 'WhenEmptyOrUnderutilized', consolidateAfter: `${consolidateAfterSeconds}s`, budgets: [{ nodes: '100%' }] },
    },
  };
}
