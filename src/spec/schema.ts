/**
 * The deployment spec: one schema, validated once at the edge (CLI, Web UI input check in the
 * workflow's first step). Defaults follow shared sample facts (T4 pool, n1-standard-8, 1–3 nodes,
 * ResNet50 profiles (1,8,32)/(1,16,32)/(1,32,32), Triton ports, HPA 1–3 replicas).
 * Pure: no I/O, no Temporal imports, so workflows can use the types and defaults.
 */
import { z } from 'zod';
import { type AttachmentProblem, attachmentProblem } from './accelerators.js';
import { lazySchema } from './lazy-schema.js';

const NAME = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const MODEL_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

const dnsName = (what: string, max: number) =>
  z
    .string()
    .max(max, { error: `${what} must be at most ${max} characters` })
    .regex(NAME, {
      error: `${what} must be lowercase letters, digits and '-', starting with a letter (e.g. "triton")`,
    });

const positiveInt = (what: string) =>
  z.number().int({ error: `${what} must be a whole number` }).min(1, {
    error: `${what} must be at least 1`,
  });

/** Triton's instance_group count: instances on each GPU the group places them on (every GPU of the pod). */
const instancesPerGpu = () => positiveInt('instances').max(16, { error: 'instances must be at most 16 per GPU' });

/** Where and how a node pool's GPUs break Compute Engine's contract, said for the spec's author. */
function attachmentIssue(pool: { acceleratorType: string; machineType: string; acceleratorCount: number }, problem: AttachmentProblem): { path: string[]; message: string } {
  const gpus = `${pool.acceleratorType} GPU${pool.acceleratorCount === 1 ? '' : 's'}`;
  switch (problem.kind) {
    case 'machine-type':
      return { path: ['nodePool', 'machineType'], message: `${pool.acceleratorType} GPUs attach to ${problem.machineTypes.join(', ')} only, not to ${pool.machineType}` };
    case 'count':
      return {
        path: ['nodePool', 'acceleratorCount'],
        message:
          problem.allowed.length === 1
            ? `${pool.machineType} comes with ${problem.allowed[0]} ${pool.acceleratorType} GPU${problem.allowed[0] === 1 ? '' : 's'}; set acceleratorCount: ${problem.allowed[0]}`
            : `${pool.acceleratorType} attaches ${problem.allowed.join(', ')} GPUs to a VM, not ${pool.acceleratorCount}`,
      };
    case 'vcpus':
      return { path: ['nodePool', 'machineType'], message: `${pool.machineType} has ${problem.vcpus} vCPUs; a VM with ${pool.acceleratorCount} ${gpus} may have at most ${problem.maxVcpus}` };
  }
}

export const OptimizationProfileSchema = lazySchema('OptimizationProfileSchema', () =>
  z
    .object({
      min: positiveInt('min batch'),
      opt: positiveInt('opt batch'),
      max: positiveInt('max batch'),
    })
    .strict()
    .refine((p) => p.min <= p.opt && p.opt <= p.max, {
      error: 'a TensorRT optimization profile needs min <= opt <= max (e.g. {min: 1, opt: 16, max: 32})',
    }),
);

export const DynamicBatchingSchema = lazySchema('DynamicBatchingSchema', () =>
  z
    .object({
      /** Empty: Triton forms batches of whatever has queued, up to the max batch size. */
      preferredBatchSizes: z.array(positiveInt('preferred batch size')).default([32]),
      /** The sample uses 1 s (1,000,000 µs) which inflates latency at low concurrency; keep it explicit. */
      maxQueueDelayMicroseconds: z.number().int().min(0).max(10_000_000).default(100),
    })
    .strict(),
);

export const VariantSchema = lazySchema('VariantSchema', () =>
  z
    .object({
      name: z.string().regex(MODEL_NAME, {
        error: 'a Triton model name uses letters, digits, "_", "." and "-" (e.g. "ResNet50-INT8-2")',
      }),
      instances: instancesPerGpu().default(1),
      maxBatchSize: positiveInt('maxBatchSize').default(32),
      dynamicBatching: DynamicBatchingSchema.optional(),
      /** Index into the model's optimizationProfiles (Triton's instance_group.profile). */
      profile: z.number().int().min(0).optional(),
    })
    .strict(),
);

export const ConcurrencyRangeSchema = lazySchema('ConcurrencyRangeSchema', () =>
  z
    .object({
      start: positiveInt('concurrency start').default(1),
      end: positiveInt('concurrency end').default(10),
      step: positiveInt('concurrency step').default(1),
    })
    .strict()
    .refine((r) => r.start <= r.end, { error: 'concurrency start must be <= end' }),
);

