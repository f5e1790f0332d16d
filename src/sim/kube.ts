/**
 * Simulated Kubernetes API of one cluster: server-side apply of any object (stored as applied;
 * re-applying identical content changes nothing), nodes derived from GKE state (nodes.ts), and
 * batch/v1 Jobs that run for a simulated duration and then play their effect exactly once
 * (job-effects.ts). Deleting an unfinished Job cancels it.
 */
import { ApiError } from '../ports/errors.js';
import type { ClusterRef, JobStatus, KubeApi, KubeObject, NodeInfo } from '../ports/systems.js';
import { jobEnv, PIPELINE_LABEL } from '../plan/jobs.js';
import { currentSimContext, runInSimContext } from './context.js';
import { jobDurationSeconds, jobStartLog, runJobEffect, type ServedRelease } from './job-effects.js';
import { nodesOf, objectKey } from './nodes.js';
import { gpusPerReplicaOf, modelRepositoryOf, replicaCountOf, rolloutKey, servingRevision } from './triton.js';
import { clusterResource, type ClusterState, type JobRun, runningCluster, type SimServices } from './state.js';
import { sealed, sealedJson } from './sealed.js';
import { scaledMs, SIM_DURATIONS_SECONDS } from './timing.js';

/** Kinds without a namespace; every other kind defaults to namespace "default", as kubectl does. */
const CLUSTER_SCOPED_KINDS = new Set([
  'Namespace',
  'Node',
  'PersistentVolume',
  'StorageClass',
  'PriorityClass',
  'RuntimeClass',
  'ClusterRole',
  'ClusterRoleBinding',
  'CustomResourceDefinition',
  'APIService',
  'MutatingWebhookConfiguration',
  'ValidatingWebhookConfiguration',
]);

function namespaceOf(kind: string, namespace: string | undefined): string | undefined {
  return CLUSTER_SCOPED_KINDS.has(kind) ? undefined : (namespace ?? 'default');
}

/** JSON with object keys sorted, to compare manifests regardless of key order. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}

function isJob(object: KubeObject): boolean {
  return object.apiVersion.startsWith('batch/') && object.kind === 'Job';
}

function objectResource(ref: ClusterRef, kind: string, namespace: string | undefined, name: string): string {
  return `${clusterResource(ref)}/k8s/${namespace === undefined ? '' : `${namespace}/`}${kind}/${name}`;
}

function servedRelease(cluster: ClusterState, namespace: string, release: string, now: number): ServedRelease | undefined {
  const revision = servingRevision(cluster, namespace, release);
  const repository = revision === undefined ? undefined : modelRepositoryOf(revision.values);
  if (revision === undefined || repository === undefined) return undefined;
  const gpusPerReplica = gpusPerReplicaOf(revision.values);
  const fitting = nodesOf(cluster, now).reduce((pods, n) => pods + Math.floor(n.allocatableGpus / gpusPerReplica), 0);
  return { repository, rollout: rolloutKey({ namespace, name: release }, revision), replicas: Math.min(replicaCountOf(revision.values), fitting), gpusPerReplica, slowdown: revision.regression };
}

/** Advances the cluster's Jobs to `now`; a Job past its deadline plays its effect, logged under its creator. True if any Job moved on. */
export async function settleJobs(services: Pick<SimServices, 'objects' | 'log'>, ref: ClusterRef, cluster: ClusterState, now: number): Promise<boolean> {
  let changed = false;
  for (const record of Object.values(cluster.objects)) {
    const job = record.job;
    if (job === undefined || job.phase === 'succeeded' || job.phase === 'failed') continue;
    const env = jobEnv(record.object);
    if (now >= job.doneAt) {
      const { name, namespace } = record.object.metadata;
      const outcome = await runInSimContext({ deploymentId: job.deploymentId, speed: 0, regression: 0 }, async () => {
        const result = await runJobEffect(job.component, env, { objects: services.objects, doneAt: job.doneAt, served: async (namespace, release) => servedRelease(cluster, namespace, release, now) });
        await services.log.record('kube', 'job.complete', objectResource(ref, 'Job', namespace, name), true);
        return result;
      });
      // A finished Job never changes again: sealed, it leaves the project's document (state.ts).
      record.job = sealed({ ...job, ...outcome });
      changed = true;
    } else if (now >= job.startAt && job.phase === 'pending') {
      job.phase = 'running';
      job.logs = jobStartLog(job.component, env);
      changed = true;
    }
  }
  return changed;
}

export class SimKube implements KubeApi {
  constructor(
    private readonly services: SimServices,
    private readonly ref: ClusterRef,
  ) {}

  private transact<T>(fn: (cluster: ClusterState, now: number) => T): Promise<T> {
    return this.services.store.transact(this.ref.project, (state, now) => fn(runningCluster(state, this.ref), now));
  }

