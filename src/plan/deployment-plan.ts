/** What a deployment would do, as data: the dry run (`plan`) prints it and touches nothing. Pure. */
import type { V1DaemonSet } from '@kubernetes/client-node';
import type { KubeObject, Manifest } from '../ports/systems.js';
import type { DeploymentSpec, StageName } from '../spec/schema.js';
import { type ModelConfigInput, modelConfigFromVariant, renderModelConfig } from '../triton/model-config.js';
import { servingTargetFor } from '../triton/serving-target.js';
import { METRIC_UNIT } from '../triton/metrics.js';
import { clusterMonitoringFor, previewReleaseName, RECORDED_METRICS, recordingRules, renderHpa, tritonValues, type TritonValues } from './helm-values.js';
import { deploymentWorkflowId, taskQueueFor } from './ids.js';
import { engineBuilderImageFor, JOB_NAMESPACE } from './jobs.js';
import { drillVariant } from './load-drill.js';
import { repositoryVersionUri } from './layout.js';
import { type ProjectPrerequisites, projectPrerequisites } from './prerequisites.js';

export const PLANNED_VERSION = '<new-version>';

export interface DeploymentPlan {
  workflowId: string;
  taskQueue: string;
  stages: Array<{ stage: StageName; actions: string[] }>;
  modelConfigs: Array<{ path: string; text: string }>;
  helmValues: TritonValues;
  manifests: KubeObject[];
  /** What the GCP project needs first (the gke target only). */
  prerequisites: ProjectPrerequisites | null;
}

export interface PlanAssets {
  driverInstaller: Manifest<V1DaemonSet>;
  /** APIService, RBAC, Deployment, Service ...: one object per document. */
  metricsAdapter: KubeObject[];
}

/** Where the HPA's recorded gauge comes from (the chart's recording rules, src/plan/helm-values.ts RECORDED_METRICS). */
function recorded(spec: DeploymentSpec): string {
  const rules = recordingRules(spec);
  if (rules.gpuUtilization) return `, read as ${RECORDED_METRICS.gpuUtilization} (the release's ClusterRules over GKE's managed DCGM metrics)`;
  if (rules.queueTime) return `, read as ${RECORDED_METRICS.queueTime} (the release's Rules over Triton's queue and request counters)`;
  if (spec.target === 'gke' && spec.autoscaling.metric !== 'triton-inflight-requests') {
    return `; release.monitoring ${spec.release.monitoring} records no gauge for it, so the HPA finds no metric (set release.monitoring: podmonitoring)`;
  }
  return '';
}

/** Where a variant's instances run in each Triton pod, as its config.pbtxt places them. */
function placementOf(config: ModelConfigInput, gpusPerPod: number): string {
  const instances = `${config.instances} instance${config.instances === 1 ? '' : 's'}`;
  if (config.kind !== 'KIND_GPU') return `${instances} on the CPU`;
  if (config.gpus !== undefined) return `${instances} on GPU ${config.gpus.join(', ')}`;
  return `${instances} on each of the pod's ${gpusPerPod} GPUs, ${config.instances * gpusPerPod} in all`;
}

