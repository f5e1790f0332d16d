/**
 * KubeApi over @kubernetes/client-node: server-side apply with the pipeline's field manager,
 * Job status and logs, nodes' allocatable GPUs. API errors become ApiError codes.
 */
import {
  ApiException,
  BatchV1Api,
  CoreV1Api,
  KubeConfig,
  KubernetesObjectApi,
  PatchStrategy,
  type KubernetesObject,
  type V1Job,
  type V1Node,
} from '@kubernetes/client-node';
import { ApiError, type ApiErrorCode } from '../ports/errors.js';
import type { JobStatus, KubeApi, KubeObject, NodeInfo } from '../ports/systems.js';

export const FIELD_MANAGER = 'triton-pipeline';

function codeFor(status: number): ApiErrorCode {
  if (status === 400 || status === 422) return 'INVALID_ARGUMENT';
  if (status === 401 || status === 403) return 'PERMISSION_DENIED';
  if (status === 404) return 'NOT_FOUND';
  // 409 on apply is a field-ownership conflict or a stale write: another attempt may pass.
  if (status === 409) return 'ABORTED';
  return 'UNAVAILABLE';
}

async function translated<T>(what: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (error instanceof ApiException) {
      const body = typeof error.body === 'string' ? error.body : JSON.stringify(error.body);
      const message = (() => {
        try {
          return (JSON.parse(body) as { message?: string }).message ?? body;
        } catch {
          return body;
        }
      })();
      throw new ApiError(codeFor(error.code), `${what}: ${message}`);
    }
    throw new ApiError('UNAVAILABLE', `${what}: ${error instanceof Error ? error.message : String(error)}`);
  }
}

async function orNull<T>(call: () => Promise<T>): Promise<T | null> {
  try {
    return await call();
  } catch (error) {
    if (error instanceof ApiError && error.code === 'NOT_FOUND') return null;
    throw error;
  }
}

export function nodeInfo(node: V1Node): NodeInfo {
  const ready = (node.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
  const gpus = node.status?.allocatable?.['nvidia.com/gpu'];
  return { name: node.metadata?.name ?? '', ready, labels: node.metadata?.labels ?? {}, allocatableGpus: gpus === undefined ? 0 : Number(gpus) };
}

export function jobStatusOf(job: V1Job): JobStatus {
  const failed = (job.status?.conditions ?? []).find((c) => c.type === 'Failed' && c.status === 'True');
  if (failed) return { phase: 'failed', message: `${failed.reason ?? 'Failed'}: ${failed.message ?? ''}`.trim() };
  if ((job.status?.succeeded ?? 0) > 0) return { phase: 'succeeded' };
  if ((job.status?.active ?? 0) > 0) return { phase: 'running' };
  return { phase: 'pending' };
}

export function createKubeClient(config: KubeConfig, fieldManager = FIELD_MANAGER): KubeApi {
  const objects = KubernetesObjectApi.makeApiClient(config);
  const core = config.makeApiClient(CoreV1Api);
  const batch = config.makeApiClient(BatchV1Api);
  const ref = (apiVersion: string, kind: string, namespace: string | undefined, name: string) => ({
    apiVersion,
    kind,
    metadata: { name, ...(namespace === undefined ? {} : { namespace }) },
  });

  return {
    async apply(object) {
      await translated(`apply ${object.kind} ${object.metadata.name}`, () =>
        objects.patch(object as KubernetesObject, undefined, undefined, fieldManager, true, PatchStrategy.ServerSideApply),
      );
    },

    async get(apiVersion, kind, namespace, name) {
      return orNull(() => translated(`get ${kind} ${name}`, async () => (await objects.read(ref(apiVersion, kind, namespace, name))) as unknown as KubeObject));
    },

    async delete(apiVersion, kind, namespace, name) {
      await orNull(() => translated(`delete ${kind} ${name}`, () => objects.delete(ref(apiVersion, kind, namespace, name), undefined, undefined, undefined, undefined, 'Background')));
    },

    async listNodes(labelSelector) {
      const selector = Object.entries(labelSelector).map(([k, v]) => `${k}=${v}`).join(',');
      const nodes = await translated('list nodes', () => core.listNode({ labelSelector: selector }));
      return nodes.items.map(nodeInfo);
    },

    async jobStatus(namespace, name) {
      const job = await orNull(() => translated(`read job ${name}`, () => batch.readNamespacedJob({ name, namespace })));
      return job === null ? null : jobStatusOf(job);
    },

    async jobLogs(namespace, name) {
      const pods = await translated(`list pods of job ${name}`, () => core.listNamespacedPod({ namespace, labelSelector: `job-name=${name}` }));
      const newest = pods.items
        .slice()
        .sort((a, b) => (a.metadata?.creationTimestamp?.getTime() ?? 0) - (b.metadata?.creationTimestamp?.getTime() ?? 0))
        .at(-1);
      if (newest?.metadata?.name === undefined) return '';
      const pod = newest.metadata.name;
      return translated(`read logs of ${pod}`, () => core.readNamespacedPodLog({ name: pod, namespace, tailLines: 5000 }));
    },
  };
}

/** A KubeConfig from a kubeconfig file (e.g. written by `gcloud container clusters get-credentials`). */
export function kubeConfigFromFile(path: string, context?: string): KubeConfig {
  const config = new KubeConfig();
  config.loadFromFile(path);
  if (context !== undefined) config.setCurrentContext(context);
  return config;
}
