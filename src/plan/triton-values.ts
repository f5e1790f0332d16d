/**
 * The values of deploy/charts/triton, as one zod schema: deploy/charts/triton/values.schema.json is
 * generated from it (`npm run schema`; helm checks the merged values against that file on lint,
 * template and install), and TritonValues, the values the pipeline sets, is a part of it. Pure.
 *
 * TritonChartValuesSchema covers every key the chart's templates read, as values.yaml sets them;
 * TritonValuesSchema is the contract block the pipeline renders (tritonValues(), previewValues()),
 * which helm merges over those defaults.
 */
import { z } from 'zod';

/** A Kubernetes resource quantity ("2", "8Gi", 1). */
const quantity = z.union([z.string(), z.number()]).meta({ id: 'quantity' });
const intOrPercent = z.union([z.int().min(0), z.string().regex(/^[0-9]+%$/)]).meta({ id: 'intOrPercent' });
const labelMap = z.record(z.string(), z.string()).meta({ id: 'labelMap' });
/** A Kubernetes object the chart renders verbatim (toYaml): the API server checks it, not the chart. */
const passThrough = z.record(z.string(), z.unknown());
/** Lists of Kubernetes objects rendered verbatim, with the fields the API needs to merge them. */
const itemsWith = <Shape extends Record<string, z.ZodString>>(shape: Shape) => z.array(z.looseObject(shape));

const probe = z
  .strictObject({
    periodSeconds: z.int().min(1),
    failureThreshold: z.int().min(1),
    successThreshold: z.int().min(1).optional(),
    timeoutSeconds: z.int().min(1),
  })
  .meta({ id: 'probe' });

const image = z.strictObject({
  name: z.string().min(1).describe('Triton image with tag'),
  pullPolicy: z.enum(['Always', 'IfNotPresent', 'Never']),
});

const service = z.strictObject({
  type: z.enum(['ClusterIP', 'NodePort', 'LoadBalancer']),
  internal: z.boolean(),
  annotations: labelMap.optional(),
});

const metrics = z.strictObject({ summaryLatencies: z.boolean().optional() });

const pipeline = z.strictObject({ deploymentId: z.string().optional(), repositoryVersion: z.string().optional() });

/** Google Managed Prometheus recording rules for the pipeline's HPA (templates/rules.yaml). */
const recordingRules = z.strictObject({
  queueTime: z.boolean().describe('Rules: mean queue time per request per pod, from Triton\'s counters (kind podmonitoring only)'),
  gpuUtilization: z.boolean().describe('ClusterRules: mean GPU utilization per pod, from GKE\'s managed DCGM metrics (kind podmonitoring only)'),
});

const monitoring = z.strictObject({
  kind: z.enum(['podmonitoring', 'servicemonitor', 'prometheus-annotations', 'none']),
  interval: z.string().regex(/^[0-9]+(ms|s|m|h)$/).optional(),
  labels: labelMap.optional(),
  rules: recordingRules.optional(),
});

const autoscaling = z.strictObject({
  enabled: z.boolean(),
  external: z.boolean().optional(),
  minReplicas: z.int().min(1).optional(),
  maxReplicas: z.int().min(1).optional(),
  metric: z.strictObject({ name: z.string().min(1), averageValue: quantity }).optional(),
  metrics: itemsWith({ type: z.string() }).optional(),
});

