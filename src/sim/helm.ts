/**
 * Simulated Helm 3 against one cluster: releases with numbered revisions. upgradeInstall and
 * rollback record a pending revision, wait the scaled Triton rollout (--wait; abortable), then the
 * revision is deployed (the previous deployed one superseded) if Triton could load its model
 * repository, or failed otherwise. As in Helm, a pending last revision locks the release for
 * upgrades (not for rollbacks, which Helm lets through), and only the helm process that wrote it
 * moves it on: a revision whose process was killed stays pending for good. Past its deadline, a
 * revision whose process still lives completes lazily (settleReleases), so other processes on the
 * same world see what that process will record.
 */
import { ApiError } from '../ports/errors.js';
import type { ClusterRef, HelmApi, HelmRevision, HelmUpgradeRequest, ObjectStore } from '../ports/systems.js';
import { currentSimContext } from './context.js';
import { clusterResource, type ClusterState, type ReleaseState, type RevisionRecord, runningCluster, type SimServices } from './state.js';
import { scaledMs, SIM_DURATIONS_SECONDS, waitMs } from './timing.js';
import { modelRepositoryOf, rolloutKey, startRollout } from './triton.js';

type PendingStatus = 'pending-install' | 'pending-upgrade' | 'pending-rollback';

const VERB: Record<PendingStatus, { name: string; failure: string }> = {
  'pending-install': { name: 'Install', failure: 'INSTALLATION FAILED' },
  'pending-upgrade': { name: 'Upgrade', failure: 'UPGRADE FAILED' },
  'pending-rollback': { name: 'Rollback', failure: 'ROLLBACK FAILED' },
};

/** helm's errPending (pkg/action/action.go), which `helm upgrade` returns while the last revision is pending. */
const ERR_PENDING = 'another operation (install/upgrade/rollback) is in progress';

function isPending(status: HelmRevision['status']): status is PendingStatus {
  return status in VERB;
}

/** A revision as stored here: with the process whose helm --wait records its outcome. */
interface HelmRevisionRecord extends RevisionRecord {
  helmPid?: number;
}

