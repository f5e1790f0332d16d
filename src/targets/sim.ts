/**
 * The sim target: the real activity code over the simulated world (src/sim), run inside the sim
 * context of the calling deployment (speed, regression drill) and with the spec's injected faults.
 * A fault fails the first N attempts of its stage's main activity, before anything is applied.
 * The local target runs its activities the same way (its GPU work is simulated too).
 */
import { Context } from '@temporalio/activity';
import { translateError } from '../activities/errors.js';
import { createPipelineActivities, type ActivityOptions, type PipelineActivities } from '../activities/index.js';
import type { RunContext } from '../activities/context.js';
import type { Measurement } from '../activities/perf.js';
import { ApiError, type ApiErrorCode } from '../activities/ports.js';
import type { FaultSpec, SimulationSpec, StageName } from '../spec/schema.js';
import { runInSimContext } from '../sim/context.js';
import { createSimWorld } from '../sim/world.js';

const STAGE_ACTIVITY: Record<StageName, keyof PipelineActivities> = {
  cluster: 'ensureCluster',
  driver: 'ensureGpuDriver',
  engines: 'buildEngine',
  repository: 'publishRepository',
  release: 'upgradeRelease',
  validation: 'measureVariant',
  autoscaling: 'enableAutoscaling',
  report: 'writeReport',
};

type ErrorFault = Exclude<FaultSpec['kind'], 'latency-spike'>;

const FAULT_ERRORS: Record<ErrorFault, { code: ApiErrorCode; message: string }> = {
  transient: { code: 'UNAVAILABLE', message: 'the service is currently unavailable (503)' },
  'quota-exceeded': { code: 'RESOURCE_EXHAUSTED', message: "Quota 'NVIDIA_T4_GPUS' exceeded. Limit: 0.0 in region" },
  'permission-denied': { code: 'PERMISSION_DENIED', message: 'the caller does not have permission (403)' },
  'invalid-argument': { code: 'INVALID_ARGUMENT', message: 'invalid argument (400)' },
};

function injectFault(activity: string, simulation: SimulationSpec | undefined, attempt: number): void {
  const fault = simulation?.faults.find((f) => STAGE_ACTIVITY[f.stage] === activity);
  if (fault === undefined || fault.kind === 'latency-spike' || attempt > fault.times) return;
  const { code, message } = FAULT_ERRORS[fault.kind];
  translateError(
    new ApiError(code, `${message} [simulated fault on stage ${fault.stage}, attempt ${attempt} of ${fault.times} failing]`),
    activity,
  );
}

/**
 * A latency spike: the sweep ran, but a noisy neighbour pushed every latency 100x, so no point
 * lies within any SLA bound. Counted per workflow run and variant in this worker process.
 */
function withLatencySpike(measurement: Measurement, simulation: SimulationSpec | undefined, spikes: Map<string, number>, key: string): Measurement {
  const fault = simulation?.faults.find((f) => f.stage === 'validation' && f.kind === 'latency-spike');
  const seen = spikes.get(key) ?? 0;
  if (fault === undefined || seen >= fault.times) return measurement;
  spikes.set(key, seen + 1);
  const spiked = (us: number) => us * 100;
  return {
    ...measurement,
    points: measurement.points.map((p) => ({ ...p, latencyUs: { avg: spiked(p.latencyUs.avg), p50: spiked(p.latencyUs.p50), p90: spiked(p.latencyUs.p90), p95: spiked(p.latencyUs.p95), p99: spiked(p.latencyUs.p99) } })),
  };
}

/** Each activity run inside the calling deployment's simulation settings, faults injected first. */
export function withSimulation(activities: PipelineActivities): PipelineActivities {
  const spikes = new Map<string, number>();
  const wrapped = Object.entries(activities).map(([name, activity]) => {
    const run = async (input: { run: RunContext }) => {
      const simulation = input.run.simulation;
      const context = { deploymentId: input.run.deploymentId, speed: simulation?.speed ?? 0, regression: simulation?.regression ?? 0 };
      return runInSimContext(context, async () => {
        injectFault(name, simulation, Context.current().info.attempt);
        const result = await (activity as (input: unknown) => Promise<unknown>)(input);
        if (name !== 'measureVariant') return result;
        const measurement = result as Measurement;
        return withLatencySpike(measurement, simulation, spikes, `${Context.current().info.workflowExecution?.runId ?? input.run.deploymentId}/${measurement.variant}`);
      });
    };
    return [name, run];
  });
  return Object.fromEntries(wrapped) as PipelineActivities;
}

export function createSimActivities(stateDir: string, options: ActivityOptions): PipelineActivities {
  return withSimulation(createPipelineActivities(createSimWorld({ stateDir }).clients(), options));
}