export const SlaSchema = lazySchema('SlaSchema', () =>
  z
    .object({
      /** The latency bound, at the percentile below (p99 by default). */
      latencyMs: z.number().positive({ error: 'sla.latencyMs must be > 0' }),
      percentile: z.union([z.literal(50), z.literal(90), z.literal(95), z.literal(99)]).default(99),
      /** Throughput floor (inferences/s) to reach within the latency bound. */
      minThroughput: z.number().positive({ error: 'sla.minThroughput must be > 0' }),
      concurrency: ConcurrencyRangeSchema.default({ start: 1, end: 10, step: 1 }),
      /** Batch size of each perf request (the sample: 32 for ResNet50, 16 for BERT). */
      batchSize: positiveInt('sla.batchSize').default(1),
      /** Fraction of the previous release's SLA-bounded throughput that may be lost before rollback. */
      regressionTolerance: z.number().min(0).max(0.9).default(0.1),
      /** Sweeps per variant. With 2 or more the gate compares means, widening the tolerance by the measured noise. */
      repeats: positiveInt('sla.repeats').max(10).default(1),
      /** With repeats: how often noise alone may roll an unchanged release back (sets the widening). */
      falseRollbackRate: z.number().gt(0, { error: 'sla.falseRollbackRate must be > 0' }).lt(0.5, { error: 'sla.falseRollbackRate must be < 0.5' }).default(0.01),
    })
    .strict(),
);

export const InputShapeSchema = lazySchema('InputShapeSchema', () =>
  z
    .object({ name: z.string().min(1), dims: z.array(z.number().int().min(-1)).min(1) })
    .strict(),
);

const URI = /^(gs|https?|file):\/\/\S+$/;

/** What to say to a spec that still names the TF checkpoint format the pipeline no longer builds. */
export const TF_CHECKPOINT_MESSAGE =
  'format "tf-checkpoint" is no longer built (it needed TensorRT\'s BERT demo builder, fetched at run time); ' +
  'convert the checkpoint once to a Hugging Face Transformers question-answering model (save_pretrained, then tar the directory), ' +
  'upload the archive and set format: transformers (docs/gke.md, "Engine builds")';

/** Source formats the engine builder takes: an ONNX model, or a Transformers QA model it exports to ONNX first. */
export const MODEL_FORMATS = ['onnx', 'transformers'] as const;

/**
 * INT8 calibration. cache: a TensorRT calibration cache written by the same TensorRT release for the
 * same network (its header line names the release); data: an .npz of named input arrays the builder
 * calibrates on. With both, the cache is used while it fits the network and regenerated from the data
 * when it does not.
 */
export const CalibrationSchema = lazySchema('CalibrationSchema', () =>
  z
    .object({
      cache: z.string().regex(URI, { error: 'calibration.cache must be a gs://, https:// or file:// URI of a TensorRT calibration cache' }).optional(),
      data: z
        .string()
        .regex(URI, { error: 'calibration.data must be a gs://, https:// or file:// URI of an .npz file' })
        .regex(/\.npz$/, { error: 'calibration.data is an .npz of named input arrays (numpy.savez, one [N, ...] array per network input)' })
        .optional(),
    })
    .strict()
    .refine((c) => c.cache !== undefined || c.data !== undefined, {
      error: 'calibration needs cache (a TensorRT calibration cache) or data (an .npz of input arrays), or both',
    }),
);

export const ModelSchema = lazySchema('ModelSchema', () =>
  z
    .object({
      name: z.string().regex(MODEL_NAME, { error: 'model name uses letters, digits, "_", "." and "-"' }),
      source: z.string().regex(URI, {
        error: 'source must be a gs://, https:// or file:// URI of the ONNX model or of the Transformers model archive',
      }),
      format: z.enum(MODEL_FORMATS, {
        error: (issue) => (issue.input === 'tf-checkpoint' ? TF_CHECKPOINT_MESSAGE : 'format must be "onnx" or "transformers"'),
      }),
      precision: z.enum(['int8', 'fp16', 'fp32']).default('int8'),
      /** INT8 calibration: a cache, calibration data, or both (int8 needs one of them). */
      calibration: CalibrationSchema.optional(),
      /** The sequence length the engine is built for (the sample: 384); sets the sequence dimension of every profile. */
      sequenceLength: z.number().int().min(8).max(4096).optional(),
      /** Input shapes for perf_analyzer --shape (e.g. input_ids: [384]). */
      inputs: z.array(InputShapeSchema).default([]),
      optimizationProfiles: z.array(OptimizationProfileSchema).min(1).default([
        { min: 1, opt: 8, max: 32 },
        { min: 1, opt: 16, max: 32 },
        { min: 1, opt: 32, max: 32 },
      ]),
      variants: z.array(VariantSchema).min(1, { error: 'a model needs at least one Triton variant' }),
      sla: SlaSchema,
    })
    .strict(),
);