  private read<T>(fn: (cluster: ClusterState, now: number) => T): Promise<T> {
    return this.services.store.read(this.ref.project, (state, now) => fn(runningCluster(state, this.ref), now));
  }

  async apply(object: KubeObject): Promise<void> {
    const { apiVersion, kind, metadata } = object;
    if (typeof apiVersion !== 'string' || typeof kind !== 'string' || typeof metadata?.name !== 'string' || metadata.name === '') {
      throw new ApiError('INVALID_ARGUMENT', 'an applied object needs apiVersion, kind and metadata.name');
    }
    const namespace = namespaceOf(kind, metadata.namespace);
    // Sealed once applied (sealed.ts): a copy, so the caller's object stays its own.
    const stored = sealedJson<KubeObject>(JSON.stringify({ ...object, metadata: { ...metadata, namespace } }));
    const { speed } = currentSimContext();
    const outcome = await this.transact((cluster, now) => {
      const key = objectKey(apiVersion, kind, namespace, metadata.name);
      const existing = cluster.objects[key];
      // The same JSON is the same object (a pipeline re-applies its manifests as it rendered them); else compare regardless of key order.
      if (existing !== undefined && (existing.object === stored || canonical(existing.object) === canonical(stored))) return 'unchanged';
      if (existing !== undefined) {
        if (isJob(stored) && canonical(existing.object['spec']) !== canonical(stored['spec'])) {
          throw new ApiError('INVALID_ARGUMENT', `Job.batch "${metadata.name}" is invalid: spec.template: field is immutable`);
        }
        existing.object = stored;
        return 'updated';
      }
      cluster.objects[key] = { object: stored, createdAt: now, speed, ...(isJob(stored) ? { job: startJob(stored, now) } : {}) };
      return isJob(stored) ? 'job-created' : 'created';
    });
    await this.services.log.record(
      'kube',
      outcome === 'job-created' ? 'job.create' : 'kube.apply',
      objectResource(this.ref, kind, namespace, metadata.name),
      outcome !== 'unchanged',
    );
  }

  async get(apiVersion: string, kind: string, namespace: string | undefined, name: string): Promise<KubeObject | null> {
    const ns = namespaceOf(kind, namespace);
    const record = await this.read((cluster) => cluster.objects[objectKey(apiVersion, kind, ns, name)]);
    await this.services.log.record('kube', 'kube.get', objectResource(this.ref, kind, ns, name), false);
    return record === undefined ? null : record.object;
  }

  async delete(apiVersion: string, kind: string, namespace: string | undefined, name: string): Promise<void> {
    const ns = namespaceOf(kind, namespace);
    const existed = await this.transact((cluster) => {
      const key = objectKey(apiVersion, kind, ns, name);
      const found = cluster.objects[key] !== undefined;
      delete cluster.objects[key];
      return found;
    });
    await this.services.log.record('kube', 'kube.delete', objectResource(this.ref, kind, ns, name), existed);
  }

  async listNodes(labelSelector: Record<string, string>): Promise<NodeInfo[]> {
    const nodes = await this.read((cluster, now) => nodesOf(cluster, now));
    await this.services.log.record('kube', 'kube.listNodes', `${clusterResource(this.ref)}/k8s/Node`, false);
    return nodes.filter((node) => Object.entries(labelSelector).every(([key, value]) => node.labels[key] === value));
  }

  async jobStatus(namespace: string, name: string): Promise<JobStatus | null> {
    const job = await this.job(namespace, name);
    await this.services.log.record('kube', 'job.status', objectResource(this.ref, 'Job', namespace, name), false);
    if (job === undefined) return null;
    return job.message === undefined ? { phase: job.phase } : { phase: job.phase, message: job.message };
  }

  async jobLogs(namespace: string, name: string): Promise<string> {
    const job = await this.job(namespace, name);
    await this.services.log.record('kube', 'job.logs', objectResource(this.ref, 'Job', namespace, name), false);
    if (job === undefined) throw new ApiError('NOT_FOUND', `jobs.batch "${name}" not found in namespace ${namespace}`);
    return job.logs;
  }

  private job(namespace: string, name: string): Promise<JobRun | undefined> {
    return this.read((cluster) => cluster.objects[objectKey('batch/v1', 'Job', namespace, name)]?.job);
  }
}

function startJob(job: KubeObject, now: number): JobRun {
  const component = job.metadata.labels?.[PIPELINE_LABEL] ?? '';
  const startAt = now + scaledMs(SIM_DURATIONS_SECONDS.jobPodStart);
  return {
    component,
    deploymentId: currentSimContext().deploymentId,
    startAt,
    doneAt: startAt + scaledMs(jobDurationSeconds(component, jobEnv(job))),
    phase: 'pending',
    logs: '',
  };
}