export function planDeployment(spec: DeploymentSpec, { driverInstaller, metricsAdapter }: PlanAssets): DeploymentPlan {
  const repository = repositoryVersionUri(spec.bucket, spec.repositoryPrefix, PLANNED_VERSION);
  const { cluster, nodePool, release } = spec;
  const workflowId = deploymentWorkflowId(spec);
  const gpusPerPod = nodePool.acceleratorCount;
  const configInputs = spec.models.flatMap((model) => model.variants.map((variant) => modelConfigFromVariant(model, variant, servingTargetFor(spec.target), gpusPerPod)));
  const modelConfigs = configInputs.map((config) => ({ path: `${repository}/${config.name}/config.pbtxt`, text: renderModelConfig(config) }));
  const hpa = renderHpa(spec);
  const drill = spec.autoscaling.loadDrill;
  const monitoring = clusterMonitoringFor(spec);
  const gate = spec.release.strategy === 'preview' ? 'reject (the live release untouched)' : 'roll back';
  const previewStage = {
    stage: 'preview' as const,
    actions: [`helm upgrade --install ${previewReleaseName(release.name)} deploy/charts/triton -n ${release.namespace} --wait (1 replica, ClusterIP, no HPA: no production traffic; the live release keeps serving)`],
  };
  const validationStage = {
    stage: 'validation' as const,
    actions: [
      ...spec.models.flatMap((m) =>
        m.variants.map(
          (v) =>
            `perf_analyzer sweep ${v.name}: batch ${m.sla.batchSize}, concurrency ${m.sla.concurrency.start}..${m.sla.concurrency.end}; gate p${m.sla.percentile} <= ${m.sla.latencyMs} ms at >= ${m.sla.minThroughput} infer/s; ${m.sla.repeats} conclusive sweeps; ${gate} if below the serving release's baseline (release record) by more than ${(m.sla.regressionTolerance * 100).toFixed(0)}% or what its noise history needs`,
        ),
      ),
      ...(spec.approval.required ? [`wait up to ${spec.approval.timeoutSeconds} s for an approval naming the run (approveRelease Update); expiry aborts`] : []),
    ],
  };
  const releaseStage = {
    stage: 'release' as const,
    actions: [
      ...(release.strategy === 'preview' ? [`helm uninstall ${previewReleaseName(release.name)} (frees its GPU for the rolling update)`] : []),
      `helm upgrade --install ${release.name} deploy/charts/triton -n ${release.namespace} --wait (image ${release.image}, ${release.replicas} replicas)`,
    ],
  };
  const bakeStage = {
    stage: 'bake' as const,
    actions: [
      release.bake.sweeps === 0
        ? 'no bake sweeps (release.bake.sweeps: 0)'
        : `${release.bake.sweeps} perf_analyzer sweep(s) per variant of the live release at concurrency ${release.bake.concurrency ?? 'sla.concurrency.start'}; helm rollback if it serves more than ${(release.bake.tolerance * 100).toFixed(0)}% less than the preview did there, or breaks the latency bound`,
    ],
  };
  return {
    workflowId,
    taskQueue: taskQueueFor(spec.target),
    prerequisites: spec.target === 'gke' ? projectPrerequisites(spec) : null,
    stages: [
      {
        stage: 'cluster',
        actions: [
          `ensure cluster ${spec.project}/${spec.zone}/${cluster.name} (${cluster.machineType} x${cluster.nodes}, ${cluster.releaseChannel} channel): adopt if it matches, create if missing`,
          `ensure node pool ${nodePool.name}: ${nodePool.initialNodes}x ${nodePool.machineType} with ${nodePool.acceleratorCount}x ${nodePool.acceleratorType}, autoscaling ${nodePool.minNodes}-${nodePool.maxNodes}, disk ${nodePool.diskSizeGb} GB`,
        ],
      },
      {
        stage: 'driver',
        actions: [
          nodePool.gpuDriver === 'installer-daemonset'
            ? 'apply deploy/manifests/nvidia-driver-installer.yaml (server-side apply)'
            : `GKE installs the driver (${nodePool.gpuDriver})`,
          'wait until the pool reports allocatable nvidia.com/gpu',
        ],
      },
      {
        stage: 'engines',
        actions: spec.models.map(
          (m) =>
            `build ${m.name} (${m.format}, ${m.precision}, profiles ${m.optimizationProfiles.map((p) => `(${p.min},${p.opt},${p.max})`).join(' ')}) with ${engineBuilderImageFor(spec)} on ${nodePool.acceleratorType}, unless an engine with the same content hash exists`,
        ),
      },
      {
        stage: 'repository',
        actions: [`publish ${modelConfigs.length} variants under ${repository}, manifest last`, ...configInputs.map((config) => `${config.name}: ${placementOf(config, gpusPerPod)}`)],
      },
      ...(release.strategy === 'preview' ? [previewStage, validationStage, releaseStage, bakeStage] : [releaseStage, validationStage]),
      {
        stage: 'autoscaling',
        actions: [
          ...(monitoring !== null ? [`cluster monitoring ${monitoring.join(',')} with Managed Prometheus (GKE's managed DCGM metrics): gcloud container clusters update if the cluster lacks it`] : []),
          `node pool autoscaling ${nodePool.minNodes}-${nodePool.maxNodes}`,
          ...(spec.autoscaling.enabled && spec.autoscaling.installMetricsAdapter ? ['apply deploy/manifests/custom-metrics-adapter.yaml (serves the HPA metric)'] : []),
          spec.autoscaling.enabled
            ? `HPA ${release.namespace}/${hpa.metadata.name} on ${spec.autoscaling.metric} (${METRIC_UNIT[spec.autoscaling.metric]}, per pod) target ${spec.autoscaling.target}, replicas ${spec.autoscaling.minReplicas}-${spec.autoscaling.maxReplicas}${recorded(spec)}`
            : 'HPA disabled',
        ],
      },
      ...(drill === undefined
        ? []
        : [
            {
              stage: 'load-drill' as const,
              actions: [
                `hold perf_analyzer at concurrency ${drill.concurrency} on ${drillVariant(spec)} (Job in ${JOB_NAMESPACE}) until the HPA has scaled ${release.namespace}/${release.name} up and every pod serves, at most ${drill.scaleUpTimeoutSeconds} s`,
                `then delete the load Job and watch the release go back to ${spec.autoscaling.minReplicas} replica(s) and the pool to its size before, at most ${drill.scaleDownTimeoutSeconds} s`,
              ],
            },
          ]),
      { stage: 'report', actions: ['write the HTML report locally and to the bucket'] },
    ],
    modelConfigs,
    helmValues: tritonValues(spec, repository, { deploymentId: workflowId, repositoryVersion: PLANNED_VERSION }),
    manifests: [
      ...(nodePool.gpuDriver === 'installer-daemonset' ? [driverInstaller] : []),
      ...(spec.autoscaling.enabled && spec.autoscaling.installMetricsAdapter ? metricsAdapter : []),
      ...(spec.autoscaling.enabled ? [hpa] : []),
    ],
  };
}
