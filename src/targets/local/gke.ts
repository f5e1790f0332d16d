/**
 * The local target's GKE: a cluster is a kwok control plane on this machine
 * (scripts/local-cluster.sh), a node pool is a set of kwok Node objects shaped like GKE's.
 * What GKE would store about a cluster and its pools is kept in <kwokDir>/<cluster>.gke.json.
 * Project and zone only label the nodes: one machine holds one cluster of a name.
 * Resizing a pool (autoscaling bounds) adds or removes nodes; a GPU pool's autoscaling is then
 * Karpenter's (its kwok provider, started with the cluster): a NodePool that may add nodes of the
 * pool's shape up to maxNodes for pods that cannot schedule, and removes them once idle.
 */
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ApiError } from '../../ports/errors.js';
import type { ClusterCreateRequest, ClusterRef, GkeApi, KubeApi, NodePoolCreateRequest, NodePoolInfo } from '../../ports/systems.js';
import { withLock } from '../../sim/mutex.js';
import { autoscalable, nodeName, POOL_LABEL, type PoolShape, renderKarpenterNodePool, renderNode } from './nodes.js';

interface PoolRecord extends NodePoolCreateRequest {
  nodeCount: number;
}

interface ClusterRecord {
  request: ClusterCreateRequest;
  zone: string;
  pools: Record<string, PoolRecord>;
}

export interface LocalControlPlane {
  /** Creates or restarts the cluster's control plane; resolves once it answers. */
  start(name: string): Promise<void>;
  stop(name: string): Promise<void>;
  /** Whether the control plane answers. */
  running(name: string): Promise<boolean>;
}

export interface LocalGkeDeps {
  kwokDir: string;
  controlPlane: LocalControlPlane;
  kube(ref: ClusterRef): KubeApi;
}

const DEFAULT_POOL = 'default-pool';
/** How long an added node stays idle before Karpenter removes it (GKE's autoscaler waits about 10 minutes). */
export const SCALE_DOWN_DELAY_SECONDS = 30;

