/**
 * Simulated Triton: what a release's server loads from its model repository when its pods start
 * (the files in the simulated GCS), and its readiness endpoint. A model loads when
 * <repo>/<model>/config.pbtxt parses (name matching the directory) and <repo>/<model>/1/model.plan
 * is an engine written by the simulated TensorRT build Job.
 */
import type { ClusterRef, ObjectStore, TritonProbe } from '../ports/systems.js';
import type { ModelSpec } from '../spec/schema.js';
import { type ModelConfigInput, parseModelConfig } from '../triton/model-config.js';
import type { PerfProfileName } from './perf-model.js';
import { clusterResource, type ClusterState, type RevisionRecord, runningCluster, type SimServices } from './state.js';
import { deepFreeze } from './sealed.js';

/** The body of a simulated model.plan. */
export interface SimulatedPlan {
  simulated: true;
  format: ModelSpec['format'];
  precision: ModelSpec['precision'];
  perfProfile: PerfProfileName;
  engineKey: string;
  profiles: Array<{ min: number; opt: number; max: number }>;
  gpu: string;
}

export interface LoadedModel {
  name: string;
  config: ModelConfigInput;
  plan: SimulatedPlan;
}

export interface LoadedRepository {
  models: LoadedModel[];
  /** Why Triton would not become ready (a model failed to load, or there is none); empty when it would. */
  errors: string[];
}

/**
 * What each rollout's Triton loaded when its pods started: Triton reads its repository at start-up
 * (model control mode none), not per request, so the perf Jobs and probes of a running release get
 * what its rollout loaded. Kept per object store, for the latest rollouts; a process that did not
 * see a rollout loads its repository again, as a restarted pod would.
 */
const loadedByRollout = new WeakMap<ObjectStore, Map<string, LoadedRepository>>();
const ROLLOUTS_KEPT_AT_MOST = 256;

/** A revision's rollout of a release, as the key of what its pods loaded. */
export function rolloutKey(release: { namespace: string; name: string }, revision: Pick<RevisionRecord, 'revision' | 'createdAt' | 'deploymentId'>): string {
  return `${release.namespace}/${release.name}#${revision.revision}@${revision.createdAt}/${revision.deploymentId}`;
}

/** The repository as the rollout's pods load it at their start, kept for the rollout's later questions. */
export async function startRollout(objects: ObjectStore, rollout: string, repository: string): Promise<LoadedRepository> {
  const loaded = await loadRepository(objects, repository);
  deepFreeze(loaded);
  let kept = loadedByRollout.get(objects);
  if (kept === undefined) loadedByRollout.set(objects, (kept = new Map()));
  kept.delete(rollout);
  kept.set(rollout, loaded);
  if (kept.size > ROLLOUTS_KEPT_AT_MOST) kept.delete(kept.keys().next().value!);
  return loaded;
}

/** What a running rollout's Triton serves: what its pods loaded at their start. */
export async function servedRepository(objects: ObjectStore, rollout: string, repository: string): Promise<LoadedRepository> {
  return loadedByRollout.get(objects)?.get(rollout) ?? startRollout(objects, rollout, repository);
}

async function loadRepository(objects: ObjectStore, repository: string): Promise<LoadedRepository> {
  const root = repository.replace(/\/+$/, '');
  let uris: string[];
  try {
    uris = await objects.list(`${root}/`);
  } catch (error) {
    return { models: [], errors: [`cannot read the model repository ${repository}: ${(error as Error).message}`] };
  }
  const dirs = [...new Set(uris.map((u) => u.slice(root.length + 1)).filter((n) => n.includes('/')).map((n) => n.split('/')[0] as string))].sort();
  const models: LoadedModel[] = [];
  const errors: string[] = [];
  for (const dir of dirs) {
    const result = await loadModel(objects, `${root}/${dir}`, dir);
    if (typeof result === 'string') errors.push(`failed to load '${dir}': ${result}`);
    else models.push(result);
  }
  if (dirs.length === 0) errors.push(`no models found in the model repository ${repository}`);
  return { models, errors };
}

async function loadModel(objects: ObjectStore, dir: string, name: string): Promise<LoadedModel | string> {
  const configBytes = await objects.read(`${dir}/config.pbtxt`);
  if (configBytes === null) return 'config.pbtxt not found';
  let config: ModelConfigInput;
  try {
    config = parseModelConfig(Buffer.from(configBytes).toString('utf8'), { name });
  } catch (error) {
    return `invalid config.pbtxt: ${(error as Error).message}`;
  }
  if (config.name !== name) return `config.pbtxt names the model '${config.name}', but its directory is '${name}'`;
  const planBytes = await objects.read(`${dir}/1/model.plan`);
  if (planBytes === null) return 'version 1 has no model.plan';
  const plan = parsePlan(Buffer.from(planBytes).toString('utf8'));
  if (plan === null) return 'version 1: unable to deserialize the TensorRT engine (not built by the simulated engine-build Job)';
  return { name, config, plan };
}

function parsePlan(text: string): SimulatedPlan | null {
  try {
    const plan = JSON.parse(text) as Partial<SimulatedPlan> | null;
    return plan?.simulated === true && typeof plan.perfProfile === 'string' ? (plan as SimulatedPlan) : null;
  } catch {
    return null;
  }
}

/** The release's deployed revision (what its pods run), if any. */
export function servingRevision(cluster: ClusterState, namespace: string, release: string): RevisionRecord | undefined {
  return cluster.releases[`${namespace}/${release}`]?.revisions.find((r) => r.status === 'deployed');
}

export function modelRepositoryOf(values: Record<string, unknown>): string | undefined {
  const path = values['modelRepositoryPath'];
  return typeof path === 'string' ? path : undefined;
}

/** A count among the chart's values; 1 (the chart's default) where it is absent or not a positive integer. */
function countOf(values: Record<string, unknown>, key: 'replicaCount' | 'gpusPerReplica'): number {
  const count = values[key];
  return typeof count === 'number' && Number.isInteger(count) && count > 0 ? count : 1;
}

export const replicaCountOf = (values: Record<string, unknown>) => countOf(values, 'replicaCount');

/** The GPUs each Triton pod requests (the chart's gpusPerReplica). */
export const gpusPerReplicaOf = (values: Record<string, unknown>) => countOf(values, 'gpusPerReplica');

export class SimTritonProbe implements TritonProbe {
  constructor(
    private readonly services: SimServices,
    private readonly ref: ClusterRef,
  ) {}

  async ready(target: { release: string; namespace: string }): Promise<{ ready: boolean; modelRepository?: string; models: string[] }> {
    const { store, objects, log } = this.services;
    const revision = await store.read(this.ref.project, (state) =>
      servingRevision(runningCluster(state, this.ref), target.namespace, target.release),
    );
    await log.record('triton', 'triton.ready', `${clusterResource(this.ref)}/triton/${target.namespace}/${target.release}`, false);
    const repository = revision === undefined ? undefined : modelRepositoryOf(revision.values);
    if (revision === undefined || repository === undefined) return { ready: false, models: [] };
    const { models } = await servedRepository(objects, rolloutKey({ namespace: target.namespace, name: target.release }, revision), repository);
    return { ready: true, modelRepository: repository, models: models.map((m) => m.name) };
  }
}
