/** What the workflows report: progress, results and the operator's messages (clients read them too). */
import type { BuiltEngine, ResolvedEngine } from './run.js';
import type { LoadDrillResult } from '../plan/load-drill.js';
import type { StageName } from '../spec/schema.js';
import type { BakeVerdict } from '../sla/bake.js';
import type { BaselineComparison, SlaVerdict } from '../sla/evaluate.js';
import type { RepeatedScore } from '../sla/noise.js';
import type { AutoscalingReading } from '../triton/metrics.js';
import type { PerfPoint } from '../triton/perf-types.js';

export type StageStatus = 'pending' | 'running' | 'completed' | 'skipped' | 'failed' | 'compensated';

/** rejected: the preview failed validation and was removed; the live release never changed. */
export type Outcome = 'running' | 'succeeded' | 'failed' | 'rolled-back' | 'rejected' | 'aborted';

export interface StageProgress {
  name: StageName;
  status: StageStatus;
  startedAt?: string;
  endedAt?: string;
  detail?: string;
}

export interface DeployProgress {
  stage: StageName | null;
  stages: StageProgress[];
  awaitingApproval: boolean;
  /** While awaiting approval: what an approve must name, and when the wait expires. */
  approval?: { runId: string; repositoryVersion: string; expiresAt: string };
  /** preview: validated beside the live release before it takes traffic; in-place: validated live. */
  strategy?: 'preview' | 'in-place';
  outcome: Outcome;
}

export interface VariantResult {
  model: string;
  variant: string;
  instances: number;
  maxBatchSize: number;
  points: PerfPoint[];
  verdict: SlaVerdict;
  comparison: BaselineComparison;
  baselineThroughput: number | null;
  /** Each conclusive sweep's SLA-bounded throughput (release-record runs). */
  sweeps?: number[];
  /** Sweeps measured again: no point within the SLA, or cut short by perf_analyzer. */
  inconclusiveSweeps?: number;
  /** With repeated sweeps: their mean and noise, and the tolerance the gate used. */
  repeated?: RepeatedScore & { tolerance: number; width: number | null };
  /** The HPA metric read from Triton's /metrics over the sweep, at the SLA operating point. */
  autoscaling?: AutoscalingReading;
}

export type VariantSummary = Omit<VariantResult, 'points'>;

export interface RollbackEvidence {
  toRevision: number;
  revision: number;
  verified: boolean;
  servingRepository: string | null;
  error?: string;
}

/** Details of an SlaRegression / SlaNotMet failure. */
export interface SlaEvidence {
  variants: VariantResult[];
  rollback: RollbackEvidence | null;
  /** The bake period's sweeps, when the promoted release regressed there. */
  bake?: BakeResult[];
}

export type EngineResult = (ResolvedEngine | BuiltEngine) & { model: string };

export interface DeployResult {
  outcome: 'succeeded';
  release: string;
  revision: number;
  repositoryVersion: string;
  repositoryUri: string;
  engines: EngineResult[];
  /** Each variant's verdicts; its perf points are in the report's data (report.dataUri). */
  variants: VariantSummary[];
  strategy?: 'preview' | 'in-place';
  bake?: BakeResult[];
  /** The load drill's timeline and timings, where the spec asked for one. */
  loadDrill?: LoadDrillResult;
  report: { path: string; uri: string; dataUri?: string } | null;
}

export interface ApprovalRequest {
  by?: string;
  comment?: string;
  reason?: string;
}

/** The outcome of a bake-period sweep of the promoted live release, per variant. */
export interface BakeResult {
  variant: string;
  verdict: BakeVerdict;
  /** Sweeps measured again after a regressed one (a transient neighbour must not roll back). */
  remeasured: number;
}

/** An operator's approve or abort: it names the run it acts on, so it can never act on another. */
export interface OperatorRequest {
  runId: string;
  by?: string;
  comment?: string;
  reason?: string;
}

export interface OperatorAnswer {
  runId: string;
  repositoryVersion: string;
  stage: StageName | null;
}
