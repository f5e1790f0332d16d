/**
 * One deployment run's state, shared by its stage functions: what it targets, the saga's inverses,
 * what it has measured, and the progress its query answers. Also the bookkeeping every stage does.
 */
import { CancellationScope, upsertSearchAttributes, workflowInfo, type WorkflowInfo } from '@temporalio/workflow';
import type { ReleaseRecordRef } from '../activities/release-record.js';
import type { ApprovalRequest, BakeResult, DeployProgress, EngineResult, Outcome, RollbackEvidence, VariantResult } from '../ports/results.js';
import type { ReleaseRef, RunContext } from '../ports/run.js';
import type { ClusterRef } from '../ports/systems.js';
import { previewReleaseName } from '../plan/helm-values.js';
import type { LoadDrillResult } from '../plan/load-drill.js';
import { helmWait } from '../plan/helm-wait.js';
import { repositoryVersionFor } from '../plan/ids.js';
import { type PromotionReason, releaseKeyOf } from '../release/record.js';
import { runReport } from '../report/run-report.js';
import { type DeploymentSpec, STAGE_NAMES, type StageName } from '../spec/schema.js';
import { PIPELINE_OUTCOME, TRITON_MODELS, TRITON_RELEASE, TRITON_TARGET } from '../temporal/search-attributes.js';
import { activitiesFor } from './activity-profiles.js';
import { clusterOf, runContextFor } from './common.js';

export interface Compensation {
  name: string;
  undo: () => Promise<void>;
}

/** Which of the workflow's patches this run takes (patched() answers once, at the start). */
export interface DeployPatches {
  /** The gate reads the release record, and promotions and rollbacks write it. */
  lineage: boolean;
  /** A preview is validated before traffic, with a bake period; approvals are Updates. */
  validatesBeforeTraffic: boolean;
}

export interface DeployRun extends DeployPatches {
  spec: DeploymentSpec;
  reason: PromotionReason;
  strategy: 'preview' | 'in-place';
  info: WorkflowInfo;
  run: RunContext;
  cluster: ClusterRef;
  releaseRef: ReleaseRef;
  previewRef: ReleaseRef;
  recordRef: ReleaseRecordRef;
  act: ReturnType<typeof activitiesFor>;
  repositoryVersion: string;
  progress: DeployProgress;
  operator: { approval: ApprovalRequest | null; abort: ApprovalRequest | null };
  /** Set once the run undoes its work, or has promoted for good: an abort then has nothing left to stop. */
  compensating: boolean;
  promoted: boolean;
  /** The pipeline's scope: an abort cancels it. */
  main: CancellationScope;
  /** Saga: inverses registered before the step they undo; run newest first. */
  compensations: Compensation[];
  /** The preview's inverse; run early, and dropped from the saga, before the live release is upgraded. */
  removePreview: Compensation;
  rollback: RollbackEvidence | null;
  /** Why the run failed, for the release record's rollback event. */
  failureCause: string;
  engines: EngineResult[];
  variants: VariantResult[];
  bake: BakeResult[];
  revision?: number;
  repositoryUri?: string;
  loadDrill?: LoadDrillResult;
}

export function startRun(spec: DeploymentSpec, reason: PromotionReason, patches: DeployPatches): DeployRun {
  const strategy = patches.validatesBeforeTraffic ? spec.release.strategy : 'in-place';
  const info = workflowInfo();
  const run = runContextFor(spec);
  const cluster = clusterOf(spec);
  const releaseRef = { run, cluster, release: spec.release.name, namespace: spec.release.namespace, helmWaitSeconds: helmWait(spec).seconds };
  const previewRef = { ...releaseRef, release: previewReleaseName(spec.release.name) };
  const act = activitiesFor(spec.target);
  const progress: DeployProgress = {
    stage: null,
    stages: STAGE_NAMES.map((name) => ({ name, status: 'pending' })),
    awaitingApproval: false,
    ...(patches.validatesBeforeTraffic ? { strategy } : {}),
    outcome: 'running',
  };
  if (strategy === 'in-place') {
    for (const skipped of progress.stages.filter((s) => s.name === 'preview' || s.name === 'bake')) Object.assign(skipped, { status: 'skipped', detail: 'in-place strategy' });
  }
  if (spec.autoscaling.loadDrill === undefined) Object.assign(progress.stages.find((s) => s.name === 'load-drill')!, { status: 'skipped', detail: 'not asked for (autoscaling.loadDrill)' });
  return {
    ...patches,
    spec,
    reason,
    strategy,
    info,
    run,
    cluster,
    releaseRef,
    previewRef,
    recordRef: { run, bucket: spec.bucket, key: releaseKeyOf(spec) },
    act,
    repositoryVersion: repositoryVersionFor(info.startTime, info.firstExecutionRunId),
    progress,
    operator: { approval: null, abort: null },
    compensating: false,
    promoted: false,
    main: new CancellationScope(),
    compensations: [],
    removePreview: { name: 'remove the preview', undo: () => act.uninstallRelease(previewRef) },
    rollback: null,
    failureCause: '',
    engines: [],
    variants: [],
    bake: [],
  };
}

/** Makes the run findable in the Web UI by model, target and release; its outcome follows. */
export function publishSearchAttributes({ spec }: DeployRun): void {
  upsertSearchAttributes([
    { key: TRITON_MODELS, value: spec.models.map((m) => m.name) },
    { key: TRITON_TARGET, value: spec.target },
    { key: TRITON_RELEASE, value: `${spec.release.namespace}/${spec.release.name}` },
    { key: PIPELINE_OUTCOME, value: 'running' },
  ]);
}

export function stageOf({ progress }: DeployRun, name: StageName) {
  return progress.stages.find((s) => s.name === name)!;
}

/** Runs one stage's work, keeping its progress entry (status, times, a one-line detail). */
export async function stage<T>(deploy: DeployRun, name: StageName, work: () => Promise<T>, describe?: (result: T) => string): Promise<T> {
  const entry = stageOf(deploy, name);
  deploy.progress.stage = name;
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

export function finish({ progress }: DeployRun, outcome: Outcome): void {
  progress.outcome = outcome;
  progress.stage = null;
  upsertSearchAttributes([{ key: PIPELINE_OUTCOME, value: outcome }]);
}

/** The report stage, written after finish() however the run ended (so not through stage(): the run is at no stage). */
export async function writeReport(deploy: DeployRun, outcome: Outcome, failure?: string) {
  const { act, run, spec, info, progress, variants, revision, repositoryVersion } = deploy;
  const reportStage = stageOf(deploy, 'report');
  reportStage.status = 'running';
  reportStage.startedAt = new Date().toISOString();
  const report = await act.writeReport({
    run,
    bucket: spec.bucket,
    report: runReport({ spec, info: { workflowId: info.workflowId, runId: info.runId }, progress, variants, revision, repositoryVersion, outcome, failure, ...(deploy.loadDrill === undefined ? {} : { loadDrill: deploy.loadDrill }) }),
  });
  reportStage.status = 'completed';
  reportStage.endedAt = new Date().toISOString();
  reportStage.detail = report.path;
  return report;
}
