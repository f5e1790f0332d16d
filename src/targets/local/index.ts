/**
 * The local target: the gke target's Kubernetes and Helm code, unchanged, against a real
 * kube-apiserver on this machine whose nodes are kwok's (scripts/local-cluster.sh), the model
 * repository in the GCS emulator (fake-gcs-server), Triton and perf_analyzer run for real on the
 * CPU (kubelet.ts, serving.ts); GKE's control plane and the GPUs are simulated (gke.ts). What is
 * real and what is simulated is listed in LOCAL_TARGET_FACTS, printed by `npm start -- --target local`.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Storage } from '@google-cloud/storage';
import { CoreV1Api, VersionApi } from '@kubernetes/client-node';
import { access } from 'node:fs/promises';
import type { ClusterRef, HelmApi, KubeApi, TargetClients, TritonProbe } from '../../ports/systems.js';
import { PROJECT_ROOT } from '../../assets.js';
import { exec } from '../../clients/exec.js';
import { createGcsStore } from '../../clients/gcs.js';
import { createHelmCli } from '../../clients/helm.js';
import { createKubeClient, kubeConfigFromFile } from '../../clients/kube.js';
import { deploymentServing } from '../../clients/triton-probe.js';
import { lazy } from '../lazy.js';
import { createLocalGke, type LocalControlPlane } from './gke.js';
import { createLocalKubelet } from './kubelet.js';
import { createLocalServing } from './serving.js';

export const LOCAL_TARGET_FACTS = {
  real: [
    'kube-apiserver, kube-controller-manager, kube-scheduler and etcd (built from their Go modules)',
    'Kubernetes API calls: server-side apply, Jobs, DaemonSets, Deployments, HPA (@kubernetes/client-node)',
    'Helm releases: upgrade --install --wait, history, rollback (helm CLI)',
    'the model repository in Cloud Storage (fake-gcs-server through @google-cloud/storage)',
    'Triton 2.51 on the CPU for each Ready Triton pod (python backend running the ONNX model with ONNX Runtime)',
    'perf_analyzer 2.51 in the perf Job\'s pod, against that Triton; the SLA gate and rollbacks use its numbers',
  ],
  simulated: [
    'GKE control plane: a cluster is a local control plane, a node pool is a set of kwok nodes',
    'GPUs: a node reports nvidia.com/gpu once the driver installer pod on it is Ready; Triton runs on the CPU',
    'pods: kwok plays the kubelet; the pipeline\'s Job containers and Triton run as local processes',
    'the TensorRT build: the engine-build Job prepares the ONNX model for the CPU instead (INT8 by ONNX Runtime quantization)',
  ],
} as const;

export interface LocalTargetOptions {
  /** kwok clusters' state, kubeconfigs and pod logs (scripts/local-cluster.sh's PIPELINE_KWOK_DIR). */
  kwokDir: string;
  stateDir: string;
  /** A Cloud Storage client pointed at the emulator. */
  storage: Storage;
  helm?: string;
}

function scriptControlPlane(kwokDir: string): LocalControlPlane {
  const script = (command: string, name: string) =>
    exec('bash', [join(PROJECT_ROOT, 'scripts/local-cluster.sh'), command, name], { env: { ...process.env, PIPELINE_KWOK_DIR: kwokDir } });
  return {
    async start(name) {
      await script('start', name);
    },
    async stop(name) {
      await script('stop', name);
    },
    async running(name) {
      const kubeconfig = join(kwokDir, `${name}.kubeconfig`);
      if (!(await access(kubeconfig).then(() => true, () => false))) return false;
      return kubeConfigFromFile(kubeconfig).makeApiClient(VersionApi).getCode().then(() => true, () => false);
    },
  };
}

