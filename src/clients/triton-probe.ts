/**
 * TritonProbe through the Kubernetes API: the release's Deployment fully rolled out (what helm
 * --wait checks), the repository and models it was started with (its args), and Triton's own
 * /v2/health/ready answered through the API server's service proxy; each Ready pod's metrics port
 * scraped through the pod proxy.
 */
import { CoreV1Api, type KubeConfig, type V1Pod } from '@kubernetes/client-node';
import type { KubeApi, TritonProbe } from '../ports/systems.js';

interface DeploymentLike {
  metadata?: { generation?: number };
  spec?: { replicas?: number; template?: { spec?: { containers?: Array<{ args?: string[]; command?: string[] }> } } };
  status?: { observedGeneration?: number; updatedReplicas?: number; availableReplicas?: number; replicas?: number };
}

/** Pure: whether a Deployment finished rolling out, and what Triton was told to serve. */
export function deploymentServing(deployment: DeploymentLike): { rolledOut: boolean; modelRepository?: string; models: string[] } {
  const wanted = deployment.spec?.replicas ?? 1;
  const status = deployment.status ?? {};
  const rolledOut =
    (status.observedGeneration ?? 0) >= (deployment.metadata?.generation ?? 1) &&
    (status.updatedReplicas ?? 0) >= wanted &&
    (status.availableReplicas ?? 0) >= wanted &&
    (status.replicas ?? 0) <= wanted;
  const args = deployment.spec?.template?.spec?.containers?.flatMap((c) => [...(c.command ?? []), ...(c.args ?? [])]) ?? [];
  const flag = (name: string) => args.filter((a) => a.startsWith(`--${name}=`)).map((a) => a.slice(name.length + 3));
  const modelRepository = flag('model-repository')[0];
  return { rolledOut, ...(modelRepository === undefined ? {} : { modelRepository }), models: flag('load-model') };
}

/** A pod that is Running with its Ready condition true. */
export function isReady(pod: V1Pod): boolean {
  return pod.status?.phase === 'Running' && (pod.status.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
}

/** The chart's metrics port (deploy/charts/triton). */
const METRICS_PORT = 8002;

export interface TritonProbeOptions {
  /** Also ask Triton itself (/v2/health/ready through the service proxy); off where no real Triton runs (kwok). */
  checkHealth: boolean;
}

export function createTritonProbe(kube: KubeApi, config: KubeConfig, { checkHealth }: TritonProbeOptions = { checkHealth: true }): TritonProbe {
  const core = config.makeApiClient(CoreV1Api);
  return {
    async ready({ release, namespace }) {
      const deployment = (await kube.get('apps/v1', 'Deployment', namespace, release)) as DeploymentLike | null;
      if (deployment === null) return { ready: false, models: [] };
      const serving = deploymentServing(deployment);
      const healthy =
        serving.rolledOut &&
        (!checkHealth ||
          (await core.connectGetNamespacedServiceProxyWithPath({ name: `${release}:http`, namespace, path: 'v2/health/ready' }).then(
            () => true,
            () => false,
          )));
      return { ready: healthy, models: serving.models, ...(serving.modelRepository ? { modelRepository: serving.modelRepository } : {}) };
    },
    async scrapeMetrics({ release, namespace }) {
      const pods = (await core.listNamespacedPod({ namespace, labelSelector: `app.kubernetes.io/instance=${release}` })).items.filter(isReady);
      return Promise.all(
        pods.map(async (pod) => ({
          pod: pod.metadata!.name!,
          text: String(await core.connectGetNamespacedPodProxyWithPath({ name: `${pod.metadata!.name!}:${METRICS_PORT}`, namespace, path: 'metrics' })),
        })),
      );
    },
  };
}
