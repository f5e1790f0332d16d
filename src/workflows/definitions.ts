/** Messages and shared shapes of the workflows (clients import these too). */
import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { BuiltEngine, ResolvedEngine } from '../activities/engines.js';
import type { StageName } from '../spec/schema.js';
import type { BaselineComparison, SlaVerdict } from '../sla/evaluate.js';
import type { RepeatedScore } from '../sla/noise.js';
import type { AutoscalingReading } from '../triton/metrics.js';
import type { PerfPoint } from '../triton/perf-types.js';

export type StageStatus = 'pending' | 'running' | 'completed' | 'skipped' | 'failed' | 'compensated';
export type Outcome = 'running' | 'succeeded' | 'failed' | 'rolled-back' | 'aborted';

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
}

export type EngineResult = (ResolvedEngine | BuiltEngine) & { model: string };

export interface DeployResult {
  outcome: 'succeeded';
  release: string;
  revision: number;
  repositoryVersion: string;
  repositoryUri: string;
  engines: EngineResult[];
  variants: VariantResult[];
  report: { path: string; uri: string } | null;
}

export interface ApprovalRequest {
  by?: string;
  comment?: string;
  reason?: string;
}

export const progressQuery = defineQuery<DeployProgress>('progress');
export const approveSignal = defineSignal<[ApprovalRequest?]>('approve');
export const abortSignal = defineSignal<[ApprovalRequest?]>('abort');
