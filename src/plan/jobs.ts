/**
 * Kubernetes Job manifests for the GPU-bound steps, as data. The environment variables are the
 * contract between the pipeline and the container scripts (deploy/jobs/*), and the simulated
 * cluster reads the same variables to play the Job's effect.
 */
import type { V1Job } from '@kubernetes/client-node';
import type { KubeObject, Manifest } from '../ports/systems.js';
import type { ModelSpec, OptimizationProfile, SlaSpec } from '../spec/schema.js';
import { planEngineBuild } from './engine-build.js';
import { buildPerfAnalyzerArgs, PERF_STABILITY_EXIT_CODE, PERF_UNSTABLE_PREFIX } from '../triton/perf-output.js';

/** Where the pipeline's Jobs (engine builds, perf sweeps) run. */
export const JOB_NAMESPACE = 'triton-pipeline';

export const PIPELINE_LABEL = 'triton-pipeline.dev/component';
export const ENGINE_BUILD_COMPONENT = 'engine-build';
export const PERF_COMPONENT = 'perf-analyzer';
export const PERF_CSV_BEGIN = '===PERF_CSV_BEGIN===';
export const PERF_CSV_END = '===PERF_CSV_END===';

/** The NGC release tag of a Triton image (e.g. 24.08): TensorRT engines are built with the TensorRT of the same release. */
export function ngcReleaseOf(tritonImage: string): string {
  const tag = /:(\d{2}\.\d{2})/.exec(tritonImage)?.[1];
  if (tag === undefined) {
    throw new Error(`cannot derive the TensorRT release from "${tritonImage}": expected an NGC tag like 24.08-py3`);
  }
  return tag;
}

/** NGC's TensorRT container matched to the Triton image (same release tag): the engine builder image is built FROM it. */
export function tensorrtImageFor(tritonImage: string): string {
  return `nvcr.io/nvidia/tensorrt:${ngcReleaseOf(tritonImage)}-py3`;
}

/** The Artifact Registry repository the engine builder image is pushed to (deploy/images/engine-builder). */
export const ENGINE_BUILDER_REPOSITORY = 'triton-pipeline';

/**
 * The image the engine-build Job runs: deploy/images/engine-builder (NGC's TensorRT container of the
 * Triton image's release, with the build's Python packages baked in, since private clusters have no
 * egress), pushed to the project's Artifact Registry in the spec's region and tagged with that release.
 */
export function engineBuilderImageFor(spec: { project: string; region: string; release: { image: string } }): string {
  return `${spec.region}-docker.pkg.dev/${spec.project}/${ENGINE_BUILDER_REPOSITORY}/engine-builder:${ngcReleaseOf(spec.release.image)}`;
}

export function tritonSdkImageFor(tritonImage: string): string {
  return tritonImage.replace(/-py3$/, '-py3-sdk');
}

export function formatProfiles(profiles: readonly OptimizationProfile[]): string {
  return profiles.map((p) => `${p.min},${p.opt},${p.max}`).join(';');
}

export interface EngineBuildJobInput {
  name: string;
  namespace: string;
  model: ModelSpec;
  engineKey: string;
  planUri: string;
  recordUri: string;
  /** The engine builder image (engineBuilderImageFor). */
  tensorrtImage: string;
  nodePool: string;
  acceleratorType: string;
  /** The ConfigMap holding deploy/jobs (mounted at /scripts). */
  scriptsConfigMap: string;
}

/**
 * The engine-build Job. BUILD_PLAN (src/plan/engine-build.ts, as JSON) is what the builder does;
 * MODEL_*, PRECISION and PROFILES summarize it for the Job's log, the build record and the
 * stand-ins (the simulator, the local target's kubelet), which read the same variables.
 */
