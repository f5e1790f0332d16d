/**
 * Simulated GKE control plane: clusters and node pools that take simulated time to provision
 * (PROVISIONING until their deadline, then RUNNING, advanced lazily by settleGke), and a regional
 * GPU quota per accelerator type checked against acceleratorCount × maxNodes of every pool.
 */
import { randomUUID } from 'node:crypto';
import {
  ApiError,
  type ClusterCreateRequest,
  type ClusterInfo,
  type ClusterRef,
  type GkeApi,
  type NodePoolCreateRequest,
  type NodePoolInfo,
} from '../activities/ports.js';
import { SIM_DURATIONS_SECONDS, scaledMs } from './timing.js';
import { clusterKey, clusterResource, type ClusterState, type NodePoolState, type ProjectState, type SimServices } from './state.js';

/** GPUs per region a simulated project may use, by accelerator type (others: none, like a new project). */
export const GPU_QUOTA_PER_REGION: Readonly<Record<string, number>> = { 'nvidia-tesla-t4': 8 };

/** GCP's quota metric of an accelerator type: nvidia-tesla-t4 → NVIDIA_T4_GPUS. */
function quotaMetric(acceleratorType: string): string {
  return `NVIDIA_${acceleratorType.replace(/^nvidia-(tesla-)?/, '').toUpperCase().replace(/-/g, '_')}_GPUS`;
}

function regionOf(zone: string): string {
  return zone.replace(/-[a-z]$/, '');
}

function operationName(now: number): string {
  return `operation-${now}-${randomUUID().slice(0, 8)}`;
}

export function clusterInfo(cluster: ClusterState): ClusterInfo {
  return { name: cluster.name, status: cluster.status, machineType: cluster.machineType, releaseChannel: cluster.releaseChannel };
}

export function nodePoolInfo(pool: NodePoolState): NodePoolInfo {
  return {
    name: pool.name,
    status: pool.status,
    machineType: pool.machineType,
    acceleratorType: pool.acceleratorType,
    acceleratorCount: pool.acceleratorCount,
    nodeCount: pool.initialNodes,
    autoscaling: { enabled: true, minNodes: pool.minNodes, maxNodes: pool.maxNodes },
    gpuDriver: pool.gpuDriver,
  };
}

/** Throws RESOURCE_EXHAUSTED when the region's pools (without `except`) plus `gpus` exceed the quota. */
function ensureGpuQuota(state: ProjectState, zone: string, acceleratorType: string, gpus: number, except?: NodePoolState): void {
  const region = regionOf(zone);
  const used = Object.values(state.clusters)
    .filter((c) => regionOf(c.zone) === region)
    .flatMap((c) => Object.values(c.nodePools))
    .filter((p) => p !== except && p.acceleratorType === acceleratorType)
    .reduce((sum, p) => sum + p.acceleratorCount * p.maxNodes, 0);
  const limit = GPU_QUOTA_PER_REGION[acceleratorType] ?? 0;
  if (used + gpus > limit) {
    throw new ApiError(
      'RESOURCE_EXHAUSTED',
      `Quota '${quotaMetric(acceleratorType)}' exceeded. Limit: ${limit.toFixed(1)} in region ${region}.`,
    );
  }
}

function checkNodeRange(minNodes: number, maxNodes: number): void {
  if (!(Number.isInteger(minNodes) && Number.isInteger(maxNodes) && minNodes >= 0 && minNodes <= maxNodes && maxNodes >= 1)) {
    throw new ApiError('INVALID_ARGUMENT', `autoscaling needs 0 <= minNodes <= maxNodes and maxNodes >= 1 (got ${minNodes}..${maxNodes})`);
  }
}

/** Advances provisioning clusters and node pools whose deadline has passed. */
export function settleGke(state: ProjectState, now: number): void {
  for (const cluster of Object.values(state.clusters)) {
    for (const resource of [cluster, ...Object.values(cluster.nodePools)]) {
      if (resource.status === 'PROVISIONING' && now >= resource.readyAt) resource.status = 'RUNNING';
    }
  }
}

export class SimGke implements GkeApi {
  constructor(private readonly services: SimServices) {}

  async getCluster(ref: ClusterRef): Promise<ClusterInfo | null> {
    const info = await this.services.store.transact(ref.project, (state) => {
      const cluster = state.clusters[clusterKey(ref.zone, ref.cluster)];
      return cluster === undefined ? null : clusterInfo(cluster);
    });
    await this.services.log.record('gke', 'cluster.get', clusterResource(ref), false);
    return info;
  }

