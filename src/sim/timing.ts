/**
 * Simulated time. Every long operation of the simulated world takes one of these durations,
 * multiplied by the acting context's speed (0 = instant). Deadlines are stored as wall-clock
 * instants (the world's clock), so state advances lazily when read, also after a restart.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { ApiError } from '../ports/errors.js';
import { currentSimContext } from './context.js';

/** Simulated durations in seconds at speed 1 (roughly what GKE, TensorRT and Helm take on T4s). */
export const SIM_DURATIONS_SECONDS = {
  /** gcloud container clusters create */
  clusterCreate: 300,
  /** gcloud container node-pools create (GPU nodes) */
  nodePoolCreate: 180,
  /** nvidia-driver-installer DaemonSet until nodes report nvidia.com/gpu */
  driverInstall: 120,
  /** a Job's pod scheduled and its image pulled */
  jobPodStart: 10,
  /** TensorRT engine build from ONNX (ResNet50) */
  engineBuildOnnx: 240,
  /** A Transformers model (BERT-Large) exported to ONNX, then its TensorRT engine built */
  engineBuildTransformers: 600,
  /** Triton Deployment rollout until ready (helm --wait) */
  tritonRollout: 90,
  /** perf_analyzer, per concurrency point of the sweep */
  perfPerConcurrencyPoint: 6,
} as const;

/** Milliseconds of wall time a simulated duration takes in the current context. */
export function scaledMs(seconds: number): number {
  return seconds * currentSimContext().speed * 1000;
}

/** Really waits (helm --wait), abortable; rejects with ApiError('ABORTED') when the signal fires. */
export async function waitMs(ms: number, what: string, signal?: AbortSignal): Promise<void> {
  try {
    await sleep(ms, undefined, signal === undefined ? undefined : { signal });
  } catch (error) {
    if (signal?.aborted === true) throw new ApiError('ABORTED', `${what}: interrupted (${String(signal.reason)})`);
    throw error;
  }
}
