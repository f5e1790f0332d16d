/** The report's data from a run's progress and measurements. Pure (the activity renders and writes it). */
import type { LoadDrillResult } from '../plan/load-drill.js';
import type { RunReport } from './types.js';
import type { DeploymentSpec } from '../spec/schema.js';
import { describeReading } from '../triton/metrics.js';
import type { DeployProgress, Outcome, VariantResult } from '../ports/results.js';

export interface RunReportInput {
  spec: DeploymentSpec;
  info: { workflowId: string; runId: string };
  progress: DeployProgress;
  variants: VariantResult[];
  revision: number | undefined;
  repositoryVersion: string;
  outcome: Outcome;
  failure?: string;
  loadDrill?: LoadDrillResult;
}

export function runReport(input: RunReportInput): RunReport {
  const { spec, progress } = input;
  const simulated = spec.target === 'sim';
  const generatedAt = new Date().toISOString();
  return {
    title: `Triton deployment ${spec.release.namespace}/${spec.release.name} on ${spec.target}`,
    workflowId: input.info.workflowId,
    runId: input.info.runId,
    target: spec.target,
    release: `${spec.release.namespace}/${spec.release.name}`,
    ...(input.revision === undefined ? {} : { revision: input.revision }),
    repositoryVersion: input.repositoryVersion,
    outcome: input.outcome === 'running' ? 'failed' : input.outcome,
    ...(input.failure === undefined ? {} : { failure: input.failure }),
    generatedAt,
    // The report stage is writing this very page: show it as done now.
    stages: progress.stages.map((s) => (s.name === 'report' && s.status === 'running' ? { ...s, status: 'completed', endedAt: generatedAt, detail: 'this report' } : { ...s })),
    variants: input.variants.map((v) => {
      const model = spec.models.find((m) => m.name === v.model)!;
      return {
        model: v.model,
        variant: v.variant,
        instances: v.instances,
        maxBatchSize: v.maxBatchSize,
        points: v.points,
        sla: { latencyMs: model.sla.latencyMs, percentile: model.sla.percentile, minThroughput: model.sla.minThroughput },
        verdict: v.verdict,
        baselineThroughput: v.baselineThroughput,
        ...(v.autoscaling === undefined ? {} : { autoscaling: describeReading(v.autoscaling) }),
      };
    }),
    simulated,
    ...(input.loadDrill === undefined ? {} : { loadDrill: input.loadDrill }),
    notes: simulated
      ? ['Target "sim": GKE, the T4 GPUs, Helm, GCS and perf_analyzer are simulated; performance follows a model calibrated on the sample\'s measured T4 tables.']
      : [],
  };
}