export const ClusterSchema = lazySchema('ClusterSchema', () =>
  z
    .object({
      name: dnsName('cluster.name', 40).default('nvidia-gcp-gke'),
      machineType: z.string().default('n1-standard-8'),
      nodes: positiveInt('cluster.nodes').default(1),
      releaseChannel: z.enum(['rapid', 'regular', 'stable']).default('regular'),
      /** Delete the cluster and node pool this run created if the run fails (GPU nodes cost money). */
      deleteOnFailure: z.boolean().default(false),
    })
    .strict(),
);

export const NodePoolSchema = lazySchema('NodePoolSchema', () =>
  z
    .object({
      name: dnsName('nodePool.name', 40).default('accel'),
      machineType: z.string().default('n1-standard-8'),
      acceleratorType: z
        .enum(['nvidia-tesla-t4', 'nvidia-l4', 'nvidia-tesla-a100', 'nvidia-tesla-v100', 'nvidia-h200-141gb'])
        .default('nvidia-tesla-t4'),
      /** GPUs per node, as the machine type allows (src/spec/accelerators.ts); Triton's pod takes them all. */
      acceleratorCount: positiveInt('nodePool.acceleratorCount').max(16).default(1),
      diskSizeGb: z.number().int().min(30).default(100),
      minNodes: z.number().int().min(0).default(1),
      maxNodes: positiveInt('nodePool.maxNodes').default(3),
      initialNodes: positiveInt('nodePool.initialNodes').default(1),
      autoRepair: z.boolean().default(true),
      /** installer-daemonset: our pinned manifest in deploy/; gke-*: GKE installs the driver itself. */
      gpuDriver: z.enum(['installer-daemonset', 'gke-default', 'gke-latest']).default('installer-daemonset'),
    })
    .strict(),
);

/** The watch after a preview is promoted: sweeps of the live release at a load production traffic leaves room for. */
export const BakeSchema = lazySchema('BakeSchema', () =>
  z
    .object({
      /** Sweeps of each variant on the live release after promotion; 0 skips the bake. */
      sweeps: z.number().int().min(0).max(5).default(1),
      /**
       * perf_analyzer's concurrency for the bake (low: the release already serves production); one the
       * validation sweep measures. Default: each model's lowest (sla.concurrency.start).
       */
      concurrency: positiveInt('release.bake.concurrency').optional(),
      /**
       * How much less than its preview the live release may serve at that concurrency: wider than the
       * validation gate's, since production traffic shares the live release during the bake.
       */
      tolerance: z.number().min(0).max(0.9).default(0.25),
    })
    .strict(),
);

export const ApprovalSchema = lazySchema('ApprovalSchema', () =>
  z
    .object({
      required: z.boolean().default(false),
      /** How long a validated preview waits for approval before the run aborts and removes it. */
      timeoutSeconds: positiveInt('approval.timeoutSeconds').default(86_400),
    })
    .strict(),
);

export const ReleaseSchema = lazySchema('ReleaseSchema', () =>
  z
    .object({
      name: dnsName('release.name', 30).default('triton'),
      namespace: dnsName('release.namespace', 63).default('default'),
      image: z.string().default('nvcr.io/nvidia/tritonserver:24.08-py3'),
      replicas: positiveInt('release.replicas').default(1),
      /** Defaults to <bucket>/<repositoryPrefix>; each run publishes a new version under it. */
      modelRepositoryPath: z.string().regex(/^gs:\/\/\S+$/).optional(),
      internalLoadBalancer: z.boolean().default(true),
      /**
       * How Triton's metrics port is scraped: GKE's Managed Prometheus (PodMonitoring), the Prometheus
       * Operator (ServiceMonitor), a Prometheus that discovers pods by their prometheus.io/*
       * annotations (the local cluster's), or not at all.
       */
      monitoring: z.enum(['podmonitoring', 'servicemonitor', 'prometheus-annotations', 'none']).default('podmonitoring'),
      /**
       * preview: the new config is served beside the live release (one more replica's GPU) and validated
       * there before it takes traffic; in-place: the live release is upgraded, validated and rolled back
       * if it regresses (for clusters without a spare GPU).
       */
      strategy: z.enum(['preview', 'in-place']).default('preview'),
      bake: BakeSchema.default({ sweeps: 1, tolerance: 0.25 }),
    })
    .strict(),
);

