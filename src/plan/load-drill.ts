/**
 * The load drill of the sample's autoscaling chapter, as data: the load Job (perf_analyzer holding a
 * fixed concurrency on the live release), what one look at the release, its HPA and its pool saw,
 * and what the looks add up to (scaled up, scaled back, the HPA's decisions against the pipeline's
 * own replica computation). Pure.
 */
import type { V1Job } from '@kubernetes/client-node';
import type { Manifest } from '../ports/systems.js';
import type { AutoscalingSpec, DeploymentSpec } from '../spec/schema.js';
import { hpaDesiredReplicas } from '../triton/metrics.js';
import { buildPerfAnalyzerArgs } from '../triton/perf-output.js';
import { renderPerfJob, tritonSdkImageFor } from './jobs.js';

export const LOAD_COMPONENT = 'load-generator';
const LOAD_CSV_PATH = '/tmp/load.csv';

export interface LoadJobInput {
  name: string;
  namespace: string;
  release: { name: string; namespace: string };
  variant: string;
  concurrency: number;
  /** How long perf_analyzer holds the load (one measurement window) unless the Job is deleted first. */
  holdSeconds: number;
  tritonImage: string;
  gpuNodePool: string;
}

/**
 * perf_analyzer at one concurrency for a single window as long as the hold: it keeps the load on
 * until the drill deletes the Job, and ends by itself (a window too few to be stable, which the perf
 * script reads as a sweep cut short, not a failure) if the drill is gone.
 */
export function renderLoadJob(input: LoadJobInput): Manifest<V1Job> {
  const { release, concurrency } = input;
  return renderPerfJob({
    name: input.name,
    namespace: input.namespace,
    image: tritonSdkImageFor(input.tritonImage),
    component: LOAD_COMPONENT,
    args: buildPerfAnalyzerArgs({
      model: input.variant,
      url: `${release.name}.${release.namespace}.svc.cluster.local:8001`,
      protocol: 'grpc',
      batchSize: 1,
      concurrency: { start: concurrency, end: concurrency, step: 1 },
      percentile: 99,
      measurementIntervalMs: input.holdSeconds * 1000,
      shapes: [],
      csvPath: LOAD_CSV_PATH,
      maxTrials: 1,
    }),
    csvPath: LOAD_CSV_PATH,
    avoidNodePool: input.gpuNodePool,
    env: {
      PERF_RELEASE: release.name,
      PERF_NAMESPACE: release.namespace,
      PERF_MODEL: input.variant,
      PERF_CONCURRENCY: `${concurrency}:${concurrency}:1`,
      LOAD_HOLD_SECONDS: String(input.holdSeconds),
    },
    deadlineSeconds: input.holdSeconds + 300,
  });
}

/** The variant a drill loads: the one it names, or the first model's first variant. */
export function drillVariant(spec: Pick<DeploymentSpec, 'models' | 'autoscaling'>): string {
  return spec.autoscaling.loadDrill?.variant ?? spec.models[0]!.variants[0]!.name;
}

/** What the HPA's status said at one look: one sync's inputs and its decision. */
export interface HpaView {
  currentReplicas: number;
  desiredReplicas: number;
  /** The metric's average over the pods, as the HPA read it; null before its first reading. */
  metric: number | null;
  /** Why the HPA holds its count where its own computation would move it (stabilization, rate limits). */
  held: boolean;
}

/** One look at the drill. */
export interface DrillSample {
  /** Seconds since the load started. */
  at: number;
  phase: 'load' | 'cooldown';
  /** The Deployment's replicas (what the HPA set) and those Ready. */
  replicas: number;
  readyReplicas: number;
  /** Ready nodes in the GPU pool. */
  nodes: number;
  /** Every Ready pod's Triton serves the live repository. */
  serving: boolean;
  hpa: HpaView | null;
}

export interface DrillBaseline {
  replicas: number;
  nodes: number;
}

/** Scaled up: more pods than at the start, every one Ready and serving the live repository. */
export function scaledUp(baseline: DrillBaseline, sample: DrillSample): boolean {
  return sample.replicas > baseline.replicas && sample.readyReplicas === sample.replicas && sample.serving;
}

/** The HPA has seen every pod of the sample and wants no more. */
function settled(sample: DrillSample): boolean {
  return sample.hpa !== null && sample.hpa.currentReplicas === sample.replicas && sample.hpa.desiredReplicas <= sample.replicas;
}

