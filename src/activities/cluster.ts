/**
 * Chapter "Deploy GKE cluster with T4 node pools": ensure (adopt or create), then poll until running;
 * and the saga's inverses, which wait for GKE's operations on the cluster (GKE runs one at a time).
 */
import { createHash } from 'node:crypto';
import { Context } from '@temporalio/activity';
import { ApiError, calling, FailureType, notReady, permanentFailure, transientFailure, translateError } from '../ports/errors.js';
import type { DeploymentSpec } from '../spec/schema.js';
import type { ClusterScoped, RunContext } from '../ports/run.js';
import type { ClusterInfo, ClusterRef, GkeApi } from '../ports/systems.js';

export interface EnsureResult {
  outcome: 'created' | 'adopted';
  operation?: string;
}

export interface EnsureClusterInput extends ClusterScoped {
  spec: DeploymentSpec['cluster'];
  /**
   * Monitoring components the run needs (gcloud names; src/plan/helm-values.ts
   * clusterMonitoringFor): a new cluster is created with them, an adopted one that lacks one is
   * updated to have it. Absent: GKE's defaults, and an adopted cluster is left as it is.
   */
  monitoring?: string[];
}

export interface EnsureNodePoolInput extends ClusterScoped {
  spec: DeploymentSpec['nodePool'];
}

/** The label a create puts on the cluster or node pool it makes: which deployment run created it. */
export const CREATED_BY_LABEL = 'triton-pipeline-run';

/**
 * The created-by mark of the calling run: a hash of the workflow ID and run ID (workflow IDs hold
 * '/' and upper case, which labels may not). Not the workflow ID alone: it derives from the release
 * (deploy/<project>/<cluster>/<release>), so the next deployment of the release has the same one and
 * would take a cluster an earlier, successful run created (and that now serves) for its own, and
 * delete it when it fails. A retry of the same run (a reply lost after the create) finds its mark.
 */
export function createdByMark(run: RunContext): string {
  const runId = Context.current().info.workflowExecution?.runId ?? '';
  return createHash('sha256').update(`${run.deploymentId}\n${runId}`).digest('hex').slice(0, 40);
}

function createdBy(run: RunContext): Record<string, string> {
  return { [CREATED_BY_LABEL]: createdByMark(run) };
}

/** 'created' when the resource carries this run's mark (its own create, whose reply was lost). */
function outcomeOf(run: RunContext, existing: { labels?: Record<string, string> }): EnsureResult['outcome'] {
  return existing.labels?.[CREATED_BY_LABEL] === createdByMark(run) ? 'created' : 'adopted';
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

/** First and longest pause between two looks at GKE while an inverse waits (gcloud itself polls every 5 s). */
const FIRST_POLL_MS = 100;
const MAX_POLL_MS = 5_000;

/**
 * Runs `step` until it reports nothing left to wait for (null), heartbeating what it waits for.
 * `step` returns 'again' to be run again at once (it just issued a call). Near the end of the
 * attempt's start-to-close timeout it fails transiently: the retry resumes the wait, never
 * re-issuing what GKE already runs.
 */
async function untilSettled(action: string, step: () => Promise<string | 'again' | null>): Promise<void> {
  const context = Context.current();
  const timeoutMs = context.info.startToCloseTimeoutMs;
  const deadline = Date.now() + (timeoutMs > 0 ? timeoutMs * 0.8 : Number.POSITIVE_INFINITY);
  for (let delay = FIRST_POLL_MS; ; ) {
    const waiting = await step();
    if (waiting === null) return;
    if (waiting === 'again') continue;
    context.heartbeat({ action, waiting });
    if (Date.now() + delay > deadline) throw transientFailure(`${action}: still waiting for ${waiting}; the next attempt waits on`);
    await context.sleep(delay);
    delay = Math.min(delay * 2, MAX_POLL_MS);
  }
}

/** GKE refused a call because an operation runs on the cluster ("Operation … is currently upgrading cluster …"). */
function refusedWhileBusy(error: unknown): error is ApiError {
  return error instanceof ApiError && error.code === 'ABORTED';
}

/**
 * Runs a GKE call that GKE refuses while another operation runs on the cluster (an upgrade can take
 * many minutes): refused, it is not ready yet, retried at the poll interval until the operation ends.
 */
export async function callingWhenClusterIdle<T>(action: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (refusedWhileBusy(error)) throw notReady(`${action}: ${error.message}`);
    translateError(error, action);
  }
}

/**
 * The components `wanted` adds to what the cluster already collects (the whole list, since
 * `--monitoring` replaces it), or null when it has them all and Managed Prometheus is on.
 * Clusters whose monitoring is not reported (sim, local) need nothing.
 */
export function missingMonitoring(current: ClusterInfo['monitoring'], wanted: readonly string[]): string[] | null {
  if (current === undefined) return null;
  const missing = wanted.filter((c) => !current.components.includes(c));
  if (missing.length === 0 && current.managedPrometheus) return null;
  return [...current.components, ...missing];
}

