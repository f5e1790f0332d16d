/**
 * The simulated cluster's nodes, derived from GKE state: the default pool's CPU nodes once the
 * cluster runs, and each GPU pool's initial nodes once it runs. A GPU node reports allocatable
 * nvidia.com/gpu only after its driver is installed: by GKE (gpuDriver gke-default/gke-latest)
 * when the node comes up, or by the nvidia-driver-installer DaemonSet in kube-system some
 * simulated time after both the DaemonSet and the node exist.
 */
import type { NodeInfo } from '../ports/systems.js';
import { SIM_DURATIONS_SECONDS } from './timing.js';
import type { ClusterState, NodePoolState } from './state.js';

const NODE_POOL_LABEL = 'cloud.google.com/gke-nodepool';
const ACCELERATOR_LABEL = 'cloud.google.com/gke-accelerator';

/** Storage key of a Kubernetes object: API group (not version), kind, namespace ('' if cluster-scoped), name. */
export function objectKey(apiVersion: string, kind: string, namespace: string | undefined, name: string): string {
  const group = apiVersion.includes('/') ? apiVersion.slice(0, apiVersion.indexOf('/')) : '';
  return `${group}/${kind}/${namespace ?? ''}/${name}`;
}

const DRIVER_INSTALLER_KEY = objectKey('apps/v1', 'DaemonSet', 'kube-system', 'nvidia-driver-installer');

function driverReadyAt(cluster: ClusterState, pool: NodePoolState): number | undefined {
  if (pool.gpuDriver !== 'installer-daemonset') return pool.readyAt;
  const installer = cluster.objects[DRIVER_INSTALLER_KEY];
  if (installer === undefined) return undefined;
  return Math.max(installer.createdAt, pool.readyAt) + SIM_DURATIONS_SECONDS.driverInstall * installer.speed * 1000;
}

export function nodesOf(cluster: ClusterState, now: number): NodeInfo[] {
  if (cluster.status !== 'RUNNING') return [];
  const node = (pool: string, index: number, labels: Record<string, string>, allocatableGpus: number): NodeInfo => ({
    name: `gke-${cluster.name}-${pool}-${index}`,
    ready: true,
    labels: { [NODE_POOL_LABEL]: pool, ...labels },
    allocatableGpus,
  });
  const defaultPool = Array.from({ length: cluster.nodes }, (_, i) => node('default-pool', i + 1, {}, 0));
  const gpuPools = Object.values(cluster.nodePools)
    .filter((pool) => pool.status === 'RUNNING')
    .flatMap((pool) => {
      const driverAt = driverReadyAt(cluster, pool);
      const gpus = driverAt !== undefined && now >= driverAt ? pool.acceleratorCount : 0;
      return Array.from({ length: pool.initialNodes }, (_, i) => node(pool.name, i + 1, { [ACCELERATOR_LABEL]: pool.acceleratorType }, gpus));
    });
  return [...defaultPool, ...gpuPools];
}
