/**
 * Child workflow of re-optimization: one serving config of one model variant, published as its own
 * repository version, served by the canary release and measured against the model's SLA.
 */
import { patched } from '@temporalio/workflow';
import type { ReleaseRef } from '../ports/run.js';
import { FailureType, permanentFailure } from '../ports/errors.js';
import { tritonValues } from '../plan/helm-values.js';
import { servingTargetFor } from '../triton/serving-target.js';
import type { ServingCandidate } from '../search/config-search.js';
import { type SlaVerdict, throughputAtBound } from '../sla/evaluate.js';
import type { SweepWindow } from '../plan/jobs.js';
import type { SweepSpan } from '../sla/sweep-span.js';
import { latencyAt } from '../triton/perf-types.js';
import type { DeploymentSpec } from '../spec/schema.js';
import { specInCurrentForm } from '../spec/legacy.js';
import { CANDIDATE_INPUT_SHAPE, CandidateInputSchema, invalidInputMessage, isPlainObject, validateWorkflowInput } from '../spec/validate.js';
import { modelConfigFromVariant, renderModelConfig } from '../triton/model-config.js';
import { activitiesFor } from './activity-profiles.js';
import type { Sweep } from '../sla/gate.js';
import { INCONCLUSIVE_RETRIES, isConclusive, measureAgainstSla, placementGpus } from './common.js';

export interface MeasureCandidateInput {
  /** The validated spec of the re-optimization run. */
  spec: DeploymentSpec;
  canary: ReleaseRef;
  model: string;
  variant: string;
  /** The serving config to measure; absent: the variant exactly as the spec serves it (the incumbent). */
  candidate?: ServingCandidate;
  /** The repository version to publish it as. */
  version: string;
  planUri: string;
  /** Sweeps of the served config (default 1). */
  sweeps?: number;
  /** perf_analyzer's windows: `screen` for the search's short first look (default full). */
  window?: SweepWindow;
  /** How much of the SLA's concurrency range each sweep measures (default the whole). */
  span?: SweepSpan;
}

export interface CandidateMeasurement {
  /** SLA-bounded throughput of the first sweep if it passed the SLA, else null. */
  score: number | null;
  /** Each sweep's SLA-bounded throughput if it was conclusive and passed, else null. */
  samples: (number | null)[];
  /**
   * Each sweep's throughput at the latency bound (interpolated between concurrencies: what the
   * search ranks by), null where the sweep was inconclusive or failed the SLA.
   */
  atBound?: (number | null)[];
  /** The first sweep's latency at the range's lowest concurrency (µs, the SLA's percentile), where it swept that: a request that never queues. */
  idleLatencyUs?: number;
  /** The last sweep's verdict. */
  verdict: SlaVerdict;
  repositoryUri: string;
}

/** Candidates' inconclusive sweeps are measured again; runs started before count them as measured. */
export const REMEASURE_INCONCLUSIVE_PATCH = 'remeasure-inconclusive-candidate-sweeps';

export async function measureServingCandidate(input: MeasureCandidateInput): Promise<CandidateMeasurement> {
  // Re-optimization passes the spec of record, which may predate today's model fields.
  const checked = validateWorkflowInput(CandidateInputSchema, CANDIDATE_INPUT_SHAPE, isPlainObject(input) ? { ...input, spec: specInCurrentForm(input['spec']) } : input);
  if (!checked.ok) throw permanentFailure(FailureType.InvalidSpec, invalidInputMessage('invalid candidate input', checked.errors), checked.errors);
  const { spec, canary, candidate } = input;
  const { run } = canary;
  const act = activitiesFor(spec.target);
  const model = spec.models.find((m) => m.name === input.model)!;
  const variant = model.variants.find((v) => v.name === input.variant)!;
  const serving = servingTargetFor(spec.target);
  const served = candidate === undefined
    ? variant
    : {
        ...variant,
        instances: candidate.instances,
        maxBatchSize: candidate.maxBatchSize,
        dynamicBatching: { preferredBatchSizes: candidate.preferredBatchSizes, maxQueueDelayMicroseconds: candidate.maxQueueDelayMicroseconds },
      };
  const configPbtxt = renderModelConfig(modelConfigFromVariant(model, served, serving, placementGpus(spec)));
  const published = await act.publishRepository({
    run,
    bucket: spec.bucket,
    prefix: spec.repositoryPrefix,
    version: input.version,
    variants: [{ name: variant.name, configPbtxt, planUri: input.planUri, modelFile: serving.modelFile }],
  });
  const values = tritonValues({ ...spec, release: { ...spec.release, replicas: 1 } }, published.repositoryUri, { deploymentId: run.deploymentId, repositoryVersion: input.version });
  values.models = [variant.name];
  await act.upgradeRelease({ ...canary, values });
  await act.awaitReleaseServing({ ...canary, repositoryUri: published.repositoryUri });
  // As the deployment's gate does: an inconclusive sweep (a stall, perf_analyzer giving up) is
  // measured again, up to INCONCLUSIVE_RETRIES times, before it counts as one.
  const remeasures = patched(REMEASURE_INCONCLUSIVE_PATCH) ? INCONCLUSIVE_RETRIES : 0;
  const sweeps: Sweep[] = [];
  let remeasured = 0;
  while (sweeps.length < (input.sweeps ?? 1)) {
    const sweep = await measureAgainstSla(act, canary, spec, model, variant.name, input.window, input.span);
    if (!isConclusive(sweep) && remeasured < remeasures) remeasured++;
    else sweeps.push(sweep);
  }
  const passed = (s: Sweep) => isConclusive(s) && s.verdict.passed;
  const samples = sweeps.map((s) => (passed(s) ? s.verdict.bestThroughput : null));
  const atBound = sweeps.map((s) => (passed(s) ? throughputAtBound(s.points, model.sla) : null));
  // Only a sweep from the range's start measured a request that never queues.
  const idle = sweeps[0]!.points.find((p) => p.concurrency === model.sla.concurrency.start);
  return {
    score: samples[0]!,
    samples,
    atBound,
    ...(idle === undefined ? {} : { idleLatencyUs: latencyAt(idle, model.sla.percentile) }),
    verdict: sweeps.at(-1)!.verdict,
    repositoryUri: published.repositoryUri,
  };
}
