/** Business keys: workflow IDs, task queues and repository versions derive from the spec. Pure. */
import { describeKey, type ReleaseKey, releaseKeyOf } from '../release/record.js';
import type { DeploymentSpec, Target } from '../spec/schema.js';

/**
 * The release's lock: whatever changes a release (a deployment, or a re-optimization's search and
 * promotion) runs under this ID, so Temporal refuses a second one while it runs.
 */
export function releaseWorkflowId(key: ReleaseKey): string {
  return `deploy/${describeKey(key)}`;
}

export function deploymentWorkflowId(spec: Pick<DeploymentSpec, 'project' | 'cluster' | 'release'>): string {
  return releaseWorkflowId(releaseKeyOf(spec));
}

/** The ID a re-optimization request starts under (a Schedule appends its time to it). */
export function reoptimizationWorkflowId(key: ReleaseKey): string {
  return `reoptimize/${describeKey(key)}`;
}

export function scheduleIdFor(key: ReleaseKey): string {
  return reoptimizationWorkflowId(key).replace(/\//g, '.');
}

export function taskQueueFor(target: Target): string {
  return `triton-pipeline-${target}`;
}

/** A new, sortable, immutable repository version per run (e.g. 20261126-114200-1a2b3c4d). */
export function repositoryVersionFor(startedAt: Date, runId: string): string {
  const iso = startedAt.toISOString();
  return `${iso.slice(0, 10).replace(/-/g, '')}-${iso.slice(11, 19).replace(/:/g, '')}-${runId.replace(/-/g, '').slice(0, 8)}`;
}