/** Whether the helm process of a revision still runs (revisions stored without one count as running). */
function helmRunning(revision: HelmRevisionRecord): boolean {
  if (revision.helmPid === undefined) return true;
  try {
    process.kill(revision.helmPid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Ends a pending revision's rollout: deployed if Triton loads its repository, failed otherwise. */
async function completeRollout(objects: ObjectStore, release: ReleaseState, revision: RevisionRecord): Promise<void> {
  if (!isPending(revision.status)) return;
  const repository = modelRepositoryOf(revision.values);
  const errors = repository === undefined ? ['values.modelRepositoryPath is not set'] : (await startRollout(objects, rolloutKey(release, revision), repository)).errors;
  if (errors.length > 0) {
    revision.description = `${VERB[revision.status].name} "${release.name}" failed: timed out waiting for the condition`;
    revision.status = 'failed';
    revision.failure = errors.join('; ');
    return;
  }
  for (const other of release.revisions) {
    if (other.status === 'deployed') other.status = 'superseded';
  }
  if (revision.status === 'pending-install') revision.description = 'Install complete';
  if (revision.status === 'pending-upgrade') revision.description = 'Upgrade complete';
  revision.status = 'deployed';
}

/** Completes rollouts whose deadline has passed and whose helm process is still there to record it; true if it completed any. */
export async function settleReleases(objects: ObjectStore, cluster: ClusterState, now: number): Promise<boolean> {
  let changed = false;
  for (const release of Object.values(cluster.releases)) {
    for (const revision of release.revisions) {
      if (isPending(revision.status) && now >= revision.readyAt && helmRunning(revision)) {
        await completeRollout(objects, release, revision);
        changed = true;
      }
    }
  }
  return changed;
}

export class SimHelm implements HelmApi {
  constructor(
    private readonly services: SimServices,
    private readonly ref: ClusterRef,
  ) {}

  private transact<T>(fn: (cluster: ClusterState, now: number) => T | Promise<T>): Promise<T> {
    return this.services.store.transact(this.ref.project, (state, now) => fn(runningCluster(state, this.ref), now));
  }

  private read<T>(fn: (cluster: ClusterState) => T): Promise<T> {
    return this.services.store.read(this.ref.project, (state) => fn(runningCluster(state, this.ref)));
  }

  private resource(release: string, namespace: string): string {
    return `${clusterResource(this.ref)}/helm/${namespace}/${release}`;
  }

  async upgradeInstall(request: HelmUpgradeRequest, signal?: AbortSignal): Promise<{ revision: number }> {
    const { release: name, namespace } = request;
    const revision = await this.start(name, namespace, (release) => {
      const last = release.revisions.at(-1);
      if (last === undefined) return { status: 'pending-install', description: 'Initial install underway', chart: request.chart, values: request.values };
      if (isPending(last.status)) throw new ApiError('ABORTED', `UPGRADE FAILED: ${ERR_PENDING}`);
      return { status: 'pending-upgrade', description: 'Preparing upgrade', chart: request.chart, values: request.values };
    });
    await this.services.log.record('helm', 'helm.upgrade', this.resource(name, namespace), true);
    await this.awaitRollout(name, namespace, revision, signal);
    return { revision: revision.revision };
  }

  async rollback(name: string, namespace: string, revision: number, _timeoutSeconds: number, signal?: AbortSignal): Promise<void> {
    const created = await this.start(name, namespace, (release) => {
      const target = release.revisions.find((r) => r.revision === revision);
      if (target === undefined) throw new ApiError('NOT_FOUND', `release "${name}" has no revision ${revision}`);
      return {
        status: 'pending-rollback',
        description: `Rollback to ${revision}`,
        chart: target.chart,
        values: target.values,
        regression: target.regression,
      };
    });
    await this.services.log.record('helm', 'helm.rollback', this.resource(name, namespace), true);
    await this.awaitRollout(name, namespace, created, signal);
  }

  async uninstall(name: string, namespace: string): Promise<void> {
    const existed = await this.transact((cluster) => {
      const key = `${namespace}/${name}`;
      const found = cluster.releases[key] !== undefined;
      delete cluster.releases[key];
      return found;
    });
    await this.services.log.record('helm', 'helm.uninstall', this.resource(name, namespace), existed);
  }

  async history(name: string, namespace: string): Promise<HelmRevision[]> {
    const revisions = await this.read((cluster) => cluster.releases[`${namespace}/${name}`]?.revisions ?? []);
    await this.services.log.record('helm', 'helm.history', this.resource(name, namespace), false);
    return revisions.map(({ revision, status, description }) => ({ revision, status, description }));
  }

  async values(name: string, namespace: string, revision: number): Promise<Record<string, unknown>> {
    const found = await this.read((cluster) => cluster.releases[`${namespace}/${name}`]?.revisions.find((r) => r.revision === revision));
    await this.services.log.record('helm', 'helm.values', this.resource(name, namespace), false);
    if (found === undefined) throw new ApiError('NOT_FOUND', `release "${name}" in ${namespace} has no revision ${revision}`);
    return found.values;
  }

  /** Records a new pending revision, owned by this process. */
  private start(
    name: string,
    namespace: string,
    next: (release: ReleaseState) => Pick<RevisionRecord, 'description' | 'chart' | 'values'> & { status: PendingStatus; regression?: number },
  ): Promise<RevisionRecord> {
    const context = currentSimContext();
    const rolloutMs = scaledMs(SIM_DURATIONS_SECONDS.tritonRollout);
    return this.transact((cluster, now) => {
      const key = `${namespace}/${name}`;
      const release = cluster.releases[key] ?? { name, namespace, revisions: [] };
      // A rollback over a pending revision leaves it pending in the history, as Helm does.
      const fields = next(release);
      const revision: HelmRevisionRecord = {
        revision: (release.revisions.at(-1)?.revision ?? 0) + 1,
        regression: context.regression,
        ...fields,
        deploymentId: context.deploymentId,
        createdAt: now,
        readyAt: now + rolloutMs,
        helmPid: process.pid,
      };
      release.revisions.push(revision);
      cluster.releases[key] = release;
      return revision;
    });
  }

  /** helm --wait: waits the rollout, then reports the revision's outcome. */
  private async awaitRollout(name: string, namespace: string, created: RevisionRecord, signal?: AbortSignal): Promise<void> {
    const verb = VERB[created.status as PendingStatus];
    const find = (cluster: ClusterState) => cluster.releases[`${namespace}/${name}`]?.revisions.find((r) => r.revision === created.revision);
    try {
      await waitMs(created.readyAt - created.createdAt, `helm ${verb.name.toLowerCase()} of ${name}`, signal);
    } catch (error) {
      await this.transact((cluster) => {
        const revision = find(cluster);
        if (revision !== undefined && isPending(revision.status)) {
          revision.description = `${verb.name} "${name}" failed: context canceled`;
          revision.status = 'failed';
        }
      });
      throw error;
    }
    const outcome = await this.transact(async (cluster) => {
      const release = cluster.releases[`${namespace}/${name}`];
      const revision = find(cluster);
      if (release === undefined || revision === undefined) return undefined;
      await completeRollout(this.services.objects, release, revision);
      return revision;
    });
    if (outcome?.status !== 'deployed') {
      const reason = outcome?.failure ?? outcome?.description ?? 'the release was removed';
      throw new ApiError(
        'FAILED_PRECONDITION',
        `${verb.failure}: Triton of release "${name}" did not become ready (${reason}): timed out waiting for the condition`,
        reason,
      );
    }
  }
}
