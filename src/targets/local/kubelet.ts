/**
 * What the local cluster's nodes do that kwok does not: the GPU device plugin (a GPU node reports
 * nvidia.com/gpu once the driver installer's pod on it is Ready, or at once where GKE manages the
 * driver) and the containers of the pipeline's Jobs. kwok plays each pod's kubelet; the work the
 * container would do on a T4 (a TensorRT build, a perf_analyzer sweep) is played by the simulator
 * (src/sim/job-effects.ts) reading the same environment variables, its output is served as the
 * pod's log (a kwok Logs object) and its exit code ends the pod (kwok stage pod-exit).
 * Both advance when the pipeline looks (listing nodes, reading a Job), like the sim world does.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { CoreV1Api, V1Pod } from '@kubernetes/client-node';
import type { HelmApi, KubeApi, ObjectStore } from '../../activities/ports.js';
import { PIPELINE_LABEL } from '../../plan/jobs.js';
import { runJobEffect, type ServedRelease } from '../../sim/job-effects.js';
import { withLock } from '../../sim/mutex.js';
import { modelRepositoryOf } from '../../sim/triton.js';
import { criLog, EXIT_CODE_ANNOTATION, EXIT_MESSAGE_ANNOTATION, GPU_COUNT_ANNOTATION, GPU_DRIVER_ANNOTATION, gpuStatusPatch } from './nodes.js';
import type { ReleaseSlowdowns } from './releases.js';

export interface LocalKubeletDeps {
  cluster: string;
  core: CoreV1Api;
  kube: KubeApi;
  helm: HelmApi;
  store: ObjectStore;
  slowdowns: ReleaseSlowdowns;
  /** Where pod log files are written (kwok reads them). */
  logDir: string;
}

const DRIVER_POD_SELECTOR = 'name=nvidia-driver-installer';

function isReady(pod: V1Pod): boolean {
  return pod.status?.phase === 'Running' && (pod.status.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
}

function annotationPatch(pod: V1Pod, values: Record<string, string>): object[] {
  if (pod.metadata?.annotations === undefined) return [{ op: 'add', path: '/metadata/annotations', value: values }];
  return Object.entries(values).map(([key, value]) => ({ op: 'add', path: `/metadata/annotations/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`, value }));
}

export function createLocalKubelet(deps: LocalKubeletDeps) {
  const { core, kube, helm, store, slowdowns } = deps;

  /** The release's deployed revision as its clients would see it. */
  async function served(namespace: string, release: string): Promise<ServedRelease | undefined> {
    const deployed = (await helm.history(release, namespace)).filter((r) => r.status === 'deployed').at(-1);
    if (deployed === undefined) return undefined;
    const repository = modelRepositoryOf(await helm.values(release, namespace, deployed.revision));
    if (repository === undefined) return undefined;
    const pods = await core.listNamespacedPod({ namespace, labelSelector: `app.kubernetes.io/instance=${release}` });
    return { repository, replicas: pods.items.filter(isReady).length, slowdown: await slowdowns.of(namespace, release, deployed.revision) };
  }

  async function runContainer(pod: V1Pod): Promise<void> {
    const namespace = pod.metadata!.namespace!;
    const name = pod.metadata!.name!;
    const container = pod.spec!.containers[0]!;
    const env = Object.fromEntries((container.env ?? []).filter((e) => e.value !== undefined).map((e) => [e.name, e.value!]));
    const component = pod.metadata?.labels?.[PIPELINE_LABEL] ?? '';
    const outcome = await runJobEffect(component, env, { objects: store, doneAt: Date.now(), served });
    const logFile = join(deps.logDir, `${namespace}_${name}.log`);
    await mkdir(deps.logDir, { recursive: true });
    await writeFile(logFile, criLog(outcome.logs, new Date()));
    await kube.apply({
      apiVersion: 'kwok.x-k8s.io/v1alpha1',
      kind: 'Logs',
      metadata: { name, namespace },
      spec: { logs: [{ containers: [container.name], logsFile: logFile }] },
    });
    const exit: Record<string, string> = outcome.phase === 'succeeded' ? { [EXIT_CODE_ANNOTATION]: '0' } : { [EXIT_CODE_ANNOTATION]: '1', [EXIT_MESSAGE_ANNOTATION]: (outcome.message ?? 'failed').slice(0, 1000) };
    await core.patchNamespacedPod({ name, namespace, body: annotationPatch(pod, exit) });
  }

  return {
    /** The device plugin's part: report GPUs on nodes whose driver is up. */
    async reportGpus(): Promise<void> {
      const nodes = await core.listNode({});
      const waiting = nodes.items.filter((n) => {
        const wanted = Number(n.metadata?.annotations?.[GPU_COUNT_ANNOTATION] ?? 0);
        return wanted > 0 && Number(n.status?.allocatable?.['nvidia.com/gpu'] ?? 0) < wanted;
      });
      if (waiting.length === 0) return;
      const drivers = await core.listNamespacedPod({ namespace: 'kube-system', labelSelector: DRIVER_POD_SELECTOR });
      for (const node of waiting) {
        const name = node.metadata!.name!;
        const managedByGke = node.metadata?.annotations?.[GPU_DRIVER_ANNOTATION] !== 'installer-daemonset';
        const driverUp = managedByGke || drivers.items.some((p) => p.spec?.nodeName === name && isReady(p));
        if (driverUp) await core.patchNodeStatus({ name, body: gpuStatusPatch(Number(node.metadata!.annotations![GPU_COUNT_ANNOTATION])) });
      }
    },

    /** The containers' part: run each running pod of the Job that has not exited yet, once. */
    async runJobPods(namespace: string, job: string): Promise<void> {
      const pods = await core.listNamespacedPod({ namespace, labelSelector: `job-name=${job}` });
      for (const pod of pods.items) {
        if (pod.status?.phase !== 'Running' || pod.metadata?.annotations?.[EXIT_CODE_ANNOTATION] !== undefined) continue;
        await withLock(`${deps.cluster}/${namespace}/${pod.metadata!.name!}`, async () => {
          const current = await core.readNamespacedPod({ name: pod.metadata!.name!, namespace });
          if (current.metadata?.annotations?.[EXIT_CODE_ANNOTATION] === undefined) await runContainer(current);
        });
      }
    },
  };
}
