/**
 * The sim target: the real activity code over the simulated world (src/sim), run inside the sim
 * context of the calling deployment (speed, regression drill) and with the spec's injected faults.
 * A fault fails the first N attempts of its stage's main activity (or of the activity it names):
 * before anything is applied, or, as a lost reply, after everything was.
 * The local target runs its activities the same way (its GPU work is simulated too).
 */
import { Context } from '@temporalio/activity';
import { ApiError, type ApiErrorCode, translateError } from '../ports/errors.js';
import { type ActivityOptions, createPipelineActivities, type PipelineActivities } from '../activities/index.js';
import type { RunContext } from '../ports/run.js';
import type { Measurement, MeasureRequest } from '../activities/perf.js';
import type { FaultSpec, StageName } from '../spec/schema.js';
import { runInSimContext } from '../sim/context.js';
import { createSimWorld } from '../sim/world.js';

const STAGE_ACTIVITY: Record<StageName, keyof PipelineActivities> = {
  cluster: 'ensureCluster',
  driver: 'ensureGpuDriver',
  engines: 'buildEngine',
  repository: 'publishRepository',
  preview: 'upgradeRelease',
  validation: 'measureVariant',
  release: 'upgradeRelease',
  bake: 'measureVariant',
  autoscaling: 'enableAutoscaling',
  'load-drill': 'runLoadDrill',
  report: 'writeReport',
};

/** The workflow tags the calls of the preview and bake stages; an untagged call is its activity's own stage. */
const TAGGED_STAGES: readonly StageName[] = ['preview', 'bake'];
const UNTAGGED_STAGE: Partial<Record<string, StageName>> = Object.fromEntries(
  Object.entries(STAGE_ACTIVITY).filter(([stage]) => !TAGGED_STAGES.includes(stage as StageName)).map(([stage, activity]) => [activity, stage as StageName]),
);

type ErrorFault = Exclude<FaultSpec['kind'], 'latency-spike' | 'lost-reply'>;

const FAULT_ERRORS: Record<ErrorFault, { code: ApiErrorCode; message: string }> = {
  transient: { code: 'UNAVAILABLE', message: 'the service is currently unavailable (503)' },
  'quota-exceeded': { code: 'RESOURCE_EXHAUSTED', message: "Quota 'NVIDIA_T4_GPUS' exceeded. Limit: 0.0 in region" },
  'permission-denied': { code: 'PERMISSION_DENIED', message: 'the caller does not have permission (403)' },
  'invalid-argument': { code: 'INVALID_ARGUMENT', message: 'invalid argument (400)' },
};

/**
 * Whether a fault aims at this call: an activity fault at that activity; a stage fault at its
 * stage's main activity, called in that stage (run.stage, or the activity's own stage).
 */
function aimsAt(fault: FaultSpec, activity: string, run: RunContext): boolean {
  if (fault.activity !== undefined) return fault.activity === activity;
  if (fault.stage === undefined || STAGE_ACTIVITY[fault.stage] !== activity) return false;
  return (run.stage ?? UNTAGGED_STAGE[activity]) === fault.stage;
}


function describeTarget(fault: FaultSpec): string {
  return fault.activity !== undefined ? `activity ${fault.activity}` : `stage ${fault.stage}`;
}

/** Before the call: an error fault fails the first `times` attempts, nothing applied. */
function injectFault(activity: string, run: RunContext, attempt: number): void {
  const fault = run.simulation?.faults.find((f) => f.kind in FAULT_ERRORS && aimsAt(f, activity, run));
  if (fault === undefined || attempt > fault.times) return;
  const { code, message } = FAULT_ERRORS[fault.kind as ErrorFault];
  translateError(
    new ApiError(code, `${message} [simulated fault on ${describeTarget(fault)}, attempt ${attempt} of ${fault.times} failing]`),
    activity,
  );
}

/**
 * After the call: a lost reply. The activity applied everything, then the connection dropped
 * before its answer came back, so the attempt fails with a transient error and is retried: what
 * the retry does again must not be applied twice.
 */
function loseReply(activity: string, run: RunContext, attempt: number): void {
  const fault = run.simulation?.faults.find((f) => f.kind === 'lost-reply' && aimsAt(f, activity, run));
  if (fault === undefined || attempt > fault.times) return;
  translateError(
    new ApiError(
      'UNAVAILABLE',
      `read ECONNRESET: connection reset by peer after the request was sent; its reply was lost [simulated lost reply on ${describeTarget(fault)}, attempt ${attempt} of ${fault.times}]`,
    ),
    activity,
  );
}

/**
 * A latency spike: the sweep ran, but a noisy neighbour pushed every latency 100x, and at least to
 * twice the SLA's bound (a fast server's 1 ms times 100 would still be within a 200 ms bound), so no
 * point lies within it. Counted per workflow run and variant in this worker process.
 */
function withLatencySpike(measurement: Measurement, request: Pick<MeasureRequest, 'run' | 'sla'>, spikes: Map<string, number>, runKey: string): Measurement {
  const { run } = request;
  const fault = run.simulation?.faults.find((f) => f.kind === 'latency-spike' && aimsAt(f, 'measureVariant', run));
  if (fault === undefined) return measurement;
  const key = `${runKey}/${describeTarget(fault)}/${measurement.variant}`;
  const seen = spikes.get(key) ?? 0;
  if (seen >= fault.times) return measurement;
  spikes.set(key, seen + 1);
  const floorUs = 2 * request.sla.latencyMs * 1000;
  const spiked = (us: number) => Math.max(us * 100, floorUs);
  return {
    ...measurement,
    points: measurement.points.map((p) => ({ ...p, latencyUs: { avg: spiked(p.latencyUs.avg), p50: spiked(p.latencyUs.p50), p90: spiked(p.latencyUs.p90), p95: spiked(p.latencyUs.p95), p99: spiked(p.latencyUs.p99) } })),
  };
}

/** Each activity run inside the calling deployment's simulation settings, faults injected around it. */
export function withSimulation(activities: PipelineActivities): PipelineActivities {
  const spikes = new Map<string, number>();
  const wrapped = Object.entries(activities).map(([name, activity]) => {
    const run = async (input: { run: RunContext }) => {
      const simulation = input.run.simulation;
      const context = { deploymentId: input.run.deploymentId, speed: simulation?.speed ?? 0, regression: simulation?.regression ?? 0 };
      return runInSimContext(context, async () => {
        const { attempt, workflowExecution } = Context.current().info;
        injectFault(name, input.run, attempt);
        const result = await (activity as (input: unknown) => Promise<unknown>)(input);
        loseReply(name, input.run, attempt);
        if (name !== 'measureVariant') return result;
        return withLatencySpike(result as Measurement, input as MeasureRequest, spikes, workflowExecution?.runId ?? input.run.deploymentId);
      });
    };
    return [name, run];
  });
  return Object.fromEntries(wrapped) as PipelineActivities;
}

export function createSimActivities(stateDir: string, options: ActivityOptions): PipelineActivities {
  return withSimulation(createPipelineActivities(createSimWorld({ stateDir }).clients(), options));
}