/**
 * A load drill: perf_analyzer holds a load on the live release until the HPA has scaled it up and
 * every pod serves (the pool growing where the pods need more GPUs), then stops, and the drill
 * watches the release and the pool scale back.
 */
export const LoadDrillSchema = lazySchema('LoadDrillSchema', () =>
  z
    .object({
      /** perf_analyzer's concurrent requests while the load is held. */
      concurrency: positiveInt('autoscaling.loadDrill.concurrency').max(256).default(32),
      /** The variant the load asks for; the first model's first variant when absent. */
      variant: z.string().min(1).optional(),
      /** How long the load is held waiting for the scale-up before the drill gives up. */
      scaleUpTimeoutSeconds: positiveInt('autoscaling.loadDrill.scaleUpTimeoutSeconds').max(3600).default(600),
      /** How long the drill waits for the release and the pool to scale back once the load stops. */
      scaleDownTimeoutSeconds: positiveInt('autoscaling.loadDrill.scaleDownTimeoutSeconds').max(7200).default(900),
    })
    .strict(),
);

export const AutoscalingSchema = lazySchema('AutoscalingSchema', () =>
  z
    .object({
      enabled: z.boolean().default(true),
      /**
       * Per pod, averaged over the release's pods: gpu-utilization, mean % of time the pod's GPUs ran
       * kernels (DCGM_FI_DEV_GPU_UTIL); triton-queue-time-us, mean µs a request waited in Triton's
       * queue (over 2 minutes); triton-inflight-requests, requests waiting in Triton's queue.
       */
      metric: z.enum(['triton-queue-time-us', 'triton-inflight-requests', 'gpu-utilization']).default('gpu-utilization'),
      /** The per-pod value the HPA holds the metric at, in the metric's unit (%, µs, requests). */
      target: z.number().positive().default(70),
      minReplicas: positiveInt('autoscaling.minReplicas').default(1),
      maxReplicas: positiveInt('autoscaling.maxReplicas').default(3),
      /** Install the custom metrics adapter the HPA reads its metric through (a cluster add-on). */
      installMetricsAdapter: z.boolean().default(true),
      /** The HPA's scale-down stabilization window (behavior.scaleDown); Kubernetes' default is 300 s. */
      scaleDownStabilizationSeconds: z.number().int().min(0).max(3600).default(300),
      /** Once autoscaling is on, prove it: a held load scales the release and its pool up, then back. */
      loadDrill: LoadDrillSchema.optional(),
    })
    .strict(),
);

/** Preferred batch sizes: none (Triton batches whatever has queued), the max batch size, or these sizes. */
const PreferredChoiceSchema = z.union([z.literal('none'), z.literal('max-batch'), z.array(positiveInt('preferred batch size')).min(1)], {
  error: 'a preferred batch size choice is "none", "max-batch" or a list of sizes',
});

const DEFAULT_SEARCH_SPACE = {
  instances: [1, 2, 3, 4],
  maxBatchSize: [8, 16, 32],
  preferredBatchSizes: ['none', 'max-batch'] as PreferredChoice[],
  maxQueueDelayMicroseconds: [0, 100, 1000],
};

export const SearchSpaceSchema = lazySchema('SearchSpaceSchema', () =>
  z
    .object({
      instances: z.array(instancesPerGpu()).min(1).default(DEFAULT_SEARCH_SPACE.instances),
      maxBatchSize: z.array(positiveInt('maxBatchSize')).min(1).default(DEFAULT_SEARCH_SPACE.maxBatchSize),
      preferredBatchSizes: z.array(PreferredChoiceSchema).min(1).default(DEFAULT_SEARCH_SPACE.preferredBatchSizes),
      maxQueueDelayMicroseconds: z.array(z.number().int().min(0)).min(1).default(DEFAULT_SEARCH_SPACE.maxQueueDelayMicroseconds),
    })
    .strict(),
);

