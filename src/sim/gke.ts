/**
 * Simulated GKE control plane: clusters and node pools created and deleted by long-running
 * operations that take simulated time (PROVISIONING or STOPPING until the operation's deadline,
 * advanced lazily by settleGke), one operation at a time per cluster as GKE runs them (a second
 * mutating call is refused with GKE's "Cluster is running incompatible operation"), resource labels,
 * and a regional GPU quota per accelerator type checked against acceleratorCount × maxNodes of every pool.
 */
import { randomUUID } from 'node:crypto';
import { ApiError } from '../ports/errors.js';
import { GPU_QUOTA_METRIC } from '../plan/prerequisites.js';
import { type AcceleratorType, attachmentProblem } from '../spec/accelerators.js';
import type { ClusterCreateRequest, ClusterInfo, ClusterRef, GkeApi, GkeOperation, NodePoolCreateRequest, NodePoolInfo } from '../ports/systems.js';
import { scaledMs, SIM_DURATIONS_SECONDS } from './timing.js';
import { clusterKey, clusterResource, type ClusterState, type GkeOperationState, type NodePoolState, type ProjectState, type SimServices } from './state.js';

/** Simulated seconds (at speed 1) of the GKE operations timing.ts does not list (roughly GKE's own). */
export const SIM_GKE_SECONDS = {
  /** gcloud container node-pools delete */
  nodePoolDelete: 120,
  /** gcloud container clusters delete */
  clusterDelete: 240,
  /** gcloud container clusters update --node-pool … --enable-autoscaling */
  autoscalingUpdate: 20,
} as const;

/** GPUs per region a simulated project may use, by accelerator type (others: none, like a new project). */
export const GPU_QUOTA_PER_REGION: Readonly<Record<string, number>> = { 'nvidia-tesla-t4': 8, 'nvidia-h200-141gb': 8 };

/** GCP's quota metric of an accelerator type (nvidia-tesla-t4 → NVIDIA_T4_GPUS); others by the same pattern. */
function quotaMetric(acceleratorType: string): string {
  return GPU_QUOTA_METRIC[acceleratorType as AcceleratorType] ?? `NVIDIA_${acceleratorType.replace(/^nvidia-(tesla-)?/, '').toUpperCase().replace(/-/g, '_')}_GPUS`;
}

function regionOf(zone: string): string {
  return zone.replace(/-[a-z]$/, '');
}

function operationName(now: number): string {
  return `operation-${now}-${randomUUID().slice(0, 8)}`;
}

export function clusterInfo(cluster: ClusterState): ClusterInfo {
  return {
    name: cluster.name,
    status: cluster.status,
    machineType: cluster.machineType,
    releaseChannel: cluster.releaseChannel,
    ...(cluster.labels && Object.keys(cluster.labels).length > 0 ? { labels: cluster.labels } : {}),
  };
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
    ...(pool.labels && Object.keys(pool.labels).length > 0 ? { labels: pool.labels } : {}),
  };
}