export function createLocalGke({ kwokDir, controlPlane, kube }: LocalGkeDeps): GkeApi {
  const recordFile = (name: string) => join(kwokDir, `${name}.gke.json`);

  async function read(name: string): Promise<ClusterRecord | null> {
    try {
      return JSON.parse(await readFile(recordFile(name), 'utf8')) as ClusterRecord;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw error;
    }
  }

  const update = <T>(name: string, fn: (record: ClusterRecord | null) => Promise<{ record: ClusterRecord | null; result: T }>) =>
    withLock(recordFile(name), async () => {
      const { record, result } = await fn(await read(name));
      if (record === null) await rm(recordFile(name), { force: true });
      else await writeFile(recordFile(name), JSON.stringify(record, null, 2));
      return result;
    });

  const defaultPoolShape = (ref: ClusterRef, machineType: string): PoolShape => ({
    cluster: ref.cluster,
    zone: ref.zone,
    pool: DEFAULT_POOL,
    machineType,
    acceleratorCount: 0,
  });

  const shapeOf = (ref: ClusterRef, pool: PoolRecord | NodePoolCreateRequest): PoolShape => ({
    cluster: ref.cluster,
    zone: ref.zone,
    pool: pool.name,
    machineType: pool.machineType,
    ...(pool.acceleratorType === '' ? {} : { acceleratorType: pool.acceleratorType }),
    acceleratorCount: pool.acceleratorCount,
    gpuDriver: pool.gpuDriver,
  });

  /** Creates nodes 0..count-1 of the pool and deletes those beyond. */
  async function resize(ref: ClusterRef, shape: PoolShape, from: number, to: number): Promise<void> {
    const api = kube(ref);
    for (let i = 0; i < to; i++) await api.apply(renderNode(shape, i));
    for (let i = to; i < from; i++) await api.delete('v1', 'Node', undefined, nodeName(shape, i));
  }

  async function nodesReady(ref: ClusterRef, pool: string): Promise<number> {
    const nodes = await kube(ref).listNodes({ [POOL_LABEL]: pool });
    return nodes.filter((n) => n.ready).length;
  }

  return {
    async getCluster(ref) {
      const record = await read(ref.cluster);
      if (record === null) return null;
      const up = await controlPlane.running(ref.cluster);
      return {
        name: ref.cluster,
        status: up ? 'RUNNING' : 'ERROR',
        machineType: record.request.machineType,
        releaseChannel: record.request.releaseChannel,
        ...(record.request.labels === undefined ? {} : { labels: record.request.labels }),
        ...(up ? {} : { statusMessage: `its local control plane is not running; start it with scripts/local-cluster.sh start ${ref.cluster}` }),
      };
    },

    async createCluster(ref, request) {
      await update(ref.cluster, async (existing) => {
        if (existing !== null) throw new ApiError('ALREADY_EXISTS', `cluster ${ref.cluster} already exists`);
        await controlPlane.start(ref.cluster);
        await resize(ref, defaultPoolShape(ref, request.machineType), 0, request.nodes);
        return { record: { request, zone: ref.zone, pools: {} }, result: undefined };
      });
      return { operation: `local-create-cluster-${ref.cluster}` };
    },

    async getNodePool(ref, name) {
      const pool = (await read(ref.cluster))?.pools[name];
      if (pool === undefined) return null;
      const ready = await nodesReady(ref, name);
      const info: NodePoolInfo = {
        name,
        status: ready >= pool.nodeCount ? 'RUNNING' : 'PROVISIONING',
        machineType: pool.machineType,
        acceleratorType: pool.acceleratorType,
        acceleratorCount: pool.acceleratorCount,
        nodeCount: pool.nodeCount,
        autoscaling: { enabled: true, minNodes: pool.minNodes, maxNodes: pool.maxNodes },
        gpuDriver: pool.gpuDriver,
        ...(pool.labels === undefined ? {} : { labels: pool.labels }),
      };
      return info;
    },

    async createNodePool(ref, request) {
      await update(ref.cluster, async (record) => {
        if (record === null) throw new ApiError('NOT_FOUND', `cluster ${ref.cluster} not found`);
        if (record.pools[request.name] !== undefined) throw new ApiError('ALREADY_EXISTS', `node pool ${request.name} already exists`);
        await resize(ref, shapeOf(ref, request), 0, request.initialNodes);
        record.pools[request.name] = { ...request, nodeCount: request.initialNodes };
        return { record, result: undefined };
      });
      return { operation: `local-create-node-pool-${ref.cluster}-${request.name}` };
    },

    async setNodePoolAutoscaling(ref, name, minNodes, maxNodes) {
      await update(ref.cluster, async (record) => {
        const pool = record?.pools[name];
        if (record === null || pool === undefined) throw new ApiError('NOT_FOUND', `node pool ${name} not found in cluster ${ref.cluster}`);
        const target = Math.min(Math.max(pool.nodeCount, minNodes), maxNodes);
        const shape = shapeOf(ref, pool);
        if (shape.acceleratorCount > 0 && !autoscalable(shape)) {
          throw new ApiError('INVALID_ARGUMENT', `the local node autoscaler cannot add ${pool.machineType} nodes with ${pool.acceleratorCount} GPU(s) in ${ref.zone} (deploy/local/karpenter/instance-types.json lists what it can)`);
        }
        await resize(ref, shape, pool.nodeCount, target);
        if (shape.acceleratorCount > 0) await kube(ref).apply(renderKarpenterNodePool(shape, maxNodes - target, SCALE_DOWN_DELAY_SECONDS));
        record.pools[name] = { ...pool, minNodes, maxNodes, nodeCount: target };
        return { record, result: undefined };
      });
    },

    async deleteNodePool(ref, name) {
      await update(ref.cluster, async (record) => {
        const pool = record?.pools[name];
        if (record === null || pool === undefined) return { record, result: undefined };
        // Karpenter drains and removes the nodes it added with their NodePool.
        await kube(ref).delete('karpenter.sh/v1', 'NodePool', undefined, name);
        await resize(ref, shapeOf(ref, pool), pool.nodeCount, 0);
        delete record.pools[name];
        return { record, result: undefined };
      });
    },

    async deleteCluster(ref) {
      await update(ref.cluster, async (record) => {
        if (record !== null) await controlPlane.stop(ref.cluster);
        return { record: null, result: undefined };
      });
    },
  };
}
