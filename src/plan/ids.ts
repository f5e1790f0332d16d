/** Business keys: workflow IDs, task queues and repository versions derive from the spec. Pure. */
import type { DeploymentSpec, Target } from '../spec/schema.js';

/** One deployment per release at a time: the ID is the release's key. */
export function deploymentWorkflowId(spec: Pick<DeploymentSpec, 'project' | 'cluster' | 'release'>): string {
  return `deploy/${spec.project}/${spec.cluster.name}/${spec.release.namespace}/${spec.release.name}`;
}

export function reoptimizationWorkflowId(spec: Pick<DeploymentSpec, 'project' | 'cluster' | 'release'>): string {
  return `reoptimize/${spec.project}/${spec.cluster.name}/${spec.release.namespace}/${spec.release.name}`;
}

export function scheduleIdFor(spec: Pick<DeploymentSpec, 'project' | 'cluster' | 'release'>): string {
  return reoptimizationWorkflowId(spec).replace(/\//g, '.');
}

export function taskQueueFor(target: Target): string {
  return `triton-pipeline-${target}`;
}

/** A new, sortable, immutable repository version per run (e.g. 20261126-114200-1a2b3c4d). */
export function repositoryVersionFor(startedAt: Date, runId: string): string {
  const iso = startedAt.toISOString();
  return `${iso.slice(0, 10).replace(/-/g, '')}-${iso.slice(11, 19).replace(/:/g, '')}-${runId.replace(/-/g, '').slice(0, 8)}`;
}