/**
 * Idempotent: GKE's managed DCGM metrics (and any other component in `wanted`) on an existing
 * cluster, Managed Prometheus with them. Refused while another operation runs on the cluster, it
 * is not ready yet (retried). Returns the update's operation, or null when nothing was missing.
 */
export async function ensureClusterMonitoring(gke: GkeApi, cluster: ClusterRef, wanted: readonly string[]): Promise<string | null> {
  if (gke.updateClusterMonitoring === undefined) return null;
  const info = await calling('describe cluster', () => gke.getCluster(cluster));
  if (info === null) throw permanentFailure(FailureType.InvalidArgument, `cluster ${cluster.cluster} does not exist`);
  const components = missingMonitoring(info.monitoring, wanted);
  if (components === null) return null;
  const { operation } = await callingWhenClusterIdle(`enable monitoring ${components.join(',')} on cluster ${cluster.cluster}`, () => gke.updateClusterMonitoring!(cluster, components));
  return operation;
}

export function createClusterActivities({ gke }: { gke: GkeApi }) {
  /** The cluster's unfinished operations, described for a heartbeat; null when none (or not listable). */
  async function busyWith(cluster: ClusterRef): Promise<string | null> {
    if (gke.runningOperations === undefined) return null;
    const running = await calling('list operations', () => gke.runningOperations!(cluster));
    if (running.length === 0) return null;
    return `GKE operation ${running.map((op) => `${op.name} (${op.operationType}, ${op.status})`).join(', ')} on cluster ${cluster.cluster}`;
  }

  /** Issues a delete unless GKE refuses it while another operation runs; 'again' to look once more at once. */
  async function issue(action: string, call: () => Promise<void>): Promise<string | 'again'> {
    try {
      await call();
      return 'again';
    } catch (error) {
      if (refusedWhileBusy(error)) return `GKE to accept the ${action} (refused: ${error.message})`;
      translateError(error, action);
    }
  }

  return {
    async ensureCluster({ run, cluster, spec, monitoring }: EnsureClusterInput): Promise<EnsureResult> {
      const existing = await calling('describe cluster', () => gke.getCluster(cluster));
      if (existing !== null) {
        failIfBroken('cluster', cluster.cluster, existing);
        const diff = mismatches([['machineType', spec.machineType, existing.machineType]]);
        if (diff.length > 0) {
          throw permanentFailure(
            FailureType.ConfigMismatch,
            `cluster ${cluster.cluster} exists with a different configuration (${diff.join('; ')}); the pipeline does not change a running cluster: fix the spec or use another cluster name`,
          );
        }
        // Monitoring is the one setting adopted clusters get: GKE changes it in place, and without it the HPA has no metric.
        const operation = monitoring === undefined ? null : await ensureClusterMonitoring(gke, cluster, monitoring);
        return { outcome: outcomeOf(run, existing), ...(operation !== null ? { operation } : {}) };
      }
      const { operation } = await calling('create cluster', () =>
        gke.createCluster(cluster, {
          name: cluster.cluster,
          machineType: spec.machineType,
          nodes: spec.nodes,
          releaseChannel: spec.releaseChannel,
          labels: createdBy(run),
          ...(monitoring !== undefined ? { monitoring } : {}),
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

    async ensureNodePool({ run, cluster, spec }: EnsureNodePoolInput): Promise<EnsureResult> {
      const existing = await calling('describe node pool', () => gke.getNodePool(cluster, spec.name));
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
        return { outcome: outcomeOf(run, existing) };
      }
      const { operation } = await callingWhenClusterIdle('create node pool', () => gke.createNodePool(cluster, { ...spec, labels: createdBy(run) }));
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

    /**
     * Saga inverse of ensureNodePool when it created the pool; idempotent. Waits until no operation
     * runs on the cluster, deletes the pool, and returns once it is gone, so the cluster delete that
     * follows is not refused.
     */
    async deleteNodePool({ cluster, nodePool }: ClusterScoped & { nodePool: string }): Promise<void> {
      await untilSettled(`delete node pool ${nodePool}`, async () => {
        const pool = await calling('describe node pool', () => gke.getNodePool(cluster, nodePool));
        if (pool === null) return null;
        const busy = await busyWith(cluster);
        if (busy !== null) return busy;
        if (pool.status === 'STOPPING') return `node pool ${nodePool} to be deleted`;
        return issue('delete node pool', () => gke.deleteNodePool(cluster, nodePool));
      });
    },

    /**
     * Saga inverse of ensureCluster when it created the cluster; idempotent. Waits until no
     * operation runs on the cluster (a node pool delete), deletes it and returns once it is gone.
     */
    async deleteCluster({ cluster }: ClusterScoped): Promise<void> {
      await untilSettled(`delete cluster ${cluster.cluster}`, async () => {
        const info = await calling('describe cluster', () => gke.getCluster(cluster));
        if (info === null) return null;
        const busy = await busyWith(cluster);
        if (busy !== null) return busy;
        if (info.status === 'STOPPING') return `cluster ${cluster.cluster} to be deleted`;
        return issue('delete cluster', () => gke.deleteCluster(cluster));
      });
    },
  };
}