export const ReoptimizationSchema = lazySchema('ReoptimizationSchema', () =>
  z
    .object({
      /** A candidate is promoted only if its SLA-bounded throughput beats the live one by this fraction. */
      margin: z.number().min(0).max(1).default(0.05),
      /** Configs screened (one short sweep each) after the incumbent. */
      maxCandidates: positiveInt('reoptimize.maxCandidates').max(64).default(12),
      /** The best screens swept beside the incumbent in the first confirmation round; each later round keeps the better half, two at least. */
      finalists: positiveInt('reoptimize.finalists').max(8).default(4),
      /** Confirmation rounds, in the same session: each sweeps the incumbent and every finalist still in the race. */
      confirmSweeps: positiveInt('reoptimize.confirmSweeps').max(10).default(3),
      /** How often noise alone may make a candidate that is not better look better by the margin. */
      falsePromotionRate: z.number().gt(0).lt(0.5).default(0.05),
      space: SearchSpaceSchema.default(DEFAULT_SEARCH_SPACE),
    })
    .strict(),
);

const STAGES = [
  'cluster',
  'driver',
  'engines',
  'repository',
  'preview',
  'validation',
  'release',
  'bake',
  'autoscaling',
  'load-drill',
  'report',
] as const;
export const StageSchema = lazySchema('StageSchema', () =>
  z.enum(STAGES),
);
export type StageName = z.infer<typeof StageSchema>;
export const STAGE_NAMES: readonly StageName[] = STAGES;

/**
 * Every pipeline activity, by name, for faults aimed at one (`simulation.faults[].activity`). A
 * unit test keeps it equal to the activities the worker registers (createPipelineActivities).
 */
export const ACTIVITY_NAMES = [
  'ensureCluster',
  'awaitClusterRunning',
  'ensureNodePool',
  'awaitNodePoolRunning',
  'deleteNodePool',
  'deleteCluster',
  'ensureGpuDriver',
  'awaitAllocatableGpus',
  'resolveEngine',
  'buildEngine',
  'publishRepository',
  'deleteRepositoryVersionIfUnserved',
  'loadBaseline',
  'saveBaseline',
  'loadReleaseRecord',
  'recordReleaseChange',
  'describeRelease',
  'upgradeRelease',
  'rollbackRelease',
  'recoverRelease',
  'uninstallRelease',
  'awaitReleaseServing',
  'measureVariant',
  'enableAutoscaling',
  'runLoadDrill',
  'writeReport',
] as const;
export type ActivityName = (typeof ACTIVITY_NAMES)[number];

export const FaultSchema = lazySchema('FaultSchema', () =>
  z
    .object({
      /** The stage whose main activity fails (cluster: ensureCluster, release: upgradeRelease ...). */
      stage: StageSchema.optional(),
      /** Or the activity itself, by name: any of them, inverses included (deleteCluster, rollbackRelease ...). */
      activity: z.enum(ACTIVITY_NAMES, { error: `fault.activity must be one of ${ACTIVITY_NAMES.join(', ')}` }).optional(),
      times: positiveInt('fault.times').default(1),
      /**
       * latency-spike (stage validation): the first `times` sweeps of each variant see every latency 100x, and at least twice the SLA's bound (a noisy neighbour).
       * lost-reply: the first `times` attempts apply their call, then fail before replying with a transient
       * error (UNAVAILABLE, connection reset), as a network cut after the server applied the request looks.
       */
      kind: z.enum(['transient', 'quota-exceeded', 'permission-denied', 'invalid-argument', 'latency-spike', 'lost-reply']).default('transient'),
    })
    .strict()
    .superRefine((fault, ctx) => {
      if ((fault.stage === undefined) === (fault.activity === undefined)) {
        ctx.addIssue({
          code: 'custom',
          path: fault.stage === undefined ? ['stage'] : ['activity'],
          message: 'a fault names either a stage (e.g. stage: cluster) or an activity (e.g. activity: deleteCluster), not both',
        });
      }
    }),
);

export const SimulationSchema = lazySchema('SimulationSchema', () =>
  z
    .object({
      /** Multiplies simulated durations (cluster create ~5 min, engine build ~3 min ...); 0 = instant. */
      speed: z.number().min(0).max(1).default(0.002),
      faults: z.array(FaultSchema).default([]),
      /** Makes the release deployed by this spec serve slower by this fraction (regression drill). */
      regression: z.number().min(0).max(0.99).default(0),
    })
    .strict(),
);

export const TargetSchema = lazySchema('TargetSchema', () => z.enum(['sim', 'gke', 'local'], { error: 'target must be one of "sim", "gke", "local"' }));

