/** Chapter "Configure TRITON Server with Helm Chart": upgrade --install --wait, rollback, readiness. */
import { Context } from '@temporalio/activity';
import { FailureType, notReady, permanentFailure } from '../errors.js';
import { pipelineMarkerOf, type PipelineMarker } from '../plan/helm-values.js';
import type { ClusterScoped } from './context.js';
import { calling, translateError } from './errors.js';
import { ApiError, type ClusterRef, type HelmApi, type HelmRevision, type TritonProbe } from './ports.js';

export interface ReleaseRef extends ClusterScoped {
  release: string;
  namespace: string;
}

export interface ReleaseState {
  revision: number;
  status: HelmRevision['status'];
  repositoryUri: string | null;
  marker: PipelineMarker | null;
}

export interface HelmDeps {
  helm(ref: ClusterRef): HelmApi;
  triton(ref: ClusterRef): TritonProbe;
  chart: string;
  heartbeatIntervalMs: number;
}

/** Heartbeats while a blocking call (helm --wait) runs, and passes the activity's cancellation to it. */
async function withHeartbeat<T>(intervalMs: number, call: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const context = Context.current();
  const timer = setInterval(() => context.heartbeat(), intervalMs);
  try {
    return await call(context.cancellationSignal);
  } finally {
    clearInterval(timer);
  }
}

export function createHelmActivities({ helm, triton, chart, heartbeatIntervalMs }: HelmDeps) {
  async function current(ref: ReleaseRef): Promise<ReleaseState | null> {
    const api = helm(ref.cluster);
    const history = await calling('helm history', () => api.history(ref.release, ref.namespace));
    const last = history.at(-1);
    if (last === undefined) return null;
    const values = await calling('helm get values', () => api.values(ref.release, ref.namespace, last.revision));
    return {
      revision: last.revision,
      status: last.status,
      repositoryUri: typeof values['modelRepositoryPath'] === 'string' ? values['modelRepositoryPath'] : null,
      marker: pipelineMarkerOf(values),
    };
  }

  function releaseFailed(error: unknown, action: string): never {
    if (error instanceof ApiError && error.code === 'FAILED_PRECONDITION') {
      throw permanentFailure(FailureType.ReleaseFailed, `${action}: ${error.message}`, { output: error.output?.slice(-4000) });
    }
    translateError(error, action);
  }

  return {
    /** The release's latest revision, or null when it was never installed. */
    async describeRelease(ref: ReleaseRef): Promise<ReleaseState | null> {
      return current(ref);
    },

    /** Idempotent: a revision this deployment already made is returned instead of upgrading again. */
    async upgradeRelease(ref: ReleaseRef & { values: Record<string, unknown> & { pipeline: PipelineMarker } }): Promise<{ revision: number }> {
      const state = await current(ref);
      if (
        state !== null &&
        state.status === 'deployed' &&
        state.marker?.deploymentId === ref.values.pipeline.deploymentId &&
        state.marker.repositoryVersion === ref.values.pipeline.repositoryVersion
      ) {
        return { revision: state.revision };
      }
      const api = helm(ref.cluster);
      try {
        return await withHeartbeat(heartbeatIntervalMs, (signal) =>
          api.upgradeInstall({ release: ref.release, namespace: ref.namespace, chart, values: ref.values, timeoutSeconds: 900 }, signal),
        );
      } catch (error) {
        releaseFailed(error, 'helm upgrade --install');
      }
    },

    /** Rolls back to a recorded revision; a no-op when the release already serves that revision's repository. */
    async rollbackRelease(ref: ReleaseRef & { toRevision: number }): Promise<{ revision: number }> {
      const api = helm(ref.cluster);
      const state = await current(ref);
      const targetValues = await calling('helm get values', () => api.values(ref.release, ref.namespace, ref.toRevision));
      const target = pipelineMarkerOf(targetValues);
      const alreadyThere =
        state !== null &&
        state.status === 'deployed' &&
        state.marker?.repositoryVersion === target?.repositoryVersion &&
        state.marker?.deploymentId === target?.deploymentId;
      if (alreadyThere) {
        return { revision: state.revision };
      }
      try {
        await withHeartbeat(heartbeatIntervalMs, (signal) => api.rollback(ref.release, ref.namespace, ref.toRevision, 900, signal));
      } catch (error) {
        releaseFailed(error, `helm rollback to ${ref.toRevision}`);
      }
      const after = await current(ref);
      return { revision: after?.revision ?? ref.toRevision };
    },

    /** Saga inverse of a first install, and the end of a canary. */
    async uninstallRelease(ref: ReleaseRef): Promise<void> {
      await calling('helm uninstall', () => helm(ref.cluster).uninstall(ref.release, ref.namespace));
    },

    /** Readiness poll: Triton answers /v2/health/ready and serves the expected repository version. */
    async awaitReleaseServing(ref: ReleaseRef & { repositoryUri: string }): Promise<{ models: string[] }> {
      const probe = await calling('probe Triton', () => triton(ref.cluster).ready({ release: ref.release, namespace: ref.namespace }));
      if (!probe.ready) throw notReady(`Triton of release ${ref.release} is not ready`);
      if (probe.modelRepository !== ref.repositoryUri) {
        throw notReady(`Triton serves ${probe.modelRepository ?? 'nothing'}, expected ${ref.repositoryUri}`);
      }
      return { models: probe.models };
    },
  };
}