/**
 * The load has done its part: the release scaled up, every pod serves, and the HPA wants no more:
 * it is at its maximum, or it has wanted no more for `steadySeconds` (at least the metric's window:
 * a 2-minute rate goes on climbing that long under the same load, and one settled look can come
 * between two scale-ups).
 */
export function loadHeldEnough(baseline: DrillBaseline, samples: readonly DrillSample[], hold: { steadySeconds: number; maxReplicas: number }): boolean {
  const last = samples.at(-1);
  if (last === undefined || !scaledUp(baseline, last) || !settled(last)) return false;
  if (last.replicas >= hold.maxReplicas) return true;
  const since = last.at - hold.steadySeconds;
  const load = samples.filter((s) => s.phase === 'load');
  return load.some((s) => s.at <= since) && load.filter((s) => s.at >= since).every((s) => settled(s) && s.replicas === last.replicas);
}

/** Scaled back: the release at its minimum again and the pool at the size it had before the load. */
export function scaledBack(baseline: DrillBaseline, minReplicas: number, sample: DrillSample): boolean {
  return sample.replicas <= Math.max(minReplicas, baseline.replicas) && sample.nodes <= baseline.nodes;
}

/** An HPA decision beside the replica count the pipeline computes (hpaDesiredReplicas) from the same reading. */
export interface HpaDecision {
  at: number;
  currentReplicas: number;
  metric: number;
  hpaDesired: number;
  pipelineDesired: number;
}

/**
 * How long after a pod is Ready its metric can reach the HPA: its Triton starts, Prometheus scrapes
 * it twice (a rate needs two samples), the rule records it, the HPA syncs. Until then the HPA counts
 * the pod as one without a metric, which its computation treats apart.
 */
export const METRIC_LAG_SECONDS = 20;

/**
 * The HPA's decisions where they are its replica computation alone: a new status (each sync shows
 * in a few looks) with a reading, nothing held back (no stabilization window, no rate limit), and
 * every pod it counted Ready and serving for METRIC_LAG_SECONDS before.
 */
export function hpaDecisions(samples: readonly DrillSample[], autoscaling: Pick<AutoscalingSpec, 'target' | 'minReplicas' | 'maxReplicas'>): HpaDecision[] {
  return samples.flatMap((s, i) => {
    const { hpa } = s;
    if (i === 0 || hpa === null || hpa.metric === null || hpa.held) return [];
    const steady = (w: DrillSample) => w.replicas === hpa.currentReplicas && w.readyReplicas === hpa.currentReplicas && w.serving;
    const before = samples.slice(0, i);
    const lastUnsteady = before.map(steady).lastIndexOf(false);
    // Steady since the drill began (the pods were there before it), or seen steady long enough.
    if (lastUnsteady >= 0 && (lastUnsteady === i - 1 || before[lastUnsteady + 1]!.at > s.at - METRIC_LAG_SECONDS)) return [];
    const seen = samples[i - 1]!.hpa;
    if (seen !== null && seen.currentReplicas === hpa.currentReplicas && seen.desiredReplicas === hpa.desiredReplicas && seen.metric === hpa.metric) return [];
    return [{ at: s.at, currentReplicas: hpa.currentReplicas, metric: hpa.metric, hpaDesired: hpa.desiredReplicas, pipelineDesired: hpaDesiredReplicas(hpa.currentReplicas, hpa.metric, autoscaling) }];
  });
}

/** What the drill found. */
export interface LoadDrillResult {
  outcome: 'scaled-up-and-back' | 'no-scale-up' | 'no-scale-down';
  variant: string;
  concurrency: number;
  target: number;
  metric: AutoscalingSpec['metric'];
  baseline: DrillBaseline;
  peak: { replicas: number; nodes: number; metric: number | null };
  /** Seconds from the load's start until the release, at the most pods the load brought, served; null when it never scaled up. */
  scaleUpSeconds: number | null;
  /** Seconds from the load's start until the pool had more nodes; null when it never grew. */
  nodeAddedSeconds: number | null;
  /** Seconds from the load's end until the release and the pool were back; null when they were not. */
  scaleDownSeconds: number | null;
  /** The load's hold, seconds from its start. */
  loadSeconds: number;
  samples: DrillSample[];
  decisions: HpaDecision[];
  message: string;
}