const chartValues = z.strictObject({
  global: passThrough.optional(),
  replicaCount: z.int().min(0),
  image,
  modelRepositoryPath: z
    .string()
    .regex(/^((gs|s3|as):\/\/\S+|\/\S*)$/)
    .describe('gs://, s3://, as:// URI or an absolute path in the container'),
  modelControlMode: z.enum(['none', 'poll', 'explicit']),
  models: z
    .array(z.string().min(1).regex(/^[^\s,]+$/))
    .refine((names) => new Set(names).size === names.length, { error: 'models must not repeat a name' })
    .meta({ uniqueItems: true }),
  gpusPerReplica: z.int().min(0),
  nodePool: z.string().optional(),
  acceleratorType: z.string().optional(),
  service,
  metrics,
  pipeline,
  nameOverride: z.string().max(63).optional(),
  imagePullSecrets: itemsWith({ name: z.string() }).optional(),
  strictModelConfig: z.boolean().optional(),
  logVerbose: z.int().min(0).optional(),
  ldPreload: z.string().optional(),
  extraArgs: z.array(z.string().regex(/^--/)).optional(),
  env: itemsWith({ name: z.string() }).optional(),
  resources: z
    .strictObject({
      requests: z.record(z.string(), quantity).optional(),
      limits: z
        .record(z.string(), quantity)
        .refine((limits) => !('nvidia.com/gpu' in limits), { error: 'the nvidia.com/gpu limit comes from gpusPerReplica' })
        .meta({ not: { required: ['nvidia.com/gpu'] }, description: 'CPU/memory limits; the GPU limit comes from gpusPerReplica' })
        .optional(),
    })
    .optional(),
  probes: z.strictObject({ startup: probe, liveness: probe, readiness: probe }).optional(),
  terminationGracePeriodSeconds: z.int().min(0).optional(),
  strategy: passThrough.optional(),
  podSecurityContext: passThrough.optional(),
  securityContext: passThrough.optional(),
  sharedMemory: z.strictObject({ enabled: z.boolean().optional(), sizeLimit: quantity.optional() }).optional(),
  serviceAccount: z
    .strictObject({
      create: z.boolean().optional(),
      name: z.string().optional(),
      gcpServiceAccount: z
        .string()
        .regex(/^$|^[a-z][-a-z0-9]*@[-a-z0-9.]+\.iam\.gserviceaccount\.com$/)
        .describe('GSA email for Workload Identity, e.g. triton@PROJECT.iam.gserviceaccount.com')
        .optional(),
      annotations: labelMap.optional(),
    })
    .optional(),
  podAnnotations: labelMap.optional(),
  podLabels: labelMap.optional(),
  nodeSelector: labelMap.optional(),
  tolerations: z.array(passThrough).optional(),
  affinity: passThrough.optional(),
  priorityClassName: z.string().optional(),
  extraVolumes: itemsWith({ name: z.string() }).optional(),
  extraVolumeMounts: itemsWith({ name: z.string(), mountPath: z.string() }).optional(),
  monitoring: monitoring.optional(),
  autoscaling: autoscaling.optional(),
  podDisruptionBudget: z
    .strictObject({ enabled: z.boolean().optional(), minAvailable: intOrPercent.optional(), maxUnavailable: intOrPercent.optional() })
    .optional(),
});

/** Explicit model control loads only `models`: without one, Triton would start with nothing loaded. */
function explicitNeedsModels(values: { modelControlMode: string; models: string[] }, ctx: z.RefinementCtx): void {
  if (values.modelControlMode === 'explicit' && values.models.length === 0) {
    ctx.addIssue({ code: 'custom', path: ['models'], message: 'modelControlMode explicit needs at least one entry in models' });
  }
}

/** The chart's values after helm merged values.yaml and the user's: what values.schema.json checks. */
export const TritonChartValuesSchema = chartValues.superRefine(explicitNeedsModels).meta({
  $comment: 'Generated from src/plan/triton-values.ts by `npm run schema`: edit that file, not this one.',
  title: 'Values of the triton chart',
  allOf: [
    {
      if: { properties: { modelControlMode: { const: 'explicit' } }, required: ['modelControlMode'] },
      then: { properties: { models: { minItems: 1 } } },
    },
  ],
});

export type TritonChartValues = z.infer<typeof TritonChartValuesSchema>;

/** What the pipeline sets on `helm upgrade --install`: the chart's contract keys, all of them. */
export const TritonValuesSchema = z
  .strictObject({
    ...chartValues.pick({ replicaCount: true, image: true, modelRepositoryPath: true, modelControlMode: true, models: true, gpusPerReplica: true }).shape,
    nodePool: chartValues.shape.nodePool.unwrap(),
    acceleratorType: chartValues.shape.acceleratorType.unwrap(),
    service: service.pick({ type: true, internal: true }),
    metrics: metrics.required(),
    monitoring: monitoring.pick({ kind: true, rules: true }),
    /** The pipeline's HPA scales the Deployment: the chart leaves its replica count alone. */
    autoscaling: autoscaling.pick({ external: true }).required(),
    pipeline: pipeline.required(),
  })
  .superRefine(explicitNeedsModels);

export type TritonValues = z.infer<typeof TritonValuesSchema>;

/** deploy/charts/triton/values.schema.json (draft 7, as helm reads it). */
export function tritonValuesJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(TritonChartValuesSchema, { target: 'draft-7', io: 'input' }) as Record<string, unknown>;
}
