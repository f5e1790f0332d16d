/**
 * What the simulated cluster's Jobs do, read from the same environment variables the real
 * container scripts read (src/plan/jobs.ts): the TensorRT engine build follows its BUILD_PLAN
 * (src/plan/engine-build.ts) and writes a simulated plan and its build record to the bucket; perf_analyzer sweeps concurrency against the release's served
 * model with the calibrated performance model and prints the CSV between the pipeline's markers.
 * Jobs of other components complete without effect.
 */
import type { ObjectStore } from '../ports/systems.js';
import { BUILD_PLAN_VERSION, describeEngineBuild, type EngineBuildPlan } from '../plan/engine-build.js';
import { ENGINE_BUILD_COMPONENT, formatProfiles, PERF_COMPONENT, PERF_CSV_BEGIN, PERF_CSV_END } from '../plan/jobs.js';
import type { EngineBuildRecord } from '../ports/run.js';
import { MODEL_FORMATS, type ModelSpec } from '../spec/schema.js';
import { servingCandidateOf } from '../search/config-search.js';
import { renderPerfCsv } from '../triton/perf-output.js';
import { invalidGpuLoadError } from '../triton/model-config.js';
import { latencyAt, type LatencyPercentile, type PerfPoint } from '../triton/perf-types.js';
import { perfProfileFor, simulateSweep } from './perf-model.js';
import { SIM_DURATIONS_SECONDS } from './timing.js';
import { servedRepository, type SimulatedPlan } from './triton.js';

export interface JobOutcome {
  phase: 'succeeded' | 'failed';
  logs: string;
  message?: string;
}

/** What a release serves, as its clients see it: the repository, the replicas answering, how much slower than modelled. */
export interface ServedRelease {
  repository: string;
  /** The rollout its pods started with (triton.ts rolloutKey): what they loaded is what they serve. */
  rollout: string;
  /** Replicas that are running: each Triton pod holds gpusPerReplica GPUs of one node. */
  replicas: number;
  /** The GPUs each pod holds (the chart's gpusPerReplica). */
  gpusPerReplica: number;
  /** Fraction by which this revision serves slower (regression drills). */
  slowdown: number;
}

export interface JobEffectContext {
  objects: ObjectStore;
  /** When the Job finished (its simulated deadline). */
  doneAt: number;
  /** The release's deployed revision, or undefined when none is deployed. */
  served(namespace: string, release: string): Promise<ServedRelease | undefined>;
}

const FORMATS: readonly ModelSpec['format'][] = MODEL_FORMATS;
const PRECISIONS: readonly ModelSpec['precision'][] = ['int8', 'fp16', 'fp32'];
const PERCENTILES: readonly LatencyPercentile[] = [50, 90, 95, 99];

/** A failure the Job's container would report: it ends the Job as failed with this message. */
class JobFailure extends Error {}

function required(env: Record<string, string>, name: string): string {
  const value = env[name];
  if (value === undefined || value === '') throw new JobFailure(`environment variable ${name} is not set`);
  return value;
}

function positiveInt(text: string, what: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new JobFailure(`${what} must be a positive integer, got "${text}"`);
  return n;
}

function concurrencyRange(text: string): { start: number; end: number; step: number } {
  const [start, end, step, ...rest] = text.split(':');
  if (start === undefined || end === undefined || step === undefined || rest.length > 0) {
    throw new JobFailure(`PERF_CONCURRENCY must be "start:end:step", got "${text}"`);
  }
  const range = { start: positiveInt(start, 'concurrency start'), end: positiveInt(end, 'concurrency end'), step: positiveInt(step, 'concurrency step') };
  if (range.start > range.end) throw new JobFailure(`concurrency start ${range.start} exceeds end ${range.end}`);
  return range;
}

/** Simulated seconds the Job's container runs (after its pod started). */
export function jobDurationSeconds(component: string, env: Record<string, string>): number {
  if (component === ENGINE_BUILD_COMPONENT) {
    return env['MODEL_FORMAT'] === 'transformers' ? SIM_DURATIONS_SECONDS.engineBuildTransformers : SIM_DURATIONS_SECONDS.engineBuildOnnx;
  }
  if (component === PERF_COMPONENT) {
    let points = 1; // a malformed range fails the Job when it ends
    try {
      const { start, end, step } = concurrencyRange(env['PERF_CONCURRENCY'] ?? '');
      points = Math.floor((end - start) / step) + 1;
    } catch {
      // reported by runJobEffect
    }
    return points * SIM_DURATIONS_SECONDS.perfPerConcurrencyPoint;
  }
  return 0;
}

