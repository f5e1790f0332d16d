/**
 * The deployment workflow: the sample's chapters, in order, made durable. Each stage is one call;
 * a failure after the release changed rolls it back (saga) and ends the run with the real cause.
 */
import {
  ApplicationFailure,
  CancellationScope,
  condition,
  isCancellation,
  log,
  patched,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { Baseline, ReleaseState } from '../ports/run.js';
import { FailureType } from '../ports/errors.js';
import { previewReleaseName, previewValues, tritonValues } from '../plan/helm-values.js';
import { repositoryVersionFor } from '../plan/ids.js';
import { runReport } from '../report/run-report.js';
import { PIPELINE_OUTCOME, TRITON_MODELS, TRITON_RELEASE, TRITON_TARGET } from '../temporal/search-attributes.js';
import { type DeploymentSpec, STAGE_NAMES, type StageName } from '../spec/schema.js';
import { type PromotionReason, type ReleaseEntry, releaseKeyOf, type ReleaseRecord, sampleHistory, servingEntry } from '../release/record.js';
import { bakeVerdict } from '../sla/bake.js';
import { compareWithBaseline } from '../sla/evaluate.js';
import { gateTolerance, historyTolerance, repeatedScore } from '../sla/noise.js';
import { describeReading } from '../triton/metrics.js';
import { servingTargetFor } from '../triton/serving-target.js';
import { modelConfigFromVariant, renderModelConfig } from '../triton/model-config.js';
import { activitiesFor } from './activity-profiles.js';
import { abortSignal, abortUpdate, approveSignal, approveUpdate, progressQuery } from './definitions.js';
import type { ApprovalRequest, BakeResult, DeployProgress, DeployResult, EngineResult, OperatorAnswer, Outcome, RollbackEvidence, SlaEvidence, VariantResult } from '../ports/results.js';
import { clusterOf, ensureEngine, INCONCLUSIVE_RETRIES, measureAgainstSla, requireThisRun, requireValidSpec, runContextFor, type Sweep, sweepVariant } from './common.js';

export interface DeployInput {
  /** The deployment spec as JSON (validated again here: Web UI starts skip the CLI). */
  spec: unknown;
}

export async function deployTriton(input: DeployInput): Promise<DeployResult> {
  // The whole argument: a Web UI start may send none at all.
  return runDeployment(requireValidSpec(input), 'deploy');
}

/** Release records replace per-revision baselines; runs started before keep the old gate. */
export const RELEASE_RECORD_PATCH = 'release-record';

/**
 * Validation on a preview before traffic, a bake period after promotion, approvals as Updates that
 * name their run and expire: runs started before keep the in-place flow and the approval signals.
 */
export const PREVIEW_PATCH = 'validate-before-traffic';

/**
 * The deployment's chapters for a validated spec; also run by re-optimization to promote, inside
 * the workflow that holds the release's ID.
 */
export async function runDeployment(spec: DeploymentSpec, reason: PromotionReason): Promise<DeployResult> {
  const lineage = patched(RELEASE_RECORD_PATCH);
  const validatesBeforeTraffic = patched(PREVIEW_PATCH);
  const strategy = validatesBeforeTraffic ? spec.release.strategy : 'in-place';
  const info = workflowInfo();
  const run = runContextFor(spec);
  const cluster = clusterOf(spec);
  const releaseRef = { run, cluster, release: spec.release.name, namespace: spec.release.namespace };
  const previewRef = { ...releaseRef, release: previewReleaseName(spec.release.name) };
  const recordRef = { run, bucket: spec.bucket, key: releaseKeyOf(spec) };
  const act = activitiesFor(spec.target);
  const repositoryVersion = repositoryVersionFor(info.startTime, info.firstExecutionRunId);

  const progress: DeployProgress = {
    stage: null,
    stages: STAGE_NAMES.map((name) => ({ name, status: 'pending' })),
    awaitingApproval: false,
    ...(validatesBeforeTraffic ? { strategy } : {}),
    outcome: 'running',
  };
  const operator: { approval: ApprovalRequest | null; abort: ApprovalRequest | null } = { approval: null, abort: null };
  /** Set once the run undoes its work, or has promoted for good: an abort then has nothing left to stop. */
  let compensating = false;
  let promoted = false;
  const main = new CancellationScope();
  setHandler(progressQuery, () => progress);
  if (validatesBeforeTraffic) {
    const answer = (): OperatorAnswer => ({ runId: info.runId, repositoryVersion, stage: progress.stage });
    const thisRun = `workflow ${info.workflowId} is running ${info.runId} (repository version ${repositoryVersion})`;
    setHandler(
      approveUpdate,
      (request) => {
        operator.approval = request;
        return answer();
      },
      {
        validator: (request) => {
          requireThisRun(request, thisRun);
          if (!spec.approval.required) throw new Error(`nothing to approve: run ${info.runId} does not ask for approval (approval.required: false)`);
          if (!progress.awaitingApproval || compensating || operator.abort !== null) {
            throw new Error(`nothing to approve: run ${info.runId} is ${progress.outcome === 'running' ? `at stage ${progress.stage ?? 'start'}; approval is asked once validation has passed` : progress.outcome}`);
          }
        },
      },
    );
    setHandler(
      abortUpdate,
      (request) => {
        operator.abort = request;
        main.cancel();
        return answer();
      },
      {
        validator: (request) => {
          requireThisRun(request, thisRun);
          if (progress.outcome !== 'running' || compensating || operator.abort !== null) {
            throw new Error(`nothing to abort: run ${info.runId} is ${progress.outcome === 'running' ? 'already undoing its work' : progress.outcome}`);
          }
          if (promoted) throw new Error(`nothing to abort: run ${info.runId} has promoted ${repositoryVersion}; deploy the previous spec to go back`);
        },
      },
    );
  } else {
    setHandler(approveSignal, (request) => {
      operator.approval = request ?? {};
    });
    setHandler(abortSignal, (request) => {
      operator.abort = request ?? {};
      main.cancel();
    });
  }
  upsertSearchAttributes([
    { key: TRITON_MODELS, value: spec.models.map((m) => m.name) },
    { key: TRITON_TARGET, value: spec.target },
    { key: TRITON_RELEASE, value: `${spec.release.namespace}/${spec.release.name}` },
    { key: PIPELINE_OUTCOME, value: 'running' },
  ]);

  const stageOf = (name: StageName) => progress.stages.find((s) => s.name === name)!;
  async function stage<T>(name: StageName, work: () => Promise<T>, describe?: (result: T) => string): Promise<T> {
    const entry = stageOf(name);
    progress.stage = name;
    entry.status = 'running';
    entry.startedAt = new Date().toISOString();
    try {
      const result = await work();
      entry.status = 'completed';
      entry.detail = describe ? describe(result) : typeof result === 'string' ? result : undefined;
      return result;
    } catch (error) {
      entry.status = 'failed';
      entry.detail = error instanceof Error ? error.message : String(error);
      throw error;
    } finally {
      entry.endedAt = new Date().toISOString();
    }
  }

  // Saga: inverses registered before the step they undo; run newest first.
  const compensations: Array<{ name: string; undo: () => Promise<void> }> = [];
  let rollback: RollbackEvidence | null = null;
  /** Why the run failed, for the release record's rollback event. */
  let failureCause = '';
  let engines: EngineResult[] = [];
  let variants: VariantResult[] = [];
  let bake: BakeResult[] = [];
  let revision: number | undefined;
  let repositoryUri: string | undefined;
  if (strategy === 'in-place') {
    for (const name of ['preview', 'bake'] as const) Object.assign(stageOf(name), { status: 'skipped', detail: 'in-place strategy' });
  }

  async function pipeline(): Promise<void> {
    await stage('cluster', async () => {
      const created = await act.ensureCluster({ run, cluster, spec: spec.cluster });
      if (created.outcome === 'created' && spec.cluster.deleteOnFailure) {
        compensations.push({ name: 'delete the new cluster', undo: () => act.deleteCluster({ run, cluster }) });
      }
      await act.awaitClusterRunning({ run, cluster });
      const pool = await act.ensureNodePool({ run, cluster, spec: spec.nodePool });
      if (pool.outcome === 'created' && spec.cluster.deleteOnFailure) {
        compensations.push({ name: 'delete the new node pool', undo: () => act.deleteNodePool({ run, cluster, nodePool: spec.nodePool.name }) });
      }
      await act.awaitNodePoolRunning({ run, cluster, nodePool: spec.nodePool.name });
      return `cluster ${created.outcome}, node pool ${pool.outcome}`;
    });

    await stage('driver', async () => {
      const driver = await act.ensureGpuDriver({ run, cluster, nodePool: spec.nodePool });
      const gpus = await act.awaitAllocatableGpus({ run, cluster, nodePool: spec.nodePool });
      return `${driver.applied ? 'installer DaemonSet applied' : 'driver managed by GKE'}; ${gpus.gpus} GPUs on ${gpus.nodes} nodes`;
    });

    engines = await stage('engines', () => Promise.all(spec.models.map((model) => ensureEngine(spec, run, model))),
      (built) => built.map((e) => `${e.model}: ${e.cached ? 'cached' : 'built'} ${e.engineKey.slice(0, 12)}`).join(', '),
    );

    const published = await stage('repository', async () => {
      const serving = servingTargetFor(spec.target);
      const variantsToPublish = spec.models.flatMap((model) => {
        const engine = engines.find((e) => e.model === model.name)!;
        return model.variants.map((variant) => ({
          name: variant.name,
          configPbtxt: renderModelConfig(modelConfigFromVariant(model, variant, serving)),
          planUri: engine.planUri,
          modelFile: serving.modelFile,
        }));
      });
      compensations.push({
        name: 'delete unserved repository version',
        undo: async () => {
          const live = await act.describeRelease(releaseRef);
          await act.deleteRepositoryVersionIfUnserved({
            run,
            bucket: spec.bucket,
            prefix: spec.repositoryPrefix,
            version: repositoryVersion,
            servedRepositoryUri: live?.repositoryUri ?? null,
          });
        },
      });
      return act.publishRepository({ run, bucket: spec.bucket, prefix: spec.repositoryPrefix, version: repositoryVersion, variants: variantsToPublish });
    }, (p) => `${p.repositoryUri} (${p.files} files)`);
    repositoryUri = published.repositoryUri;

    const values = tritonValues(spec, published.repositoryUri, { deploymentId: run.deploymentId, repositoryVersion });
    if (strategy === 'preview') {
      const live = await stage('preview', async () => {
        await act.recoverRelease(releaseRef);
        const before = await act.describeRelease(releaseRef);
        compensations.push(removePreview);
        const preview = { ...previewRef, run: { ...run, stage: 'preview' as const } };
        await act.upgradeRelease({ ...preview, values: previewValues(values) });
        await act.awaitReleaseServing({ ...preview, repositoryUri: values.modelRepositoryPath });
        return before;
      }, () => `${previewRef.release} serves ${values.modelRepositoryPath} beside the live release, without production traffic`);
      await stage('validation', () => validate(previewRef, live), describeValidation);
      await awaitApproval();
      // Before the upgrade: the preview's GPU is the one the live release's rolling update needs.
      await removePreview.undo();
      compensations.splice(compensations.indexOf(removePreview), 1);
      await stage('release', () => promote(values), describePromotion);
      await stage('bake', bakeLiveRelease, (results) =>
        results.length === 0 ? 'no bake sweeps (release.bake.sweeps: 0)' : results.map((r) => `${r.variant} ${r.verdict.reason}`).join('; '),
      );
    } else {
      const release = await stage('release', () => promote(values), describePromotion);
      await stage('validation', () => validate(releaseRef, release.previous), describeValidation);
      await awaitApproval();
    }

    const measuredAt = new Date().toISOString();
    if (lineage) {
      await act.recordReleaseChange({
        ...recordRef,
        change: {
          kind: 'promoted',
          at: measuredAt,
          entry: {
            spec,
            repositoryVersion,
            repositoryUri: repositoryUri!,
            helmRevision: revision!,
            workflowId: info.workflowId,
            runId: info.runId,
            promotedAt: measuredAt,
            reason,
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
        revision: revision!,
        baseline: {
          revision: revision!,
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
    // Promoted: from here a failure must not undo the release.
    compensations.length = 0;
    promoted = true;

    await stage('autoscaling', () => act.enableAutoscaling({ run, cluster, spec }), (r) => {
      if (r.hpa === null) return 'HPA disabled by spec';
      // The busiest variant's reading under the validation load, scraped from Triton's /metrics.
      const reading = variants.flatMap((v) => (v.autoscaling ? [v.autoscaling] : [])).sort((a, b) => (b.desiredReplicas ?? 0) - (a.desiredReplicas ?? 0))[0];
      return `HPA ${r.hpa}${reading ? `; at the SLA load ${describeReading(reading)}` : ''}`;
    });
  }

  const removePreview = { name: 'remove the preview', undo: () => act.uninstallRelease(previewRef) };

  /** Upgrades (or installs) the live release and waits until it serves the new repository version. */
  async function promote(values: ReturnType<typeof tritonValues>): Promise<{ revision: number; previous: ReleaseState | null }> {
    // A revision a killed run left pending would hide what serves, and with it the rollback target.
    if (validatesBeforeTraffic) await act.recoverRelease(releaseRef);
    const before: ReleaseState | null = await act.describeRelease(releaseRef);
    if (before !== null && before.status === 'deployed') {
      compensations.push({ name: `roll back to revision ${before.revision}`, undo: () => rollBackTo(before) });
    } else if (before === null) {
      // Nothing served before this run: undoing the install is removing it.
      compensations.push({
        name: 'uninstall the new release',
        undo: async () => {
          await act.uninstallRelease(releaseRef);
          stageOf('release').status = 'compensated';
          stageOf('release').detail = 'first install undone (helm uninstall)';
          if (lineage) await recordRollback(null, null);
        },
      });
    }
    const upgraded = await act.upgradeRelease({ ...releaseRef, values });
    revision = upgraded.revision;
    await act.awaitReleaseServing({ ...releaseRef, repositoryUri: values.modelRepositoryPath });
    return { revision: upgraded.revision, previous: before };
  }

  function describePromotion(r: { revision: number; previous: ReleaseState | null }): string {
    return `revision ${r.revision}${r.previous ? ` (previous ${r.previous.revision})` : ''}`;
  }

  function describeValidation(vs: VariantResult[]): string {
    return vs.map((v) => `${v.variant} ${v.verdict.bestThroughput?.toFixed(0) ?? '-'} infer/s`).join(', ');
  }

  /**
   * Sweeps every variant on `target` (the preview, or the live release in place) and gates it on
   * the SLA and against what serves now (`before`).
   */
  async function validate(target: typeof releaseRef, before: ReleaseState | null): Promise<VariantResult[]> {
    const served = before?.status === 'deployed' ? before.repositoryUri : null;
    // The gate's baseline is what serves now, from the release record (legacy runs: by revision).
    const record: ReleaseRecord | null = lineage ? await act.loadReleaseRecord(recordRef) : null;
    const entry: ReleaseEntry | null = record === null ? null : servingEntry(record, served);
    // Legacy runs, and the first run after the upgrade (no record yet), read the per-revision baseline.
    const readsLegacy = before !== null && (!lineage || (record?.generation === 0 && served !== null));
    const legacy: Baseline | null = readsLegacy ? await act.loadBaseline({ run, bucket: spec.bucket, namespace: spec.release.namespace, release: spec.release.name, revision: before.revision }) : null;
    variants = [];
    // Sequential on purpose: variants share the GPU, so parallel sweeps would measure each other.
    for (const model of spec.models) {
      for (const variant of model.variants) {
        if (record !== null) {
          const sweeps = await sweepVariant(act, target, spec, model, variant.name);
          const fromLegacy = legacy?.variants.find((v) => v.variant === variant.name);
          const baseline = entry?.baselines.find((b) => b.variant === variant.name) ?? (fromLegacy ? { ...fromLegacy, samples: [] } : null);
          variants.push(gatedVariant(model, variant, sweeps, baseline, sampleHistory(record, variant.name)));
          continue;
        }
        const sweeps: Sweep[] = [];
        for (let i = 0; i < model.sla.repeats; i++) sweeps.push(await measureAgainstSla(act, target, spec, model, variant.name));
        const { points, verdict, autoscaling } = medianSweep(sweeps);
        const score = repeatedScore(sweeps.map((s) => s.verdict.bestThroughput));
        const previous = legacy?.variants.find((v) => v.variant === variant.name) ?? null;
        const baselineThroughput = previous?.bestThroughput ?? null;
        const gate = gateTolerance(score, previous, model.sla);
        variants.push({
          model: model.name,
          variant: variant.name,
          instances: variant.instances,
          maxBatchSize: variant.maxBatchSize,
          points,
          verdict,
          comparison: compareWithBaseline(sweeps.length > 1 ? score.mean : verdict.bestThroughput, baselineThroughput, gate.tolerance),
          baselineThroughput,
          ...(sweeps.length > 1 ? { repeated: { ...score, ...gate } } : {}),
          ...(autoscaling === undefined ? {} : { autoscaling }),
        });
      }
    }
    const regressed = variants.filter((v) => v.comparison.regressed);
    if (regressed.length > 0) {
      const against = entry !== null ? `the live release (record generation ${entry.generation}, ${entry.repositoryVersion})` : `revision ${before?.revision}`;
      throw ApplicationFailure.create({
        type: FailureType.SlaRegression,
        message: `performance regressed against ${against}: ${regressed.map((v) => `${v.variant} ${v.comparison.reason}`).join('; ')}`,
        nonRetryable: true,
      });
    }
    const missing = spec.models.filter((m) => !variants.some((v) => v.model === m.name && v.verdict.passed));
    if (missing.length > 0) {
      throw ApplicationFailure.create({
        type: FailureType.SlaNotMet,
        message: `SLA not met for ${missing.map((m) => `${m.name} (${variants.filter((v) => v.model === m.name).map((v) => `${v.variant}: ${v.verdict.reason}`).join('; ')})`).join(', ')}`,
        nonRetryable: true,
      });
    }
    return variants;
  }

  /** A validated run waits here for an approval that names it; unapproved, it expires and aborts. */
  async function awaitApproval(): Promise<void> {
    if (!spec.approval.required) return;
    progress.awaitingApproval = true;
    if (validatesBeforeTraffic) {
      const timeoutMs = spec.approval.timeoutSeconds * 1000;
      progress.approval = { runId: info.runId, repositoryVersion, expiresAt: new Date(Date.now() + timeoutMs).toISOString() };
      let approved: boolean;
      try {
        approved = await condition(() => operator.approval !== null, timeoutMs);
      } finally {
        progress.awaitingApproval = false;
        delete progress.approval;
      }
      if (!approved) {
        throw ApplicationFailure.create({
          type: FailureType.ApprovalExpired,
          message: `not approved within ${spec.approval.timeoutSeconds} s (approval.timeoutSeconds); aborted, ${strategy === 'preview' ? 'the preview removed and the live release unchanged' : 'what the run changed undone'}`,
          nonRetryable: true,
        });
      }
    } else {
      await condition(() => operator.approval !== null);
      progress.awaitingApproval = false;
    }
    log.info('promotion approved', { by: operator.approval?.by });
  }

  /**
   * The bake period: each variant swept on the live release at a low concurrency, against what the
   * preview measured there. A regressed sweep is measured again before it counts.
   */
  async function bakeLiveRelease(): Promise<BakeResult[]> {
    const { sweeps, tolerance: bakeTolerance } = spec.release.bake;
    if (sweeps === 0) return [];
    const results: BakeResult[] = [];
    const bakeRef = { ...releaseRef, run: { ...run, stage: 'bake' as const } };
    for (const model of spec.models) {
      for (const variant of model.variants) {
        const validated = variants.find((v) => v.variant === variant.name)!;
        const concurrency = spec.release.bake.concurrency ?? model.sla.concurrency.start;
        const tolerance = Math.max(bakeTolerance, validated.repeated?.tolerance ?? 0);
        let passed = 0;
        let remeasured = 0;
        let verdict = null;
        while (passed < sweeps && remeasured <= INCONCLUSIVE_RETRIES) {
          const atBakeLoad = { ...model, sla: { ...model.sla, concurrency: { start: concurrency, end: concurrency, step: 1 } } };
          const measured = await measureAgainstSla(act, bakeRef, spec, atBakeLoad, variant.name);
          verdict = bakeVerdict(measured.points, validated.points, concurrency, model.sla, tolerance);
          if (verdict.regressed) remeasured++;
          else passed++;
        }
        results.push({ variant: variant.name, verdict: verdict!, remeasured: verdict!.regressed ? remeasured - 1 : remeasured });
      }
    }
    // Kept before the verdict: a regression's evidence carries the bake sweeps.
    bake = results;
    const regressed = results.filter((r) => r.verdict.regressed);
    if (regressed.length > 0) {
      throw ApplicationFailure.create({
        type: FailureType.SlaRegression,
        message: `the promoted release regressed in the bake period: ${regressed.map((r) => `${r.variant} ${r.verdict.reason} (regressed in ${r.remeasured + 1} sweeps)`).join('; ')}`,
        nonRetryable: true,
      });
    }
    return results;
  }

  async function rollBackTo(target: ReleaseState): Promise<void> {
    const releaseStage = stageOf('release');
    try {
      const rolled = await act.rollbackRelease({ ...releaseRef, toRevision: target.revision });
      rollback = { toRevision: target.revision, revision: rolled.revision, verified: false, servingRepository: null };
      const serving = target.repositoryUri ?? '';
      await act.awaitReleaseServing({ ...releaseRef, repositoryUri: serving });
      rollback = { ...rollback, verified: true, servingRepository: serving };
      releaseStage.status = 'compensated';
      releaseStage.detail = `rolled back to revision ${target.revision} (now revision ${rolled.revision}), verified serving ${serving}`;
    } catch (error) {
      rollback = { toRevision: target.revision, revision: rollback?.revision ?? -1, verified: false, servingRepository: null, error: String(error) };
      throw error;
    }
    // After the verified rollback, so a failed record write never makes it look unverified (the next
    // gate still finds what serves by its repository).
    if (lineage) await recordRollback(rollback.revision, rollback.servingRepository);
  }

  /** What serves again becomes the record's live entry, so the next release is gated against it. */
  async function recordRollback(helmRevision: number | null, servingRepositoryUri: string | null): Promise<void> {
    await act.recordReleaseChange({
      ...recordRef,
      change: { kind: 'rolled-back', at: new Date().toISOString(), workflowId: info.workflowId, runId: info.runId, attemptedRepositoryVersion: repositoryVersion, helmRevision, servingRepositoryUri, cause: failureCause },
    });
  }

  async function writeReport(outcome: Outcome, failure?: string) {
    const reportStage = stageOf('report');
    reportStage.status = 'running';
    reportStage.startedAt = new Date().toISOString();
    const report = await act.writeReport({
      run,
      bucket: spec.bucket,
      report: runReport({ spec, info: { workflowId: info.workflowId, runId: info.runId }, progress, variants, revision, repositoryVersion, outcome, failure }),
    });
    reportStage.status = 'completed';
    reportStage.endedAt = new Date().toISOString();
    reportStage.detail = report.path;
    return report;
  }

  /** A preview-strategy run that failed its gate before the live release was touched. */
  function rejectedOnPreview(cause: unknown): boolean {
    return strategy === 'preview' && revision === undefined && isGateFailure(cause);
  }

  function finish(outcome: Outcome) {
    progress.outcome = outcome;
    progress.stage = null;
    upsertSearchAttributes([{ key: PIPELINE_OUTCOME, value: outcome }]);
  }

  try {
    await main.run(pipeline);
  } catch (error) {
    compensating = true;
    const abort = operator.abort;
    const expired = error instanceof ApplicationFailure && error.type === FailureType.ApprovalExpired;
    const aborted = abort !== null && isCancellation(error);
    const cause = aborted
      ? ApplicationFailure.create({
          type: FailureType.Aborted,
          message: `aborted${abort.by ? ` by ${abort.by}` : ''}${abort.reason ? `: ${abort.reason}` : ''}`,
          nonRetryable: true,
        })
      : error;
    failureCause = cause instanceof Error ? cause.message : String(cause);
    await CancellationScope.nonCancellable(async () => {
      for (const step of compensations.reverse()) {
        try {
          await step.undo();
        } catch (undoError) {
          log.error('compensation failed; continuing', { step: step.name, error: String(undoError) });
        }
      }
      const outcome: Outcome = aborted || expired ? 'aborted' : rollback?.verified ? 'rolled-back' : rejectedOnPreview(cause) ? 'rejected' : 'failed';
      finish(outcome);
      await writeReport(outcome, cause instanceof Error ? cause.message : String(cause)).catch((reportError) =>
        log.warn('report not written', { error: String(reportError) }),
      );
    });
    if (isGateFailure(cause)) {
      const evidence: SlaEvidence = { variants, rollback, ...(bake.length > 0 ? { bake } : {}) };
      const rb = rollback as RollbackEvidence | null;
      const untouched = rejectedOnPreview(cause) ? '; validated on the preview, which was removed: the live release never changed' : '';
      throw ApplicationFailure.create({
        type: cause.type,
        message: `${cause.message}${rb ? `; rolled back to revision ${rb.toRevision}${rb.verified ? ` (verified serving ${rb.servingRepository})` : ' (NOT verified)'}` : untouched}`,
        nonRetryable: true,
        details: [evidence],
      });
    }
    throw cause;
  }

  finish('succeeded');
  const report = await writeReport('succeeded');
  return {
    outcome: 'succeeded',
    release: `${spec.release.namespace}/${spec.release.name}`,
    revision: revision!,
    repositoryVersion,
    repositoryUri: repositoryUri!,
    engines,
    variants,
    ...(validatesBeforeTraffic ? { strategy, bake } : {}),
    report,
  };
}


/** A failure of the SLA gate (regression or SLA not met), whose details carry the evidence. */
function isGateFailure(cause: unknown): cause is ApplicationFailure & { type: string } {
  return cause instanceof ApplicationFailure && (cause.type === FailureType.SlaRegression || cause.type === FailureType.SlaNotMet);
}

/** The sweep shown for a variant: the median by SLA-bounded throughput. */
function medianSweep(sweeps: readonly Sweep[]): Sweep {
  return [...sweeps].sort((a, b) => (a.verdict.bestThroughput ?? 0) - (b.verdict.bestThroughput ?? 0))[Math.floor(sweeps.length / 2)]!;
}

/**
 * A variant's result under the release record's gate: the mean of its conclusive sweeps against
 * the serving entry's baseline, with the tolerance the record's noise history sets. Too few
 * conclusive sweeps fail the variant: a regression where a baseline exists, never a 0 averaged in.
 */
function gatedVariant(
  model: DeploymentSpec['models'][number],
  variant: DeploymentSpec['models'][number]['variants'][number],
  { conclusive, inconclusive }: { conclusive: Sweep[]; inconclusive: Sweep[] },
  baseline: ReleaseEntry['baselines'][number] | null,
  history: number[][],
): VariantResult {
  const samples = conclusive.map((s) => s.verdict.bestThroughput!);
  const shown = conclusive.length > 0 ? medianSweep(conclusive) : inconclusive.at(-1)!;
  const enough = samples.length >= model.sla.repeats;
  const baselineThroughput = baseline?.bestThroughput ?? null;
  const score = enough ? repeatedScore(samples) : null;
  const gate = historyTolerance(history, { current: samples, baseline: baseline?.samples.length ?? 1 }, model.sla);
  const shortfall = `inconclusive: ${samples.length} of ${model.sla.repeats} sweeps within p${model.sla.percentile} <= ${model.sla.latencyMs} ms after ${conclusive.length + inconclusive.length} (${inconclusive.map((s) => s.cutShort ? `cut short at c=${s.cutShort.concurrency}` : 'no point within the bound').join(', ')})`;
  return {
    model: model.name,
    variant: variant.name,
    instances: variant.instances,
    maxBatchSize: variant.maxBatchSize,
    points: shown.points,
    // Too few conclusive sweeps: no throughput, so none becomes the next release's baseline.
    verdict: enough ? shown.verdict : { ...shown.verdict, passed: false, bestThroughput: null, latencyMsAtBest: null, concurrencyAtBest: null, reason: shortfall },
    comparison:
      score === null
        ? { regressed: baselineThroughput !== null, change: null, reason: baselineThroughput !== null ? `${shortfall}; baseline ${baselineThroughput.toFixed(1)} infer/s` : shortfall }
        : compareWithBaseline(score.mean, baselineThroughput, gate.tolerance),
    baselineThroughput,
    sweeps: samples,
    ...(inconclusive.length > 0 ? { inconclusiveSweeps: inconclusive.length } : {}),
    ...(score !== null && model.sla.repeats > 1 ? { repeated: { ...score, tolerance: gate.tolerance, width: gate.width } } : {}),
    ...(shown.autoscaling === undefined ? {} : { autoscaling: shown.autoscaling }),
  };
}
