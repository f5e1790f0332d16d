/** Steps both workflows take: validating their JSON input, and building (or finding) a model's engine. */
import { ApplicationFailure, executeChild, patched, workflowInfo } from '@temporalio/workflow';
import type { ReleaseRef, RunContext } from '../ports/run.js';
import type { ClusterRef } from '../ports/systems.js';
import { FailureType } from '../ports/errors.js';
import { engineBuilderImageFor, type SweepWindow } from '../plan/jobs.js';
import { evaluateSla } from '../sla/evaluate.js';
import { pointsOf, type SweepSpan, sweepSpan } from '../sla/sweep-span.js';
import type { Sweep, VariantSweeps } from '../sla/gate.js';
import type { DeploymentSpec, ModelSpec } from '../spec/schema.js';
import { autoscalingReading } from '../triton/metrics.js';
import type { activitiesFor } from './activity-profiles.js';
import { specInCurrentForm } from '../spec/legacy.js';
import { invalidInputMessage, isPlainObject, validateDeployInput } from '../spec/validate.js';
import type { EngineResult } from '../ports/results.js';
import { buildModelEngine } from './engine-build.js';

/** Engine builds are one ONNX builder: specs name format transformers and calibration. */
export const ONE_ONNX_BUILDER_PATCH = 'one-onnx-builder';

/**
 * The spec from a deployment's whole argument, `{"spec": {...}}`, validated here too: runs started
 * from the Web UI or a Schedule skip the CLI. Any other input (none, `null`, a string, `{}`) fails
 * the run at once as InvalidSpec, never as a TypeError (which would retry the workflow task forever).
 */
export function requireValidSpec(input: unknown): DeploymentSpec {
  // Runs started before one ONNX builder replay with their spec in today's form.
  const current = patched(ONE_ONNX_BUILDER_PATCH);
  const validation = validateDeployInput(current || !isPlainObject(input) ? input : { ...input, spec: specInCurrentForm(input['spec']) });
  if (!validation.ok) {
    throw ApplicationFailure.create({
      type: FailureType.InvalidSpec,
      message: invalidInputMessage('invalid deployment spec', validation.errors),
      nonRetryable: true,
      details: [validation.errors],
    });
  }
  return validation.spec;
}

/** Instances on every GPU of a pod with several (config.pbtxt without `gpus`); runs started before keep device 0 only. */
export const MULTI_GPU_PLACEMENT_PATCH = 'multi-gpu-placement';

/** The GPUs each variant's config.pbtxt places its instances on: the pod's, for runs that render it so. */
export function placementGpus(spec: DeploymentSpec): number {
  return spec.nodePool.acceleratorCount > 1 && patched(MULTI_GPU_PLACEMENT_PATCH) ? spec.nodePool.acceleratorCount : 1;
}

export function runContextFor(spec: DeploymentSpec): RunContext {
  return { deploymentId: workflowInfo().workflowId, ...(spec.simulation ? { simulation: spec.simulation } : {}) };
}

export function clusterOf(spec: DeploymentSpec): ClusterRef {
  return { project: spec.project, zone: spec.zone, cluster: spec.cluster.name };
}

/** A child workflow per model; it returns at once when an engine with the same content hash exists. */
export function ensureEngine(spec: DeploymentSpec, run: RunContext, model: ModelSpec): Promise<EngineResult> {
  return executeChild(buildModelEngine, {
    workflowId: `${workflowInfo().workflowId}/engine/${model.name}`,
    args: [
      {
        target: spec.target,
        request: {
          run,
          cluster: clusterOf(spec),
          bucket: spec.bucket,
          model,
          tensorrtImage: engineBuilderImageFor(spec),
          nodePool: spec.nodePool.name,
          acceleratorType: spec.nodePool.acceleratorType,
        },
      },
    ],
  });
}

/**
 * A perf_analyzer sweep of one variant on a release, judged against its model's SLA: over the
 * whole concurrency range, or (`upper`) from its top, as src/sla/sweep-span.ts says.
 */
export async function measureAgainstSla(
  act: ReturnType<typeof activitiesFor>,
  release: ReleaseRef,
  spec: DeploymentSpec,
  model: ModelSpec,
  variant: string,
  window: SweepWindow = 'full',
  span: SweepSpan = 'whole',
): Promise<Sweep> {
  const parts = await sweepSpan(model.sla.concurrency, span, model.sla, (concurrency) =>
    act.measureVariant({
      ...release,
      variant,
      ...(window === 'screen' ? { window } : {}),
      tritonImage: spec.release.image,
      gpuNodePool: spec.nodePool.name,
      sla: { ...model.sla, concurrency },
      shapes: model.inputs,
    }),
  );
  const points = pointsOf(parts);
  const cutShort = parts.find((m) => m.cutShort !== undefined)?.cutShort;
  const verdict = evaluateSla(points, model.sla);
  // The load of the highest concurrencies: the first sweep's.
  const load = parts[0]!.serverMetrics;
  return {
    points,
    verdict,
    ...(cutShort === undefined ? {} : { cutShort }),
    ...(load === undefined || verdict.bestThroughput === null
      ? {}
      : { autoscaling: autoscalingReading(spec.autoscaling, load, verdict.bestThroughput / model.sla.batchSize) }),
  };
}

/** Extra sweeps an inconclusive one may cost a variant before it fails. */
export const INCONCLUSIVE_RETRIES = 2;

/** Conclusive: a point within the SLA's latency bound, and perf_analyzer finished the sweep. */
export function isConclusive(sweep: Sweep): boolean {
  return sweep.verdict.bestThroughput !== null && sweep.cutShort === undefined;
}

/**
 * `repeats` conclusive sweeps of a variant (or fewer, if it stays inconclusive): an inconclusive
 * sweep is measured again, never counted as a throughput of 0.
 */
export async function sweepVariant(
  act: ReturnType<typeof activitiesFor>,
  release: ReleaseRef,
  spec: DeploymentSpec,
  model: ModelSpec,
  variant: string,
  repeats = model.sla.repeats,
): Promise<VariantSweeps> {
  const conclusive: Sweep[] = [];
  const inconclusive: Sweep[] = [];
  while (conclusive.length < repeats && inconclusive.length <= INCONCLUSIVE_RETRIES) {
    const sweep = await measureAgainstSla(act, release, spec, model, variant);
    (isConclusive(sweep) ? conclusive : inconclusive).push(sweep);
  }
  return { conclusive, inconclusive };
}

/**
 * An approve or abort names the run it acts on (Updates reach a workflow ID's current run, and a
 * release's ID is reused by every deployment of it): anything else is refused, changing nothing.
 */
export function requireThisRun(request: { runId?: unknown } | undefined, describe: string): void {
  const { runId } = workflowInfo();
  if (typeof request?.runId !== 'string' || request.runId === '') {
    throw new Error(`name the run to act on: {"runId": "${runId}", "by": "..."}`);
  }
  if (request.runId !== runId) {
    throw new Error(`run ${request.runId} is not this run: ${describe}; nothing was changed`);
  }
}