export function createLocalClients(options: LocalTargetOptions): TargetClients {
  const store = createGcsStore(options.storage);
  const perCluster = new Map<string, { kube: KubeApi; helm: HelmApi; triton: TritonProbe }>();

  function clientsFor(ref: ClusterRef) {
    let clients = perCluster.get(ref.cluster);
    if (clients === undefined) {
      const kubeconfig = join(options.kwokDir, `${ref.cluster}.kubeconfig`);
      const buildClients = async () => {
        await access(kubeconfig).catch(() => {
          throw new Error(`cluster ${ref.cluster} has no local control plane (no ${kubeconfig}); the cluster stage creates it`);
        });
        const config = kubeConfigFromFile(kubeconfig);
        const real = createKubeClient(config);
        const helm = createHelmCli({ exec, kubeconfig, ...(options.helm ? { helm: options.helm } : {}) });
        const core = config.makeApiClient(CoreV1Api);
        const serving = createLocalServing({ core, store, workDir: join(options.kwokDir, `${ref.cluster}-triton`) });
        const kubelet = createLocalKubelet({ cluster: ref.cluster, core, kube: real, store, serving, logDir: join(options.kwokDir, `${ref.cluster}-pod-logs`) });
        // The kubelet's loop, on every node all the time: the device plugin reports GPUs on a node
        // whose driver comes up later (a node the autoscaler adds), and each Ready Triton pod gets its
        // Triton (pods an HPA adds). One pass at a time; it ends with the cluster.
        let passing = false;
        const kubeletLoop = setInterval(() => {
          if (passing) return;
          passing = true;
          Promise.all([kubelet.reportGpus(), serving.serveAll(), kubelet.stopDeletedContainers()])
            .catch(() => access(kubeconfig).catch(() => clearInterval(kubeletLoop)))
            .finally(() => (passing = false));
        }, 1000);
        kubeletLoop.unref();
        const kube: KubeApi = {
          ...real,
          async listNodes(selector) {
            await kubelet.reportGpus();
            return real.listNodes(selector);
          },
          async jobStatus(namespace, name) {
            await kubelet.runJobPods(namespace, name);
            return real.jobStatus(namespace, name);
          },
        };
        const triton: TritonProbe = {
          // Rolled out, and every Ready pod's Triton (a real local process) serves the Deployment's repository.
          async ready({ release, namespace }) {
            const deployment = await real.get('apps/v1', 'Deployment', namespace, release);
            if (deployment === null) return { ready: false, models: [] };
            const wanted = deploymentServing(deployment as Parameters<typeof deploymentServing>[0]);
            const servers = wanted.rolledOut ? await serving.sync(namespace, release) : [];
            const healthy = await Promise.all(servers.map(async (s) => s.repository === wanted.modelRepository && (await s.server.ready())));
            return {
              ready: servers.length >= Math.max(1, Number((deployment['spec'] as { replicas?: number } | undefined)?.replicas ?? 1)) && healthy.every(Boolean),
              models: wanted.models,
              ...(wanted.modelRepository === undefined ? {} : { modelRepository: wanted.modelRepository }),
            };
          },
          async scrapeMetrics({ release, namespace }) {
            const servers = await serving.sync(namespace, release);
            return Promise.all(servers.map(async (s) => ({ pod: s.pod, text: await s.server.metrics() })));
          },
        };
        return { kube, helm, triton };
      };
      let built: ReturnType<typeof buildClients> | undefined;
      const load = () =>
        (built ??= buildClients().catch((error: unknown) => {
          built = undefined;
          throw error;
        }));
      clients = {
        kube: lazy(async () => (await load()).kube),
        helm: lazy(async () => (await load()).helm),
        triton: lazy(async () => (await load()).triton),
      };
      perCluster.set(ref.cluster, clients);
    }
    return clients;
  }

  return {
    gke: createLocalGke({ kwokDir: options.kwokDir, controlPlane: scriptControlPlane(options.kwokDir), kube: (ref) => clientsFor(ref).kube }),
    kube: (ref) => clientsFor(ref).kube,
    helm: (ref) => clientsFor(ref).helm,
    triton: (ref) => clientsFor(ref).triton,
    store,
    reportDir: join(options.stateDir, 'reports'),
    tritonChart: join(PROJECT_ROOT, 'deploy/charts/triton'),
    modelSupportFiles: { 'model.py': readFileSync(join(PROJECT_ROOT, 'deploy/local/triton_onnx_model.py'), 'utf8') },
  };
}