/** What the Job's log shows while it runs. */
export function jobStartLog(component: string, env: Record<string, string>): string {
  if (component === ENGINE_BUILD_COMPONENT) {
    return `[simulator] TensorRT engine build for ${env['MODEL_NAME'] ?? '?'} (${env['MODEL_FORMAT'] ?? '?'}, ${env['PRECISION'] ?? '?'}) on ${env['GPU_TYPE'] ?? '?'}: simulated, no GPU work is done\n`;
  }
  if (component === PERF_COMPONENT) {
    return `[simulator] perf_analyzer -m ${env['PERF_MODEL'] ?? '?'} against release ${env['PERF_RELEASE'] ?? '?'} in ${env['PERF_NAMESPACE'] ?? '?'}: simulated with the calibrated T4 performance model\n`;
  }
  return '[simulator] this Job has no simulated workload; it completes without effect\n';
}

/** Plays the finished Job's effect once; a container failure becomes a failed outcome with its log. */
export async function runJobEffect(component: string, env: Record<string, string>, context: JobEffectContext): Promise<JobOutcome> {
  const header = jobStartLog(component, env);
  try {
    const body =
      component === ENGINE_BUILD_COMPONENT ? await buildEngine(env, context) : component === PERF_COMPONENT ? await runPerfAnalyzer(env, context) : '';
    return { phase: 'succeeded', logs: header + body };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return { phase: 'failed', logs: `${header}error: ${message}\n`, message };
  }
}

/** The Job's BUILD_PLAN, checked as the real builder (deploy/jobs/engine_plan.py) checks it. */
function buildPlanOf(env: Record<string, string>): EngineBuildPlan {
  let plan: EngineBuildPlan;
  try {
    plan = JSON.parse(required(env, 'BUILD_PLAN')) as EngineBuildPlan;
  } catch (error) {
    throw error instanceof JobFailure ? error : new JobFailure(`BUILD_PLAN is not JSON: ${(error as Error).message}`);
  }
  if (plan?.version !== BUILD_PLAN_VERSION) throw new JobFailure(`BUILD_PLAN version ${String(plan?.version)} is not ${BUILD_PLAN_VERSION}; the builder scripts and the pipeline differ`);
  if (!FORMATS.includes(plan.source?.format)) throw new JobFailure(`unsupported source format "${String(plan.source?.format)}" (${FORMATS.join(' or ')})`);
  if (!PRECISIONS.includes(plan.precision?.mode)) throw new JobFailure(`unsupported precision "${String(plan.precision?.mode)}" (int8, fp16 or fp32)`);
  if (!Array.isArray(plan.profiles) || plan.profiles.length === 0) throw new JobFailure('BUILD_PLAN has no optimization profile');
  for (const { batch } of plan.profiles) {
    if (!(Number.isInteger(batch?.min) && batch.min >= 1 && batch.min <= batch.opt && batch.opt <= batch.max)) {
      throw new JobFailure(`malformed optimization profile ${JSON.stringify(batch)}: need 1 <= min <= opt <= max`);
    }
  }
  return plan;
}

async function buildEngine(env: Record<string, string>, { objects, doneAt }: JobEffectContext): Promise<string> {
  const buildPlan = buildPlanOf(env);
  const format = buildPlan.source.format;
  const precision = buildPlan.precision.mode;
  const profiles: SimulatedPlan['profiles'] = buildPlan.profiles.map(({ batch }) => ({ min: batch.min, opt: batch.opt, max: batch.max }));
  const profilesText = formatProfiles(profiles);
  const engineKey = required(env, 'ENGINE_KEY');
  const planUri = required(env, 'PLAN_URI');
  const recordUri = required(env, 'RECORD_URI');
  const gpu = required(env, 'GPU_TYPE');
  const calibration = buildPlan.calibration;
  const flags = [
    ...(precision === 'fp32' ? [] : [`--${precision}`]),
    ...(calibration?.cache == null ? [] : [`--calib=${calibration.cache}`]),
    ...(calibration?.data == null ? [] : [`--calib-data=${calibration.data}`]),
  ];

  const plan: SimulatedPlan = { simulated: true, format, precision, perfProfile: perfProfileFor({ format }, gpu), engineKey, profiles, gpu };
  const planInfo = await objects.write(planUri, JSON.stringify(plan, null, 2));
  const record: EngineBuildRecord = {
    engineKey,
    model: required(env, 'MODEL_NAME'),
    planUri,
    planMd5: planInfo.md5,
    tensorrtImage: required(env, 'TENSORRT_IMAGE'),
    gpu,
    flags,
    profiles: profilesText,
    builtAt: new Date(doneAt).toISOString(),
  };
  await objects.write(recordUri, JSON.stringify(record, null, 2));
  return [
    ...describeEngineBuild(buildPlan).map((step) => `[I] plan: ${step}`),
    `[I] Building ${format} model ${buildPlan.source.uri} with ${flags.join(' ') || 'fp32'}, optimization profiles ${profilesText}`,
    `[I] Engine built (simulated perf profile ${plan.perfProfile})`,
    `[I] Wrote ${planUri} (md5 ${planInfo.md5}, ${planInfo.size} bytes)`,
    `[I] Wrote ${recordUri}`,
    '&&&& PASSED TensorRT engine build',
    '',
  ].join('\n');
}

