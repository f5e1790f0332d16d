/** Chapter "Test out auto scaling": an autoscaling/v2 HPA on a release-scoped metric, node-pool autoscaling from the spec. */
import { renderHpa } from '../plan/helm-values.js';
import type { DeploymentSpec } from '../spec/schema.js';
import type { ClusterScoped } from './context.js';
import { calling } from './errors.js';
import type { ClusterRef, GkeApi, KubeApi } from './ports.js';

export function createAutoscalingActivities({ gke, kube }: { gke: GkeApi; kube(ref: ClusterRef): KubeApi }) {
  return {
    async enableAutoscaling({ cluster, spec }: ClusterScoped & { spec: DeploymentSpec }): Promise<{ hpa: string | null }> {
      const { nodePool } = spec;
      await calling('set node pool autoscaling', () =>
        gke.setNodePoolAutoscaling(cluster, nodePool.name, nodePool.minNodes, nodePool.maxNodes),
      );
      if (!spec.autoscaling.enabled) return { hpa: null };
      const hpa = renderHpa(spec);
      await calling('apply HPA', () => kube(cluster).apply(hpa));
      return { hpa: `${spec.release.namespace}/${hpa.metadata.name}` };
    },
  };
}
