/**
 * The Helm releases of a deployment: the preview beside the live release, the promotion of the
 * live release and its entry in the release record, and the rollback (the promotion's inverse)
 * that makes what served before serve again.
 */
import type { ReleaseState } from '../ports/run.js';
import { previewValues, type TritonValues } from '../plan/helm-values.js';
import { type DeployRun, stage, stageOf } from './deploy-run.js';

/** Installs the new config beside the live release, without production traffic; returns what serves live. */
export function deployPreview(deploy: DeployRun, values: TritonValues): Promise<ReleaseState | null> {
  const { act, run, releaseRef, previewRef } = deploy;
  return stage(deploy, 'preview', async () => {
    await act.recoverRelease(releaseRef);
    const before = await act.describeRelease(releaseRef);
    deploy.compensations.push(deploy.removePreview);
    const preview = { ...previewRef, run: { ...run, stage: 'preview' as const } };
    await act.upgradeRelease({ ...preview, values: previewValues(values) });
    await act.awaitReleaseServing({ ...preview, repositoryUri: values.modelRepositoryPath });
    return before;
  }, () => `${previewRef.release} serves ${values.modelRepositoryPath} beside the live release, without production traffic`);
}

/** Before the upgrade: the preview's GPU is the one the live release's rolling update needs. */
export async function removePreview(deploy: DeployRun): Promise<void> {
  await deploy.removePreview.undo();
  deploy.compensations.splice(deploy.compensations.indexOf(deploy.removePreview), 1);
}

export interface Promotion {
  revision: number;
  /** What served before (null: nothing; this run installed the release). */
  previous: ReleaseState | null;
}

/** Upgrades (or installs) the live release and waits until it serves the new repository version. */
export function promote(deploy: DeployRun, values: TritonValues): Promise<Promotion> {
  const { act, releaseRef, compensations } = deploy;
  return stage(deploy, 'release', async () => {
    // A revision a killed run left pending would hide what serves, and with it the rollback target.
    if (deploy.validatesBeforeTraffic) await act.recoverRelease(releaseRef);
    const before: ReleaseState | null = await act.describeRelease(releaseRef);
    if (before !== null && before.status === 'deployed') {
      compensations.push({ name: `roll back to revision ${before.revision}`, undo: () => rollBackTo(deploy, before) });
    } else if (before === null) {
      // Nothing served before this run: undoing the install is removing it.
      compensations.push({
        name: 'uninstall the new release',
        undo: async () => {
          await act.uninstallRelease(releaseRef);
          stageOf(deploy, 'release').status = 'compensated';
          stageOf(deploy, 'release').detail = 'first install undone (helm uninstall)';
          if (deploy.lineage) await recordRollback(deploy, null, null);
        },
      });
    }
    const upgraded = await act.upgradeRelease({ ...releaseRef, values });
    deploy.revision = upgraded.revision;
    await act.awaitReleaseServing({ ...releaseRef, repositoryUri: values.modelRepositoryPath });
    return { revision: upgraded.revision, previous: before };
  }, (r) => `revision ${r.revision}${r.previous ? ` (previous ${r.previous.revision})` : ''}`);
}

/**
 * The promotion becomes what the next gate compares with: an entry in the release record (legacy
 * runs: the per-revision baseline). From here a failure must not undo the release.
 */
export async function recordPromotion(deploy: DeployRun): Promise<void> {
  const { act, run, spec, info, recordRef, repositoryVersion, variants } = deploy;
  const measuredAt = new Date().toISOString();
  if (deploy.lineage) {
    await act.recordReleaseChange({
      ...recordRef,
      change: {
        kind: 'promoted',
        at: measuredAt,
        entry: {
          spec,
          repositoryVersion,
          repositoryUri: deploy.repositoryUri!,
          helmRevision: deploy.revision!,
          workflowId: info.workflowId,
          runId: info.runId,
          promotedAt: measuredAt,
          reason: deploy.reason,
          baselines: variants.map((v) => ({
            variant: v.variant,
            bestThroughput: v.repeated?.mean ?? v.verdict.bestThroughput,
            latencyMsAtBest: v.verdict.latencyMsAtBest,
            samples: v.sweeps ?? [],
          })),
        },
      },
    });
  } else {
    await act.saveBaseline({
      run,
      bucket: spec.bucket,
      namespace: spec.release.namespace,
      release: spec.release.name,
      revision: deploy.revision!,
      baseline: {
        revision: deploy.revision!,
        repositoryVersion,
        deploymentId: run.deploymentId,
        measuredAt,
        variants: variants.map((v) => ({
          variant: v.variant,
          bestThroughput: v.repeated?.mean ?? v.verdict.bestThroughput,
          latencyMsAtBest: v.verdict.latencyMsAtBest,
          ...(v.repeated ? { samples: v.repeated.samples, cv: v.repeated.cv } : {}),
        })),
      },
    });
  }
  deploy.compensations.length = 0;
  deploy.promoted = true;
}

async function rollBackTo(deploy: DeployRun, target: ReleaseState): Promise<void> {
  const { act, releaseRef } = deploy;
  const releaseStage = stageOf(deploy, 'release');
  try {
    const rolled = await act.rollbackRelease({ ...releaseRef, toRevision: target.revision });
    deploy.rollback = { toRevision: target.revision, revision: rolled.revision, verified: false, servingRepository: null };
    const serving = target.repositoryUri ?? '';
    await act.awaitReleaseServing({ ...releaseRef, repositoryUri: serving });
    deploy.rollback = { ...deploy.rollback, verified: true, servingRepository: serving };
    releaseStage.status = 'compensated';
    releaseStage.detail = `rolled back to revision ${target.revision} (now revision ${rolled.revision}), verified serving ${serving}`;
  } catch (error) {
    deploy.rollback = { toRevision: target.revision, revision: deploy.rollback?.revision ?? -1, verified: false, servingRepository: null, error: String(error) };
    throw error;
  }
  // After the verified rollback, so a failed record write never makes it look unverified (the next
  // gate still finds what serves by its repository).
  if (deploy.lineage) await recordRollback(deploy, deploy.rollback.revision, deploy.rollback.servingRepository);
}

/** What serves again becomes the record's live entry, so the next release is gated against it. */
async function recordRollback(deploy: DeployRun, helmRevision: number | null, servingRepositoryUri: string | null): Promise<void> {
  const { act, info, recordRef, repositoryVersion, failureCause } = deploy;
  await act.recordReleaseChange({
    ...recordRef,
    change: { kind: 'rolled-back', at: new Date().toISOString(), workflowId: info.workflowId, runId: info.runId, attemptedRepositoryVersion: repositoryVersion, helmRevision, servingRepositoryUri, cause: failureCause },
  });
}
