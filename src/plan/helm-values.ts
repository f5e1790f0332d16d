/** Values for deploy/charts/triton and the HPA, computed from the spec as data. Pure. */
import type { V2HorizontalPodAutoscaler, V2MetricSpec } from '@kubernetes/client-node';
import type { KubeJson, Manifest } from '../ports/systems.js';
import type { DeploymentSpec } from '../spec/schema.js';
import type { PipelineMarker } from '../ports/run.js';
import type { TritonValues } from './triton-values.js';

export type { TritonValues } from './triton-values.js';

export function tritonValues(spec: DeploymentSpec, repositoryUri: string, marker: PipelineMarker): TritonValues {
  return {
    replicaCount: spec.release.replicas,
    image: { name: spec.release.image, pullPolicy: 'IfNotPresent' },
    modelRepositoryPath: spec.release.modelRepositoryPath ?? repositoryUri,
    modelControlMode: 'explicit',
    models: spec.models.flatMap((m) => m.variants.map((v) => v.name)),
    gpusPerReplica: spec.nodePool.acceleratorCount,
    nodePool: spec.nodePool.name,
    acceleratorType: spec.nodePool.acceleratorType,
    service: { type: spec.release.internalLoadBalancer ? 'LoadBalancer' : 'ClusterIP', internal: spec.release.internalLoadBalancer },
    metrics: { summaryLatencies: true },
    monitoring: { kind: spec.release.monitoring },
    autoscaling: { external: spec.autoscaling.enabled },
    pipeline: marker,
  };
}

/** The release a preview of `release` runs as, beside it. */
export function previewReleaseName(release: string): string {
  return `${release}-preview`;
}

/**
 * A preview takes no production traffic: its own ClusterIP Service (the chart selects pods by
 * release name, so the live Service never selects it), one replica and no HPA, and no scraping
 * into the metrics the live release's HPA reads.
 */
export function previewValues(values: TritonValues): TritonValues {
  return { ...values, replicaCount: 1, service: { type: 'ClusterIP', internal: false }, monitoring: { kind: 'none' }, autoscaling: { external: false } };
}

export function pipelineMarkerOf(values: Record<string, unknown>): PipelineMarker | null {
  const marker = values['pipeline'] as Partial<PipelineMarker> | undefined;
  return marker?.deploymentId !== undefined && marker.repositoryVersion !== undefined
    ? { deploymentId: marker.deploymentId, repositoryVersion: marker.repositoryVersion }
    : null;
}

/** The chart names its Deployment after the release. */
export function tritonDeploymentName(release: string): string {
  return release;
}

/**
 * autoscaling/v2 HPA (the sample's v2beta1 is gone since Kubernetes 1.25) on a Triton or DCGM metric
 * exported through Google Managed Prometheus, with a selector limited to this release's pods.
 */
export function renderHpa(spec: DeploymentSpec): Manifest<V2HorizontalPodAutoscaler> {
  const { autoscaling, release } = spec;
  const metric: KubeJson<V2MetricSpec> =
    autoscaling.metric === 'gpu-utilization'
      ? {
          type: 'External',
          external: {
            metric: {
              name: 'prometheus.googleapis.com|DCGM_FI_DEV_GPU_UTIL|gauge',
              selector: { matchLabels: { 'metric.labels.exported_namespace': release.namespace, 'metric.labels.exported_container': 'triton' } },
            },
            target: { type: 'AverageValue', averageValue: String(autoscaling.target) },
          },
        }
      : {
          type: 'Pods',
          pods: {
            metric: {
              name:
                autoscaling.metric === 'triton-queue-time-us'
                  ? 'prometheus.googleapis.com|nv_inference_queue_duration_us|counter'
                  : 'prometheus.googleapis.com|nv_inference_pending_request_count|gauge',
              // No selector: the HPA asks for the scale target's pods already, and the metrics adapter
              // refuses any Pods-metric selector key but metric.labels.*.
            },
            target: { type: 'AverageValue', averageValue: String(autoscaling.target) },
          },
        };
  return {
    apiVersion: 'autoscaling/v2',
    kind: 'HorizontalPodAutoscaler',
    metadata: { name: release.name, namespace: release.namespace, labels: { 'app.kubernetes.io/instance': release.name } },
    spec: {
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: tritonDeploymentName(release.name) },
      minReplicas: autoscaling.minReplicas,
      maxReplicas: autoscaling.maxReplicas,
      metrics: [metric],
    },
  };
}
