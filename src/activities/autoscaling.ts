/** Chapter "Test out auto scaling": an autoscaling/v2 HPA on a release-scoped metric, node-pool autoscaling from the spec. */
import { clusterMonitoringFor, renderHpa } from '../plan/helm-values.js';
import type { DeploymentSpec } from '../spec/schema.js';
import type { ClusterScoped } from '../ports/run.js';
import { calling } from '../ports/errors.js';
import { callingWhenClusterIdle, ensureClusterMonitoring } from './cluster.js';
import type { ClusterRef, GkeApi, KubeApi, KubeObject } from '../ports/systems.js';

export interface AutoscalingDeps {
  gke: GkeApi;
  kube(ref: ClusterRef): KubeApi;
  /** deploy/manifests/custom-metrics-adapter.yaml: serves the HPA's metric from Cloud Monitoring. */
  metricsAdapter: KubeObject[];
}

export interface AutoscalingResult {
  hpa: string | null;
  /** The GKE operation that turned on the monitoring the HPA's metric needs (managed DCGM); absent when it was on. */
  monitoringOperation?: string;
}

export function createAutoscalingActivities({ gke, kube, metricsAdapter }: AutoscalingDeps) {
  return {
    async enableAutoscaling({ cluster, spec }: ClusterScoped & { spec: DeploymentSpec }): Promise<AutoscalingResult> {
      const { nodePool } = spec;
      // Before the pool's update: GKE runs one operation at a time, so the pool's update is refused
      // (not ready yet, retried) while this one runs, and the retry finds the components on.
      const monitoring = clusterMonitoringFor(spec);
      const monitoringOperation = monitoring === null ? null : await ensureClusterMonitoring(gke, cluster, monitoring);
      await callingWhenClusterIdle('set node pool autoscaling', () =>
        gke.setNodePoolAutoscaling(cluster, nodePool.name, nodePool.minNodes, nodePool.maxNodes),
      );
      const operation = monitoringOperation === null ? {} : { monitoringOperation };
      if (!spec.autoscaling.enabled) return { hpa: null, ...operation };
      const api = kube(cluster);
      if (spec.autoscaling.installMetricsAdapter) {
        for (const object of metricsAdapter) await calling(`apply metrics adapter ${object.kind} ${object.metadata.name}`, () => api.apply(object));
      }
      const hpa = renderHpa(spec);
      await calling('apply HPA', () => api.apply(hpa));
      return { hpa: `${spec.release.namespace}/${hpa.metadata.name}`, ...operation };
    },
  };
}
