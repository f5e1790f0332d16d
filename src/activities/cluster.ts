/** Chapter "Deploy GKE cluster with T4 node pools": ensure (adopt or create), then poll until running. */
import { FailureType, notReady, permanentFailure } from '../errors.js';
import type { DeploymentSpec } from '../spec/schema.js';
import type { ClusterScoped } from './context.js';
import { calling } from './errors.js';
import type { ClusterInfo, GkeApi, NodePoolInfo } from './ports.js';

export interface EnsureResult {
  outcome: 'created' | 'adopted';
  operation?: string;
}

export interface EnsureClusterInput extends ClusterScoped {
  spec: DeploymentSpec['cluster'];
}

export interface EnsureNodePoolInput extends ClusterScoped {
  spec: DeploymentSpec['nodePool'];
}

function mismatches(pairs: Array<[string, unknown, unknown]>): string[] {
  return pairs.filter(([, want, have]) => want !== have).map(([field, want, have]) => `${field}: spec ${String(want)}, existing ${String(have)}`);
}

function failIfBroken(kind: string, name: string, info: { status: string; statusMessage?: string }): void {
  if (info.status === 'ERROR' || info.status === 'STOPPING') {
    throw permanentFailure(
      FailureType.ConfigMismatch,
      `${kind} ${name} is ${info.status}${info.statusMessage ? `: ${info.statusMessage}` : ''}; repair or delete it, then re-run`,
    );
  }
}

export function createClusterActivities({ gke }: { gke: GkeApi }) {
  return {
    async ensureCluster({ cluster, spec }: EnsureClusterInput): Promise<EnsureResult> {
      const existing: ClusterInfo | null = await calling('describe cluster', () => gke.getCluster(cluster));
      if (existing !== null) {
        failIfBroken('cluster', cluster.cluster, existing);
        const diff = mismatches([['machineType', spec.machineType, existing.machineType]]);
        if (diff.length > 0) {
          throw permanentFailure(
            FailureType.ConfigMismatch,
            `cluster ${cluster.cluster} exists with a different configuration (${diff.join('; ')}); the pipeline does not change a running cluster: fix the spec or use another cluster name`,
          );
        }
        return { outcome: 'adopted' };
      }
      const { operation } = await calling('create cluster', () =>
        gke.createCluster(cluster, {
          name: cluster.cluster,
          machineType: spec.machineType,
          nodes: spec.nodes,
          releaseChannel: spec.releaseChannel,
        }),
      );
      return { outcome: 'created', operation };
    },

    async awaitClusterRunning({ cluster }: ClusterScoped): Promise<void> {
      const info = await calling('describe cluster', () => gke.getCluster(cluster));
      if (info === null) {
        throw permanentFailure(FailureType.InvalidArgument, `cluster ${cluster.cluster} disappeared while waiting for it`);
      }
      failIfBroken('cluster', cluster.cluster, info);
      if (info.status !== 'RUNNING') throw notReady(`cluster ${cluster.cluster} is ${info.status}`);
    },

    async ensureNodePool({ cluster, spec }: EnsureNodePoolInput): Promise<EnsureResult> {
      const existing: NodePoolInfo | null = await calling('describe node pool', () => gke.getNodePool(cluster, spec.name));
      if (existing !== null) {
        failIfBroken('node pool', spec.name, existing);
        const diff = mismatches([
          ['machineType', spec.machineType, existing.machineType],
          ['acceleratorType', spec.acceleratorType, existing.acceleratorType],
          ['acceleratorCount', spec.acceleratorCount, existing.acceleratorCount],
        ]);
        if (diff.length > 0) {
          throw permanentFailure(
            FailureType.ConfigMismatch,
            `node pool ${spec.name} exists with a different configuration (${diff.join('; ')}); create a pool with another name or fix the spec`,
          );
        }
        return { outcome: 'adopted' };
      }
      const { operation } = await calling('create node pool', () => gke.createNodePool(cluster, { ...spec }));
      return { outcome: 'created', operation };
    },

    async awaitNodePoolRunning({ cluster, nodePool }: ClusterScoped & { nodePool: string }): Promise<void> {
      const info = await calling('describe node pool', () => gke.getNodePool(cluster, nodePool));
      if (info === null) {
        throw permanentFailure(FailureType.InvalidArgument, `node pool ${nodePool} disappeared while waiting for it`);
      }
      failIfBroken('node pool', nodePool, info);
      if (info.status !== 'RUNNING') throw notReady(`node pool ${nodePool} is ${info.status}`);
    },

    /** Saga inverse of ensureNodePool when it created the pool; idempotent. */
    async deleteNodePool({ cluster, nodePool }: ClusterScoped & { nodePool: string }): Promise<void> {
      await calling('delete node pool', () => gke.deleteNodePool(cluster, nodePool));
    },

    /** Saga inverse of ensureCluster when it created the cluster; idempotent. */
    async deleteCluster({ cluster }: ClusterScoped): Promise<void> {
      await calling('delete cluster', () => gke.deleteCluster(cluster));
    },
  };
}