/** Compute Engine's refusal of GPUs its machine type cannot take (its texts for N1; the same form for fixed-count types). */
function refuseAttachment(request: NodePoolCreateRequest): void {
  const problem = attachmentProblem(request.acceleratorType, request.machineType, request.acceleratorCount);
  if (problem === undefined) return;
  const field = `Invalid value for field 'resource.guestAccelerators[0].acceleratorCount': '${request.acceleratorCount}'.`;
  switch (problem.kind) {
    case 'machine-type':
      throw new ApiError('INVALID_ARGUMENT', `[${request.machineType}, ${request.acceleratorType}] features are not compatible for creating instance.`);
    case 'count':
      throw new ApiError('INVALID_ARGUMENT', `${field} Number of accelerator cards attached to an instance must be one of [${problem.allowed.join(', ')}].`);
    case 'vcpus':
      throw new ApiError('INVALID_ARGUMENT', `${field} At most ${problem.maxVcpus} vCPUs can be used along with ${request.acceleratorCount} accelerator cards in an instance.`);
  }
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

/** GKE keeps finished operations listable for a while; the simulator keeps the newest this many. */
const KEPT_OPERATIONS = 200;

function operationsOf(state: ProjectState): GkeOperationState[] {
  return (state.operations ??= []);
}

/** Starts an operation on a cluster: RUNNING for `durationMs` (scaled), then DONE with its effect (settleGke). */
function startOperation(
  state: ProjectState,
  now: number,
  operation: Pick<GkeOperationState, 'operationType' | 'zone' | 'cluster' | 'nodePool'>,
  durationMs: number,
): GkeOperationState {
  const started: GkeOperationState = { ...operation, name: operationName(now), status: 'RUNNING', startedAt: now, doneAt: now + durationMs };
  const operations = operationsOf(state);
  operations.push(started);
  if (operations.length > KEPT_OPERATIONS) operations.splice(0, operations.length - KEPT_OPERATIONS);
  return started;
}

/**
 * GKE runs one operation at a time per cluster (node pools included) and refuses a second mutating
 * call while one runs: HTTP 400 FAILED_PRECONDITION "Cluster is running incompatible operation
 * operation-…". Thrown as ABORTED, the code the gcloud client maps that answer to (a conflict worth
 * retrying once the operation is done), with GKE's message.
 */
function refuseWhileBusy(state: ProjectState, ref: ClusterRef): void {
  const running = state.operations?.find((op) => op.status === 'RUNNING' && op.zone === ref.zone && op.cluster === ref.cluster);
  if (running !== undefined) throw new ApiError('ABORTED', `Cluster is running incompatible operation ${running.name}.`);
}

function clusterNotFound(ref: ClusterRef): ApiError {
  return new ApiError('NOT_FOUND', `Not found: ${clusterResource(ref)}.`);
}

/** What an operation leaves behind once it is done. */
function completeOperation(state: ProjectState, op: GkeOperationState): void {
  const key = clusterKey(op.zone, op.cluster);
  const cluster = state.clusters[key];
  const pool = op.nodePool === undefined ? undefined : cluster?.nodePools[op.nodePool];
  switch (op.operationType) {
    case 'CREATE_CLUSTER':
      if (cluster?.status === 'PROVISIONING') cluster.status = 'RUNNING';
      break;
    case 'CREATE_NODE_POOL':
      if (pool?.status === 'PROVISIONING') pool.status = 'RUNNING';
      break;
    case 'DELETE_NODE_POOL':
      if (cluster !== undefined && op.nodePool !== undefined) delete cluster.nodePools[op.nodePool];
      break;
    case 'DELETE_CLUSTER':
      delete state.clusters[key];
      break;
    case 'UPDATE_CLUSTER':
      break;
  }
  op.status = 'DONE';
}

/** Ends operations whose deadline has passed, and advances provisioning clusters and node pools; true if it changed any. */
export function settleGke(state: ProjectState, now: number): boolean {
  let changed = false;
  for (const op of [...(state.operations ?? [])].filter((o) => o.status === 'RUNNING').sort((a, b) => a.doneAt - b.doneAt)) {
    if (now >= op.doneAt) {
      completeOperation(state, op);
      changed = true;
    }
  }
  // Worlds written before operations were kept: provisioning by deadline alone.
  for (const cluster of Object.values(state.clusters)) {
    for (const resource of [cluster, ...Object.values(cluster.nodePools)]) {
      if (resource.status === 'PROVISIONING' && now >= resource.readyAt) {
        resource.status = 'RUNNING';
        changed = true;
      }
    }
  }
  return changed;
}

function targetLink(op: GkeOperationState, project: string): string {
  const cluster = `https://container.googleapis.com/v1/projects/${project}/zones/${op.zone}/clusters/${op.cluster}`;
  return op.nodePool === undefined ? cluster : `${cluster}/nodePools/${op.nodePool}`;
}

export class SimGke implements GkeApi {
  constructor(private readonly services: SimServices) {}

  async getCluster(ref: ClusterRef): Promise<(ClusterInfo) | null> {
    const info = await this.services.store.read(ref.project, (state) => {
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
      const op = startOperation(state, now, { operationType: 'CREATE_CLUSTER', zone: ref.zone, cluster: request.name }, provisioningMs);
      state.clusters[key] = {
        zone: ref.zone,
        name: request.name,
        machineType: request.machineType,
        releaseChannel: request.releaseChannel,
        nodes: request.nodes,
        ...(request.labels ? { labels: { ...request.labels } } : {}),
        status: 'PROVISIONING',
        operation: op.name,
        createdAt: now,
        readyAt: op.doneAt,
        nodePools: {},
        objects: {},
        releases: {},
      };
      return op.name;
    });
    await this.services.log.record('gke', 'cluster.create', clusterResource({ ...ref, cluster: request.name }), true);
    return { operation };
  }

  async getNodePool(ref: ClusterRef, name: string): Promise<(NodePoolInfo) | null> {
    const info = await this.services.store.read(ref.project, (state) => {
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
      if (cluster === undefined) throw clusterNotFound(ref);
      refuseWhileBusy(state, ref);
      if (cluster.status !== 'RUNNING') {
        throw new ApiError('FAILED_PRECONDITION', `cluster ${ref.cluster} is ${cluster.status}; node pools can be added to a RUNNING cluster only`);
      }
      if (cluster.nodePools[request.name] !== undefined) {
        throw new ApiError('ALREADY_EXISTS', `Already exists: ${clusterResource(ref)}/nodePools/${request.name}.`);
      }
      checkNodeRange(request.minNodes, request.maxNodes);
      if (request.initialNodes < request.minNodes || request.initialNodes > request.maxNodes || request.acceleratorCount < 1) {
        throw new ApiError('INVALID_ARGUMENT', 'initialNodes must lie between minNodes and maxNodes, and acceleratorCount must be >= 1');
      }
      refuseAttachment(request);
      ensureGpuQuota(state, ref.zone, request.acceleratorType, request.acceleratorCount * request.maxNodes);
      const op = startOperation(state, now, { operationType: 'CREATE_NODE_POOL', zone: ref.zone, cluster: ref.cluster, nodePool: request.name }, provisioningMs);
      const { labels, ...pool } = request;
      cluster.nodePools[request.name] = {
        ...pool,
        ...(labels ? { labels: { ...labels } } : {}),
        status: 'PROVISIONING',
        operation: op.name,
        createdAt: now,
        readyAt: op.doneAt,
      };
      return op.name;
    });
    await this.services.log.record('gke', 'nodepool.create', `${clusterResource(ref)}/nodePools/${request.name}`, true);
    return { operation };
  }

  async setNodePoolAutoscaling(ref: ClusterRef, name: string, minNodes: number, maxNodes: number): Promise<void> {
    const updateMs = scaledMs(SIM_GKE_SECONDS.autoscalingUpdate);
    const changed = await this.services.store.transact(ref.project, (state, now) => {
      const pool = state.clusters[clusterKey(ref.zone, ref.cluster)]?.nodePools[name];
      if (pool === undefined) throw new ApiError('NOT_FOUND', `Not found: ${clusterResource(ref)}/nodePools/${name}.`);
      checkNodeRange(minNodes, maxNodes);
      if (pool.minNodes === minNodes && pool.maxNodes === maxNodes) return false;
      refuseWhileBusy(state, ref);
      ensureGpuQuota(state, ref.zone, pool.acceleratorType, pool.acceleratorCount * maxNodes, pool);
      pool.minNodes = minNodes;
      pool.maxNodes = maxNodes;
      startOperation(state, now, { operationType: 'UPDATE_CLUSTER', zone: ref.zone, cluster: ref.cluster }, updateMs);
      return true;
    });
    await this.services.log.record('gke', 'nodepool.autoscaling', `${clusterResource(ref)}/nodePools/${name}`, changed);
  }

  /** Starts the pool's deletion (STOPPING until the operation is done); a missing pool is not an error. */
  async deleteNodePool(ref: ClusterRef, name: string): Promise<void> {
    const deleteMs = scaledMs(SIM_GKE_SECONDS.nodePoolDelete);
    const started = await this.services.store.transact(ref.project, (state, now) => {
      const pool = state.clusters[clusterKey(ref.zone, ref.cluster)]?.nodePools[name];
      if (pool === undefined) return false;
      refuseWhileBusy(state, ref);
      pool.status = 'STOPPING';
      startOperation(state, now, { operationType: 'DELETE_NODE_POOL', zone: ref.zone, cluster: ref.cluster, nodePool: name }, deleteMs);
      return true;
    });
    await this.services.log.record('gke', 'nodepool.delete', `${clusterResource(ref)}/nodePools/${name}`, started);
  }

  /** Starts the cluster's deletion (STOPPING until the operation is done); a missing cluster is not an error. */
  async deleteCluster(ref: ClusterRef): Promise<void> {
    const deleteMs = scaledMs(SIM_GKE_SECONDS.clusterDelete);
    const started = await this.services.store.transact(ref.project, (state, now) => {
      const cluster = state.clusters[clusterKey(ref.zone, ref.cluster)];
      if (cluster === undefined) return false;
      refuseWhileBusy(state, ref);
      cluster.status = 'STOPPING';
      startOperation(state, now, { operationType: 'DELETE_CLUSTER', zone: ref.zone, cluster: ref.cluster }, deleteMs);
      return true;
    });
    await this.services.log.record('gke', 'cluster.delete', clusterResource(ref), started);
  }

  /** The cluster's operations not yet DONE (gcloud container operations list, filtered to the cluster). */
  async runningOperations(ref: ClusterRef): Promise<GkeOperation[]> {
    const running = await this.services.store.read(ref.project, (state) =>
      (state.operations ?? [])
        .filter((op) => op.status !== 'DONE' && op.zone === ref.zone && op.cluster === ref.cluster)
        .map((op): GkeOperation => ({ name: op.name, operationType: op.operationType, status: op.status, targetLink: targetLink(op, ref.project) })),
    );
    await this.services.log.record('gke', 'operations.list', `projects/${ref.project}/zones/${ref.zone}/operations`, false);
    return running;
  }
}