/** Folds the looks into the drill's result. */
export function summarizeDrill(input: {
  spec: Pick<DeploymentSpec, 'autoscaling' | 'models'>;
  baseline: DrillBaseline;
  samples: readonly DrillSample[];
  loadSeconds: number;
}): LoadDrillResult {
  const { spec, baseline, samples, loadSeconds } = input;
  const { autoscaling } = spec;
  const load = samples.filter((s) => s.phase === 'load');
  const cooldown = samples.filter((s) => s.phase === 'cooldown');
  // Up: the first look at which the most pods the load brought were all Ready and serving.
  const most = Math.max(baseline.replicas, ...load.map((s) => s.replicas));
  const up = load.find((s) => s.replicas === most && scaledUp(baseline, s));
  const grown = samples.find((s) => s.nodes > baseline.nodes);
  const back = up === undefined ? undefined : cooldown.find((s) => scaledBack(baseline, autoscaling.minReplicas, s));
  const metrics = samples.flatMap((s) => (s.hpa?.metric == null ? [] : [s.hpa.metric]));
  const peak = {
    replicas: Math.max(baseline.replicas, ...samples.map((s) => s.replicas)),
    nodes: Math.max(baseline.nodes, ...samples.map((s) => s.nodes)),
    metric: metrics.length === 0 ? null : Math.max(...metrics),
  };
  const outcome = up === undefined ? 'no-scale-up' : back === undefined ? 'no-scale-down' : 'scaled-up-and-back';
  const scaleUpSeconds = up?.at ?? null;
  const scaleDownSeconds = back === undefined ? null : back.at - loadSeconds;
  const pods = `${baseline.replicas}→${peak.replicas} pods, ${baseline.nodes}→${peak.nodes} nodes`;
  const message =
    outcome === 'no-scale-up'
      ? `the release did not scale up within the load's ${loadSeconds.toFixed(0)} s (${pods}; peak ${autoscaling.metric} ${peak.metric ?? 'not read'}, target ${autoscaling.target})`
      : outcome === 'no-scale-down'
        ? `scaled up in ${scaleUpSeconds!.toFixed(0)} s (${pods}) but was not back to ${autoscaling.minReplicas} pod(s) and ${baseline.nodes} nodes within ${(samples.at(-1)!.at - loadSeconds).toFixed(0)} s of the load's end`
        : `${pods} in ${scaleUpSeconds!.toFixed(0)} s under the load, back in ${scaleDownSeconds!.toFixed(0)} s after it`;
  return {
    outcome,
    variant: drillVariant(spec),
    concurrency: autoscaling.loadDrill?.concurrency ?? 0,
    target: autoscaling.target,
    metric: autoscaling.metric,
    baseline,
    peak,
    scaleUpSeconds,
    nodeAddedSeconds: grown?.at ?? null,
    scaleDownSeconds,
    loadSeconds,
    samples: [...samples],
    decisions: hpaDecisions(samples, autoscaling),
    message,
  };
}

/** The HPA's status as autoscaling/v2 serves it, reduced to what a look records. */
export function hpaViewOf(hpa: { status?: HpaStatusJson } | null): HpaView | null {
  const status = hpa?.status;
  if (status === undefined || status.desiredReplicas === undefined) return null;
  const current = status.currentMetrics?.[0]?.pods?.current?.averageValue;
  const conditions = status.conditions ?? [];
  const reason = (type: string) => conditions.find((c) => c.type === type)?.reason;
  const held = reason('AbleToScale') === 'ScaleDownStabilized' || ['ScaleUpLimit', 'ScaleDownLimit'].includes(reason('ScalingLimited') ?? '');
  return {
    currentReplicas: status.currentReplicas ?? 0,
    desiredReplicas: status.desiredReplicas,
    metric: current === undefined ? null : parseQuantity(current),
    held,
  };
}

export interface HpaStatusJson {
  currentReplicas?: number;
  desiredReplicas?: number;
  currentMetrics?: Array<{ pods?: { current?: { averageValue?: string } } }>;
  conditions?: Array<{ type: string; status: string; reason?: string }>;
}

const QUANTITY_SUFFIX: Record<string, number> = { n: 1e-9, u: 1e-6, m: 1e-3, '': 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3 };

/** A Kubernetes quantity ("35123", "11700m", "1.5k") as a number. */
export function parseQuantity(text: string): number {
  const match = /^([+-]?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)(n|u|m|k|M|G|T|Ki|Mi|Gi)?$/.exec(text.trim());
  if (match === null) throw new Error(`not a Kubernetes quantity: "${text}"`);
  return Number(match[1]) * QUANTITY_SUFFIX[match[2] ?? '']!;
}