async function runPerfAnalyzer(env: Record<string, string>, { objects, served: servedBy }: JobEffectContext): Promise<string> {
  const release = required(env, 'PERF_RELEASE');
  const namespace = required(env, 'PERF_NAMESPACE');
  const model = required(env, 'PERF_MODEL');
  const batchSize = positiveInt(required(env, 'PERF_BATCH'), 'PERF_BATCH');
  const concurrency = concurrencyRange(required(env, 'PERF_CONCURRENCY'));
  const percentile = Number(required(env, 'PERF_PERCENTILE')) as LatencyPercentile;
  if (!PERCENTILES.includes(percentile)) throw new JobFailure(`PERF_PERCENTILE must be one of ${PERCENTILES.join(', ')}`);

  const serving = await servedBy(namespace, release);
  if (serving === undefined) {
    throw new JobFailure(`failed to get model metadata: no Triton server answers for release ${release} in namespace ${namespace} (no deployed revision)`);
  }
  const { repository } = serving;
  const { models } = await servedRepository(objects, serving.rollout, repository);
  const served = models.find((m) => m.name === model);
  if (served === undefined) {
    const names = models.map((m) => m.name).join(', ') || 'none';
    throw new JobFailure(`failed to get model metadata: Request for unknown model: '${model}' is not found (release ${release} serves ${repository}: ${names})`);
  }
  const { config, plan } = served;
  if (batchSize > config.maxBatchSize) {
    throw new JobFailure(`batch size ${batchSize} exceeds maximum batch size ${config.maxBatchSize} allowed by model '${model}'`);
  }
  if (serving.replicas === 0) throw new JobFailure(`no Triton replica of release ${release} is running: no node has ${serving.gpusPerReplica} allocatable nvidia.com/gpu`);
  // A group listing GPUs runs on those; one listing none, on every GPU of the pod. Triton refuses
  // to load a model whose group names a GPU the pod does not have.
  const missing = config.gpus?.find((g) => g >= serving.gpusPerReplica);
  if (missing !== undefined) throw new JobFailure(invalidGpuLoadError(model, 0, missing, serving.gpusPerReplica));
  const gpus = serving.replicas * (config.gpus?.length ?? serving.gpusPerReplica);

  const points = simulateSweep({
    profile: plan.perfProfile,
    precision: plan.precision,
    config: { ...servingCandidateOf(config), gpus },
    batchSize,
    concurrency,
    slowdown: serving.slowdown,
  });
  return `${perfAnalyzerText(points, batchSize, concurrency.end, percentile)}${PERF_CSV_BEGIN}\n${renderPerfCsv(points)}${PERF_CSV_END}\n`;
}

/** perf_analyzer's stdout for a concurrency sweep with --percentile (no "Avg latency" line then). */
function perfAnalyzerText(points: readonly PerfPoint[], batchSize: number, maxConcurrency: number, percentile: LatencyPercentile): string {
  const windowMs = 5000;
  const us = (x: number) => `${Math.trunc(x)} usec`;
  const lines = [
    '*** Measurement Settings ***',
    `  Batch size: ${batchSize}`,
    '  Service Kind: Triton',
    '  Using "time_windows" mode for stabilization',
    `  Measurement window: ${windowMs} msec`,
    `  Latency limit: 0 msec`,
    `  Concurrency limit: ${maxConcurrency} concurrent requests`,
    '  Using synchronous calls for inference',
    `  Stabilizing using p${percentile} latency`,
    '',
  ];
  for (const p of points) {
    lines.push(
      `Request concurrency: ${p.concurrency}`,
      '  Client: ',
      `    Request count: ${Math.round(((p.throughput / batchSize) * windowMs) / 1000)}`,
      `    Throughput: ${p.throughput.toFixed(3)} infer/sec`,
      `    p50 latency: ${us(p.latencyUs.p50)}`,
      `    p90 latency: ${us(p.latencyUs.p90)}`,
      `    p95 latency: ${us(p.latencyUs.p95)}`,
      `    p99 latency: ${us(p.latencyUs.p99)}`,
      '',
    );
  }
  lines.push(`Inferences/Second vs. Client p${percentile} Batch Latency`);
  for (const p of points) {
    lines.push(`Concurrency: ${p.concurrency}, throughput: ${p.throughput.toFixed(3)} infer/sec, latency ${us(latencyAt(p, percentile))}`);
  }
  return `${lines.join('\n')}\n`;
}
