/**
 * The run report's data: what `runReport` builds from a run's progress and the page renders.
 * Types only, so orchestration code can share them without pulling in the renderer.
 */
import type { LoadDrillResult } from '../plan/load-drill.js';
import type { PerfPoint } from '../triton/perf-types.js';

export interface ReportStage {
  name: string;
  status: 'pending' | 'running' | 'completed' | 'skipped' | 'failed' | 'compensated';
  /** ISO timestamp. */
  startedAt?: string;
  /** ISO timestamp. */
  endedAt?: string;
  detail?: string;
  attempts?: number;
}

export interface ReportVariant {
  model: string;
  variant: string;
  instances: number;
  maxBatchSize: number;
  points: PerfPoint[];
  sla: { latencyMs: number; percentile: 50 | 90 | 95 | 99; minThroughput: number };
  verdict: { passed: boolean; bestThroughput: number | null; latencyMsAtBest: number | null; reason: string };
  baselineThroughput?: number | null;
  /** The autoscaling metric read from Triton's /metrics over the sweep, described. */
  autoscaling?: string;
}

export interface RunReport {
  title: string;
  workflowId: string;
  runId: string;
  target: string;
  release: string;
  revision?: number;
  repositoryVersion?: string;
  outcome: 'succeeded' | 'failed' | 'rolled-back' | 'rejected' | 'aborted';
  failure?: string;
  generatedAt: string;
  stages: ReportStage[];
  variants: ReportVariant[];
  simulated: boolean;
  notes: string[];
  /** The autoscaling chapter's load drill, where the run held one. */
  loadDrill?: LoadDrillResult;
}