export function renderEngineBuildJob(input: EngineBuildJobInput): Manifest<V1Job> {
  const { model } = input;
  const plan = planEngineBuild(model, input.acceleratorType);
  const env: Record<string, string> = {
    MODEL_NAME: model.name,
    MODEL_SOURCE: model.source,
    MODEL_FORMAT: model.format,
    PRECISION: model.precision,
    PROFILES: formatProfiles(model.optimizationProfiles),
    ENGINE_KEY: input.engineKey,
    PLAN_URI: input.planUri,
    RECORD_URI: input.recordUri,
    GPU_TYPE: input.acceleratorType,
    TENSORRT_IMAGE: input.tensorrtImage,
    BUILD_PLAN: JSON.stringify(plan),
  };
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: {
      name: input.name,
      namespace: input.namespace,
      labels: { [PIPELINE_LABEL]: ENGINE_BUILD_COMPONENT, 'triton-pipeline.dev/engine-key': input.engineKey.slice(0, 63) },
    },
    spec: {
      backoffLimit: 1,
      activeDeadlineSeconds: 3 * 3600,
      ttlSecondsAfterFinished: 24 * 3600,
      template: {
        metadata: { labels: { [PIPELINE_LABEL]: ENGINE_BUILD_COMPONENT } },
        spec: {
          restartPolicy: 'Never',
          nodeSelector: {
            'cloud.google.com/gke-nodepool': input.nodePool,
            'cloud.google.com/gke-accelerator': input.acceleratorType,
          },
          tolerations: [{ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' }],
          containers: [
            {
              name: 'build',
              image: input.tensorrtImage,
              command: ['bash', '/scripts/build-engine.sh'],
              env: Object.entries(env).map(([name, value]) => ({ name, value })),
              resources: { limits: { 'nvidia.com/gpu': 1 }, requests: { cpu: '2', memory: '8Gi' } },
              volumeMounts: [{ name: 'scripts', mountPath: '/scripts' }],
            },
          ],
          volumes: [{ name: 'scripts', configMap: { name: input.scriptsConfigMap } }],
        },
      },
    },
  };
}

export interface PerfJobInput {
  name: string;
  namespace: string;
  image: string;
  /** perf_analyzer argv, including -f csvPath. */
  args: string[];
  csvPath: string;
  /** Pool the load generator runs on: never the GPU pool, so it does not steal the server's CPU. */
  avoidNodePool: string;
  env: Record<string, string>;
  /** The Job's component label (PIPELINE_LABEL): a sweep unless told otherwise. */
  component?: string;
  /** activeDeadlineSeconds: an hour unless told otherwise. */
  deadlineSeconds?: number;
}

const shellQuote = (a: string) => `'${a.replace(/'/g, `'\\''`)}'`;

/**
 * The perf container's bash script. perf_analyzer's output (stdout and stderr) goes to the log and
 * to a file; its CSV follows between markers. One stream: the pod log keeps the order of one
 * stream, not of two. A sweep cut short at an unstable concurrency is not a
 * failed Job: exit 0 (a later concurrency: the CSV has the earlier ones) or PERF_STABILITY_EXIT_CODE
 * with perf_analyzer's stability line in its output (the first concurrency: no CSV, so an empty
 * block). Any other exit status fails the Job with that status.
 */
export function perfJobScript(args: readonly string[], csvPath: string): string {
  const csv = shellQuote(csvPath);
  const output = shellQuote(`${csvPath}.log`);
  return [
    `perf_analyzer ${args.map(shellQuote).join(' ')} 2>&1 | tee ${output}`,
    'rc=${PIPESTATUS[0]}',
    `if [ "$rc" -eq 0 ]; then echo '${PERF_CSV_BEGIN}' && cat ${csv} && echo '${PERF_CSV_END}'`,
    `elif [ "$rc" -eq ${PERF_STABILITY_EXIT_CODE} ] && grep -qF ${shellQuote(PERF_UNSTABLE_PREFIX)} ${output}; then echo '${PERF_CSV_BEGIN}' && { [ ! -f ${csv} ] || cat ${csv}; } && echo '${PERF_CSV_END}'`,
    'else exit "$rc"; fi',
  ].join('\n');
}

export function renderPerfJob(input: PerfJobInput): Manifest<V1Job> {
  const labels = { [PIPELINE_LABEL]: input.component ?? PERF_COMPONENT };
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: input.name, namespace: input.namespace, labels },
    spec: {
      backoffLimit: 0,
      activeDeadlineSeconds: input.deadlineSeconds ?? 3600,
      ttlSecondsAfterFinished: 3600,
      template: {
        metadata: { labels: { ...labels } },
        spec: {
          restartPolicy: 'Never',
          affinity: {
            nodeAffinity: {
              requiredDuringSchedulingIgnoredDuringExecution: {
                nodeSelectorTerms: [
                  {
                    matchExpressions: [
                      { key: 'cloud.google.com/gke-nodepool', operator: 'NotIn', values: [input.avoidNodePool] },
                    ],
                  },
                ],
              },
            },
          },
          containers: [
            {
              name: 'perf-analyzer',
              image: input.image,
              command: ['bash', '-c', perfJobScript(input.args, input.csvPath)],
              env: Object.entries(input.env).map(([name, value]) => ({ name, value })),
              resources: { requests: { cpu: '2', memory: '2Gi' } },
            },
          ],
        },
      },
    },
  };
}

/**
 * perf_analyzer's measurement window (-p): `full` for every decision (the gate, confirmations),
 * `screen` half as long, for the search's first look at a config.
 */
export type SweepWindow = 'full' | 'screen';
export const SWEEP_WINDOW_MS: Record<SweepWindow, number> = { full: 2000, screen: 1000 };

/** One validation sweep: perf_analyzer against one variant of a release, over the model's SLA concurrencies. */
export interface SweepJobInput {
  name: string;
  /** Where the Job runs. */
  namespace: string;
  release: { name: string; namespace: string };
  variant: string;
  sla: SlaSpec;
  shapes: Array<{ name: string; dims: number[] }>;
  tritonImage: string;
  /** Sweeps run off the GPU pool, so they never take a serving node's CPU. */
  gpuNodePool: string;
  window?: SweepWindow;
}

const SWEEP_CSV_PATH = '/tmp/perf.csv';

export function renderSweepJob(input: SweepJobInput): Manifest<V1Job> {
  const { sla, release } = input;
  const { concurrency } = sla;
  return renderPerfJob({
    name: input.name,
    namespace: input.namespace,
    image: tritonSdkImageFor(input.tritonImage),
    args: buildPerfAnalyzerArgs({
      model: input.variant,
      url: `${release.name}.${release.namespace}.svc.cluster.local:8001`,
      protocol: 'grpc',
      batchSize: sla.batchSize,
      concurrency,
      percentile: sla.percentile,
      measurementIntervalMs: SWEEP_WINDOW_MS[input.window ?? 'full'],
      shapes: input.shapes,
      csvPath: SWEEP_CSV_PATH,
      maxTrials: 10,
    }),
    csvPath: SWEEP_CSV_PATH,
    avoidNodePool: input.gpuNodePool,
    env: {
      PERF_RELEASE: release.name,
      PERF_NAMESPACE: release.namespace,
      PERF_MODEL: input.variant,
      PERF_BATCH: String(sla.batchSize),
      PERF_CONCURRENCY: `${concurrency.start}:${concurrency.end}:${concurrency.step}`,
      PERF_PERCENTILE: String(sla.percentile),
      PERF_INTERVAL_MS: String(SWEEP_WINDOW_MS[input.window ?? 'full']),
    },
  });
}

/** The CSV that the perf Job prints between markers. */
export function extractPerfCsv(log: string): string {
  const begin = log.indexOf(PERF_CSV_BEGIN);
  const end = log.indexOf(PERF_CSV_END, begin + 1);
  if (begin < 0 || end < 0) {
    throw new Error('perf_analyzer output has no CSV block (the run ended before writing it)');
  }
  return log.slice(begin + PERF_CSV_BEGIN.length, end).trim();
}

export function jobEnv(job: KubeObject): Record<string, string> {
  const spec = job['spec'] as { template?: { spec?: { containers?: Array<{ env?: Array<{ name: string; value: string }> }> } } };
  const env = spec.template?.spec?.containers?.[0]?.env ?? [];
  return Object.fromEntries(env.map((e) => [e.name, e.value]));
}