  async createCluster(ref: ClusterRef, request: ClusterCreateRequest): Promise<{ operation: string }> {
    const provisioningMs = scaledMs(SIM_DURATIONS_SECONDS.clusterCreate);
    const operation = await this.services.store.transact(ref.project, (state, now) => {
      const key = clusterKey(ref.zone, request.name);
      if (state.clusters[key] !== undefined) {
        throw new ApiError('ALREADY_EXISTS', `Already exists: ${clusterResource({ ...ref, cluster: request.name })}.`);
      }
      if (!Number.isInteger(request.nodes) || request.nodes < 1) {
        throw new ApiError('INVALID_ARGUMENT', `cluster nodes must be a whole number >= 1 (got ${request.nodes})`);
      }
      const name = operationName(now);
      state.clusters[key] = {
        zone: ref.zone,
        name: request.name,
        machineType: request.machineType,
        releaseChannel: request.releaseChannel,
        nodes: request.nodes,
        status: 'PROVISIONING',
        operation: name,
        createdAt: now,
        readyAt: now + provisioningMs,
        nodePools: {},
        objects: {},
        releases: {},
      };
      return name;
    });
    await this.services.log.record('gke', 'cluster.create', clusterResource({ ...ref, cluster: request.name }), true);
    return { operation };
  }

  async getNodePool(ref: ClusterRef, name: string): Promise<NodePoolInfo | null> {
    const info = await this.services.store.transact(ref.project, (state) => {
      const pool = state.clusters[clusterKey(ref.zone, ref.cluster)]?.nodePools[name];
      return pool === undefined ? null : nodePoolInfo(pool);
    });
    await this.services.log.record('gke', 'nodepool.get', `${clusterResource(ref)}/nodePools/${name}`, false);
    return info;
  }

  async createNodePool(ref: ClusterRef, request: NodePoolCreateRequest): Promise<{ operation: string }> {
    const provisioningMs = scaledMs(SIM_DURATIONS_SECONDS.nodePoolCreate);
    const operation = await this.services.store.transact(ref.project, (state, now) => {
      const cluster = state.clusters[clusterKey(ref.zone, ref.cluster)];
      if (cluster?.status !== 'RUNNING') {
        throw new ApiError(
          'FAILED_PRECONDITION',
          `cluster ${ref.cluster} is ${cluster === undefined ? 'missing' : cluster.status}; node pools can be added to a RUNNING cluster only`,
        );
      }
      if (cluster.nodePools[request.name] !== undefined) {
        throw new ApiError('ALREADY_EXISTS', `Already exists: ${clusterResource(ref)}/nodePools/${request.name}.`);
      }
      checkNodeRange(request.minNodes, request.maxNodes);
      if (request.initialNodes < request.minNodes || request.initialNodes > request.maxNodes || request.acceleratorCount < 1) {
        throw new ApiError('INVALID_ARGUMENT', 'initialNodes must lie between minNodes and maxNodes, and acceleratorCount must be >= 1');
      }
      ensureGpuQuota(state, ref.zone, request.acceleratorType, request.acceleratorCount * request.maxNodes);
      const name = operationName(now);
      cluster.nodePools[request.name] = { ...request, status: 'PROVISIONING', operation: name, createdAt: now, readyAt: now + provisioningMs };
      return name;
    });
    await this.services.log.record('gke', 'nodepool.create', `${clusterResource(ref)}/nodePools/${request.name}`, true);
    return { operation };
  }

  async setNodePoolAutoscaling(ref: ClusterRef, name: string, minNodes: number, maxNodes: number): Promise<void> {
    const changed = await this.services.store.transact(ref.project, (state) => {
      const pool = state.clusters[clusterKey(ref.zone, ref.cluster)]?.nodePools[name];
      if (pool === undefined) throw new ApiError('NOT_FOUND', `Not found: ${clusterResource(ref)}/nodePools/${name}.`);
      checkNodeRange(minNodes, maxNodes);
      if (pool.minNodes === minNodes && pool.maxNodes === maxNodes) return false;
      ensureGpuQuota(state, ref.zone, pool.acceleratorType, pool.acceleratorCount * maxNodes, pool);
      pool.minNodes = minNodes;
      pool.maxNodes = maxNodes;
      return true;
    });
    await this.services.log.record('gke', 'nodepool.autoscaling', `${clusterResource(ref)}/nodePools/${name}`, changed);
  }

  async deleteNodePool(ref: ClusterRef, name: string): Promise<void> {
    const existed = await this.services.store.transact(ref.project, (state) => {
      const cluster = state.clusters[clusterKey(ref.zone, ref.cluster)];
      if (cluster?.nodePools[name] === undefined) return false;
      delete cluster.nodePools[name];
      return true;
    });
    await this.services.log.record('gke', 'nodepool.delete', `${clusterResource(ref)}/nodePools/${name}`, existed);
  }

  async deleteCluster(ref: ClusterRef): Promise<void> {
    const existed = await this.services.store.transact(ref.project, (state) => {
      const key = clusterKey(ref.zone, ref.cluster);
      if (state.clusters[key] === undefined) return false;
      delete state.clusters[key];
      return true;
    });
    await this.services.log.record('gke', 'cluster.delete', clusterResource(ref), existed);
  }
}
