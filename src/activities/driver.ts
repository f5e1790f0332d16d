/**
 * Chapter "nvidia driver": apply the pinned installer DaemonSet unless GKE manages the driver, then
 * wait for GPUs. The DaemonSet itself stays off nodes whose driver GKE installed (their
 * cloud.google.com/gke-gpu-driver-version label), so a pool with GKE-managed drivers in the same
 * cluster is left alone.
 */
import { calling, notReady } from '../ports/errors.js';
import type { DeploymentSpec } from '../spec/schema.js';
import type { ClusterScoped } from '../ports/run.js';
import type { ClusterRef, KubeApi, KubeObject } from '../ports/systems.js';

export interface DriverDeps {
  kube(ref: ClusterRef): KubeApi;
  /** deploy/manifests/nvidia-driver-installer.yaml, parsed by the worker at start-up. */
  driverInstaller: KubeObject;
}

export interface GpuNodePoolInput extends ClusterScoped {
  nodePool: DeploymentSpec['nodePool'];
}

export function createDriverActivities({ kube, driverInstaller }: DriverDeps) {
  return {
    async ensureGpuDriver({ cluster, nodePool }: GpuNodePoolInput): Promise<{ applied: boolean }> {
      if (nodePool.gpuDriver !== 'installer-daemonset') return { applied: false };
      await calling('apply NVIDIA driver installer', () => kube(cluster).apply(driverInstaller));
      return { applied: true };
    },

    async awaitAllocatableGpus({ cluster, nodePool }: GpuNodePoolInput): Promise<{ nodes: number; gpus: number }> {
      const nodes = await calling('list GPU nodes', () =>
        kube(cluster).listNodes({ 'cloud.google.com/gke-nodepool': nodePool.name }),
      );
      const ready = nodes.filter((n) => n.ready && n.allocatableGpus > 0);
      const gpus = ready.reduce((sum, n) => sum + n.allocatableGpus, 0);
      const wanted = Math.max(1, nodePool.minNodes) * nodePool.acceleratorCount;
      if (gpus < wanted) {
        throw notReady(`${gpus}/${wanted} nvidia.com/gpu allocatable on pool ${nodePool.name} (${nodes.length} nodes)`);
      }
      return { nodes: ready.length, gpus };
    },
  };
}
