/**
 * The local target: the gke target's Kubernetes and Helm code, unchanged, against a real
 * kube-apiserver on this machine whose nodes are kwok's (scripts/local-cluster.sh), the model
 * repository in the GCS emulator (fake-gcs-server), and GKE's control plane, the GPUs and the
 * Jobs' GPU work simulated (gke.ts, kubelet.ts). What is real and what is simulated is listed
 * in LOCAL_TARGET_FACTS and printed by `npm start -- --target local`.
 */
import { join } from 'node:path';
import type { Storage } from '@google-cloud/storage';
import { CoreV1Api, VersionApi } from '@kubernetes/client-node';
import { access } from 'node:fs/promises';
import type { ClusterRef, HelmApi, KubeApi, TargetClients, TritonProbe } from '../../activities/ports.js';
import { PROJECT_ROOT } from '../../assets.js';
import { exec } from '../../clients/exec.js';
import { createGcsStore } from '../../clients/gcs.js';
import { createHelmCli } from '../../clients/helm.js';
import { createKubeClient, kubeConfigFromFile } from '../../clients/kube.js';
import { createTritonProbe } from '../../clients/triton-probe.js';
import { lazy } from '../lazy.js';
import { createLocalGke, type LocalControlPlane } from './gke.js';
import { createLocalKubelet } from './kubelet.js';
import { recordingSlowdowns, releaseSlowdowns } from './releases.js';

export const LOCAL_TARGET_FACTS = {
  real: [
    'kube-apiserver, kube-controller-manager, kube-scheduler and etcd (built from their Go modules)',
    'Kubernetes API calls: server-side apply, Jobs, DaemonSets, Deployments, HPA (@kubernetes/client-node)',
    'Helm releases: upgrade --install --wait, history, rollback (helm CLI)',
    'the model repository in Cloud Storage (fake-gcs-server through @google-cloud/storage)',
  ],
  simulated: [
    'GKE control plane: a cluster is a local control plane, a node pool is a set of kwok nodes',
    'GPUs: a node reports nvidia.com/gpu once the driver installer pod on it is Ready',
    'pods: kwok plays the kubelet (no container runs)',
    'TensorRT engine builds and perf_analyzer sweeps: played by the calibrated T4 simulator inside the Jobs\' pods',
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
        const slowdowns = releaseSlowdowns(join(options.kwokDir, `${ref.cluster}.releases.json`));
        const helm = recordingSlowdowns(createHelmCli({ exec, kubeconfig, ...(options.helm ? { helm: options.helm } : {}) }), slowdowns);
        const kubelet = createLocalKubelet({
          cluster: ref.cluster,
          core: config.makeApiClient(CoreV1Api),
          kube: real,
          helm,
          store,
          slowdowns,
          logDir: join(options.kwokDir, `${ref.cluster}-pod-logs`),
        });
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
        return { kube, helm, triton: createTritonProbe(kube, config, { checkHealth: false }) };
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
  };
}
