/**
 * Chapter "Configure TRITON Server with Helm Chart": upgrade --install --wait, rollback, readiness,
 * and the recovery of a release that a crashed run left pending.
 *
 * A pending last revision (pending-install, -upgrade or -rollback) is Helm's lock on a release:
 * `helm upgrade` refuses it with "another operation (install/upgrade/rollback) is in progress",
 * and only the helm process that wrote it moves it on. A worker killed during `helm --wait`
 * (kill -9, OOM, a lost node), or an interrupted `helm rollback` (it does not handle SIGTERM),
 * leaves it for good. Such a revision is taken as abandoned only when its pipeline marker names
 * this run's deploymentId: that is the release's lock workflow ID (plan/ids.ts releaseWorkflowId),
 * which Temporal lets one workflow hold at a time, and an activity is retried only once Temporal
 * has given up on the attempt before it, so the helm that wrote the revision is gone (except on a
 * worker cut off from Temporal but not from the cluster; its helm still ends at its --timeout).
 * A pending revision of anyone else (a person's helm, another deployment ID) is left alone: the
 * activity fails as ABORTED (retried), then the run fails naming the revision, for an operator.
 */
import { Context } from '@temporalio/activity';
import { ApiError, calling, FailureType, notReady, permanentFailure, translateError } from '../ports/errors.js';
import { pipelineMarkerOf } from '../plan/helm-values.js';
import { MIN_HELM_WAIT_SECONDS } from '../plan/helm-wait.js';
import type { PipelineMarker, Recovery, ReleaseRef, ReleaseState } from '../ports/run.js';
import type { ClusterRef, HelmApi, HelmRevision, TritonProbe } from '../ports/systems.js';

const PENDING: ReadonlySet<HelmRevision['status']> = new Set(['pending-install', 'pending-upgrade', 'pending-rollback']);

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
  const waitSeconds = (ref: ReleaseRef) => ref.helmWaitSeconds ?? MIN_HELM_WAIT_SECONDS;

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

  /**
   * The release's pending last revision, if any; throws (ABORTED, retried) when this run did not
   * write it, as a helm that is still running must not be overtaken.
   */
  async function abandonedPending(ref: ReleaseRef, action: string): Promise<{ pending: HelmRevision; history: HelmRevision[] } | null> {
    const api = helm(ref.cluster);
    const history = await calling('helm history', () => api.history(ref.release, ref.namespace));
    const last = history.at(-1);
    if (last === undefined || !PENDING.has(last.status)) return null;
    const marker = pipelineMarkerOf(await calling('helm get values', () => api.values(ref.release, ref.namespace, last.revision)));
    if (marker?.deploymentId !== ref.run.deploymentId) {
      const writer = marker === null ? 'a helm run outside the pipeline' : `deployment ${marker.deploymentId}`;
      translateError(
        new ApiError('ABORTED', `release ${ref.namespace}/${ref.release} revision ${last.revision} is ${last.status} (written by ${writer}): another operation (install/upgrade/rollback) is in progress, or was interrupted and needs \`helm rollback\``),
        action,
      );
    }
    return { pending: last, history };
  }

  /** Rolls an abandoned pending revision back to the last served one, or uninstalls when none was ever served. */
  async function recover(ref: ReleaseRef, action: string): Promise<Recovery | null> {
    const found = await abandonedPending(ref, action);
    if (found === null) return null;
    const api = helm(ref.cluster);
    const { pending, history } = found;
    const earlier = history.filter((r) => r.revision < pending.revision);
    // After a failed rollback Helm leaves no revision deployed: the superseded one served last.
    const served = earlier.filter((r) => r.status === 'deployed').at(-1) ?? earlier.filter((r) => r.status === 'superseded').at(-1);
    if (served === undefined) {
      await calling('helm uninstall', () => api.uninstall(ref.release, ref.namespace));
      return { pending: pending.revision, uninstalled: true };
    }
    try {
      await withHeartbeat(heartbeatIntervalMs, (signal) => api.rollback(ref.release, ref.namespace, served.revision, waitSeconds(ref), signal));
    } catch (error) {
      releaseFailed(error, `helm rollback of pending revision ${pending.revision} to ${served.revision}`);
    }
    return { pending: pending.revision, rolledBackTo: served.revision };
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

    /**
     * Settles a release that a crashed run of this release's workflow left pending; null when it
     * was not pending. upgradeRelease does it first; a workflow that reads the release to plan its
     * rollback calls it before describeRelease.
     */
    async recoverRelease(ref: ReleaseRef): Promise<Recovery | null> {
      return recover(ref, 'recover the release');
    },

    /** Idempotent: a revision this deployment already made is returned instead of upgrading again. */
    async upgradeRelease(ref: ReleaseRef & { values: Record<string, unknown> & { pipeline: PipelineMarker } }): Promise<{ revision: number }> {
      await recover(ref, 'helm upgrade --install');
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
          api.upgradeInstall({ release: ref.release, namespace: ref.namespace, chart, values: ref.values, timeoutSeconds: waitSeconds(ref) }, signal),
        );
      } catch (error) {
        releaseFailed(error, 'helm upgrade --install');
      }
    },

    /** Rolls back to a recorded revision; a no-op when the release already serves that revision's repository. */
    async rollbackRelease(ref: ReleaseRef & { toRevision: number }): Promise<{ revision: number }> {
      const api = helm(ref.cluster);
      // Helm rolls back over a pending revision (it checks the lock on upgrade only), which settles
      // it; only a pending revision someone else may still be writing stops the rollback.
      await abandonedPending(ref, `helm rollback to ${ref.toRevision}`);
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
        await withHeartbeat(heartbeatIntervalMs, (signal) => api.rollback(ref.release, ref.namespace, ref.toRevision, waitSeconds(ref), signal));
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