export const DeploymentSpecSchema = lazySchema('DeploymentSpecSchema', () =>
  z
    .object({
      apiVersion: z.literal('triton.pipeline/v1', { error: 'apiVersion must be "triton.pipeline/v1"' }),
      kind: z.literal('TritonDeployment', { error: 'kind must be "TritonDeployment"' }),
      target: TargetSchema,
      project: dnsName('project', 30),
      region: z.string().regex(/^[a-z]+-[a-z]+\d+$/, { error: 'region looks like "us-central1"' }).default('us-central1'),
      zone: z.string().regex(/^[a-z]+-[a-z]+\d+-[a-z]$/, { error: 'zone looks like "us-central1-a"' }).default('us-central1-a'),
      bucket: z.string().regex(/^gs:\/\/[a-z0-9][-a-z0-9_.]{1,61}[a-z0-9]$/, {
        error: 'bucket must be "gs://<bucket-name>" without a path (e.g. "gs://my-models")',
      }),
      repositoryPrefix: z.string().regex(/^[A-Za-z0-9_-]+(\/[A-Za-z0-9_-]+)*$/).default('model_repository'),
      cluster: ClusterSchema.default({
        name: 'nvidia-gcp-gke',
        machineType: 'n1-standard-8',
        nodes: 1,
        releaseChannel: 'regular',
        deleteOnFailure: false,
      }),
      nodePool: NodePoolSchema.default({
        name: 'accel',
        machineType: 'n1-standard-8',
        acceleratorType: 'nvidia-tesla-t4',
        acceleratorCount: 1,
        diskSizeGb: 100,
        minNodes: 1,
        maxNodes: 3,
        initialNodes: 1,
        autoRepair: true,
        gpuDriver: 'installer-daemonset',
      }),
      models: z.array(ModelSchema).min(1, { error: 'models needs at least one model' }),
      release: ReleaseSchema.default({
        name: 'triton',
        namespace: 'default',
        image: 'nvcr.io/nvidia/tritonserver:24.08-py3',
        replicas: 1,
        internalLoadBalancer: true,
        monitoring: 'podmonitoring',
        strategy: 'preview',
        bake: { sweeps: 1, tolerance: 0.25 },
      }),
      autoscaling: AutoscalingSchema.default({
        enabled: true,
        metric: 'gpu-utilization',
        target: 70,
        minReplicas: 1,
        maxReplicas: 3,
        installMetricsAdapter: true,
        scaleDownStabilizationSeconds: 300,
      }),
      approval: ApprovalSchema.default({ required: false, timeoutSeconds: 86_400 }),
      reoptimize: ReoptimizationSchema.optional(),
      simulation: SimulationSchema.optional(),
    })
    .strict()
    .superRefine((spec, ctx) => {
      const variantNames = new Map<string, string>();
      const modelIndexes = new Map<string, number>();
      spec.models.forEach((model, m) => {
        const first = modelIndexes.get(model.name);
        if (first !== undefined) {
          ctx.addIssue({
            code: 'custom',
            path: ['models', m, 'name'],
            message: `model name "${model.name}" is already used by models[${first}]; model names must be unique (they name the engine build)`,
          });
        } else {
          modelIndexes.set(model.name, m);
        }
        model.variants.forEach((variant, v) => {
          const path = ['models', m, 'variants', v];
          const owner = variantNames.get(variant.name);
          if (owner !== undefined) {
            ctx.addIssue({
              code: 'custom',
              path: [...path, 'name'],
              message: `variant name "${variant.name}" is already used by model "${owner}"; Triton model names must be unique in one repository`,
            });
          }
          variantNames.set(variant.name, model.name);
          const profileIndex = variant.profile ?? model.optimizationProfiles.length - 1;
          const profile = model.optimizationProfiles[profileIndex];
          if (profile === undefined) {
            ctx.addIssue({
              code: 'custom',
              path: [...path, 'profile'],
              message: `profile ${profileIndex} does not exist; choose 0..${model.optimizationProfiles.length - 1} (one per optimizationProfiles entry)`,
            });
          } else if (variant.maxBatchSize > profile.max) {
            ctx.addIssue({
              code: 'custom',
              path: [...path, 'maxBatchSize'],
              message: `maxBatchSize ${variant.maxBatchSize} exceeds the chosen profile's max batch ${profile.max}; lower it or pick a profile with a larger max`,
            });
          }
          for (const size of variant.dynamicBatching?.preferredBatchSizes ?? []) {
            if (size > variant.maxBatchSize) {
              ctx.addIssue({
                code: 'custom',
                path: [...path, 'dynamicBatching', 'preferredBatchSizes'],
                message: `preferred batch size ${size} exceeds maxBatchSize ${variant.maxBatchSize}; use sizes <= maxBatchSize`,
              });
            }
          }
        });
        if (model.sla.batchSize > Math.min(...model.variants.map((v) => v.maxBatchSize))) {
          ctx.addIssue({
            code: 'custom',
            path: ['models', m, 'sla', 'batchSize'],
            message: 'sla.batchSize exceeds a variant\'s maxBatchSize; perf requests would be rejected by Triton',
          });
        }
        const { start, end, step } = model.sla.concurrency;
        const bake = spec.release.bake;
        if (bake.concurrency !== undefined && spec.release.strategy === 'preview' && bake.sweeps > 0 && (bake.concurrency < start || bake.concurrency > end || (bake.concurrency - start) % step !== 0)) {
          ctx.addIssue({
            code: 'custom',
            path: ['release', 'bake', 'concurrency'],
            message: `bake concurrency ${bake.concurrency} is not one model "${model.name}"'s validation sweep measures (${start}..${end} step ${step}); the bake compares the live release with the preview at the same concurrency`,
          });
        }
        if (model.format === 'transformers' && model.sequenceLength === undefined) {
          ctx.addIssue({
            code: 'custom',
            path: ['models', m, 'sequenceLength'],
            message: 'a Transformers model (BERT) build needs sequenceLength, the sequence dimension of its engine (the sample uses 384)',
          });
        }
        if (model.precision === 'int8' && model.calibration === undefined && spec.target === 'gke') {
          ctx.addIssue({
            code: 'custom',
            path: ['models', m, 'calibration'],
            message: 'an INT8 engine needs calibration: data (an .npz of input arrays to calibrate on) or cache (a calibration cache written by the same TensorRT for this model); or set precision: fp16',
          });
        }
        if (model.precision !== 'int8' && model.calibration !== undefined) {
          ctx.addIssue({
            code: 'custom',
            path: ['models', m, 'calibration'],
            message: `calibration is used only by INT8 builds; remove it or set precision: int8 (the model is ${model.precision})`,
          });
        }
      });
      const attachment = attachmentProblem(spec.nodePool.acceleratorType, spec.nodePool.machineType, spec.nodePool.acceleratorCount);
      if (attachment !== undefined) ctx.addIssue({ code: 'custom', ...attachmentIssue(spec.nodePool, attachment) });
      if (spec.nodePool.minNodes > spec.nodePool.maxNodes) {
        ctx.addIssue({
          code: 'custom',
          path: ['nodePool', 'minNodes'],
          message: `minNodes (${spec.nodePool.minNodes}) must be <= maxNodes (${spec.nodePool.maxNodes})`,
        });
      }
      if (spec.nodePool.initialNodes > spec.nodePool.maxNodes || spec.nodePool.initialNodes < spec.nodePool.minNodes) {
        ctx.addIssue({
          code: 'custom',
          path: ['nodePool', 'initialNodes'],
          message: 'initialNodes must lie between minNodes and maxNodes',
        });
      }
      if (spec.autoscaling.minReplicas > spec.autoscaling.maxReplicas) {
        ctx.addIssue({
          code: 'custom',
          path: ['autoscaling', 'minReplicas'],
          message: `minReplicas (${spec.autoscaling.minReplicas}) must be <= maxReplicas (${spec.autoscaling.maxReplicas})`,
        });
      }
      // GKE's managed DCGM metrics run on GKE-managed GPU drivers only (GKE docs, "Collect and view DCGM metrics").
      if (spec.target === 'gke' && spec.autoscaling.enabled && spec.autoscaling.metric === 'gpu-utilization' && spec.nodePool.gpuDriver === 'installer-daemonset') {
        ctx.addIssue({
          code: 'custom',
          path: ['nodePool', 'gpuDriver'],
          message: 'autoscaling on gpu-utilization reads GKE\'s managed DCGM metrics, which need GPU drivers that GKE installs; set nodePool.gpuDriver: gke-default (or gke-latest), or scale on triton-queue-time-us or triton-inflight-requests',
        });
      }
      const drill = spec.autoscaling.loadDrill;
      if (drill !== undefined) {
        if (!spec.autoscaling.enabled) {
          ctx.addIssue({ code: 'custom', path: ['autoscaling', 'loadDrill'], message: 'a load drill watches the HPA scale the release; set autoscaling.enabled: true or remove autoscaling.loadDrill' });
        }
        if (spec.target === 'sim') {
          ctx.addIssue({ code: 'custom', path: ['autoscaling', 'loadDrill'], message: 'a load drill needs a real HPA controller and node autoscaler: run it with target local (or gke)' });
        }
        if (drill.variant !== undefined && !spec.models.some((m) => m.variants.some((v) => v.name === drill.variant))) {
          ctx.addIssue({ code: 'custom', path: ['autoscaling', 'loadDrill', 'variant'], message: `no variant is named "${drill.variant}"; name one of the models' variants` });
        }
      }
      if (spec.simulation !== undefined && spec.target === 'gke') {
        ctx.addIssue({
          code: 'custom',
          path: ['simulation'],
          message: 'simulation settings only apply to targets "sim" and "local"; remove them for gke',
        });
      }
      if (spec.target === 'local') {
        if ((spec.simulation?.regression ?? 0) > 0) {
          ctx.addIssue({
            code: 'custom',
            path: ['simulation', 'regression'],
            message: 'the local target measures a real Triton; to drill a regression deploy a slower model (e.g. gs://<bucket>/sources/resnet-mini-slow.onnx) instead',
          });
        }
        if (spec.release.monitoring === 'podmonitoring' || spec.release.monitoring === 'servicemonitor') {
          ctx.addIssue({
            code: 'custom',
            path: ['release', 'monitoring'],
            message: 'the local cluster has no Prometheus Operator or Managed Prometheus CRDs; its Prometheus finds pods by annotation: set release.monitoring: prometheus-annotations (or none)',
          });
        }
        if (spec.autoscaling.enabled && spec.autoscaling.metric === 'gpu-utilization') {
          ctx.addIssue({
            code: 'custom',
            path: ['autoscaling', 'metric'],
            message: 'Triton on the CPU exports no GPU utilisation; scale on triton-queue-time-us or triton-inflight-requests',
          });
        }
        if (spec.autoscaling.enabled && spec.release.monitoring === 'none') {
          ctx.addIssue({
            code: 'custom',
            path: ['release', 'monitoring'],
            message: "the HPA's metric comes from the local cluster's Prometheus, which scrapes only annotated pods; set release.monitoring: prometheus-annotations (or autoscaling.enabled: false)",
          });
        }
        if (spec.autoscaling.enabled && spec.autoscaling.installMetricsAdapter) {
          ctx.addIssue({
            code: 'custom',
            path: ['autoscaling', 'installMetricsAdapter'],
            message: 'the local cluster serves custom metrics from its own prometheus-adapter (scripts/local-cluster.sh starts it); set autoscaling.installMetricsAdapter: false',
          });
        }
        spec.models.forEach((model, m) => {
          if (model.format !== 'onnx') {
            ctx.addIssue({ code: 'custom', path: ['models', m, 'format'], message: 'the local target serves ONNX models on the CPU (TensorRT builds and Transformers exports need the GPU builder); use format: onnx' });
          }
          if (!model.source.startsWith('gs://')) {
            ctx.addIssue({ code: 'custom', path: ['models', m, 'source'], message: 'the local target reads model sources from its GCS emulator; use a gs:// URI (npm start uploads the example models)' });
          }
        });
        if (spec.release.internalLoadBalancer) {
          ctx.addIssue({
            code: 'custom',
            path: ['release', 'internalLoadBalancer'],
            message: 'the local cluster has no load-balancer controller (helm --wait would never finish); set release.internalLoadBalancer: false',
          });
        }
      }
    }),
);

/** The spec as written by a user (defaults optional). */
export type DeploymentSpecInput = z.input<typeof DeploymentSpecSchema>;
/** The spec after validation, defaults filled in. */
export type DeploymentSpec = z.output<typeof DeploymentSpecSchema>;
export type ModelSpec = DeploymentSpec['models'][number];
export type VariantSpec = ModelSpec['variants'][number];
export type OptimizationProfile = ModelSpec['optimizationProfiles'][number];
export type SlaSpec = ModelSpec['sla'];
export type AutoscalingSpec = DeploymentSpec['autoscaling'];
export type ReleaseSpec = DeploymentSpec['release'];
export type SimulationSpec = z.output<typeof SimulationSchema>;
export type FaultSpec = SimulationSpec['faults'][number];
export type SearchSpace = z.output<typeof SearchSpaceSchema>;
export type PreferredChoice = 'none' | 'max-batch' | number[];
export type Target = DeploymentSpec['target'];
