/**
 * The gke target: real GCP. gcloud for the control plane, @kubernetes/client-node and helm for the
 * cluster (credentials from `gcloud container clusters get-credentials`), @google-cloud/storage
 * for the bucket. Credentials are ambient (Application Default Credentials / workload identity),
 * never workflow inputs.
 */
import { mkdir } from 'node:fs/promises';
import type { Storage } from '@google-cloud/storage';
import { join } from 'node:path';
import type { ClusterRef, HelmApi, KubeApi, TargetClients, TritonProbe } from '../ports/systems.js';
import { PROJECT_ROOT } from '../assets.js';
import { exec, type Exec } from '../clients/exec.js';
import { createGcloudGke, writeKubeconfig } from '../clients/gcloud-gke.js';
import { createGcsStore, createStorage } from '../clients/gcs.js';
import { createHelmCli } from '../clients/helm.js';
import { createKubeClient, kubeConfigFromFile } from '../clients/kube.js';
import { createTritonProbe } from '../clients/triton-probe.js';
import { lazy } from './lazy.js';

export interface GkeTargetOptions {
  stateDir: string;
  exec?: Exec;
  /** Extra CLOUDSDK_* environment for gcloud (e.g. an endpoint override). */
  gcloudEnv?: Record<string, string>;
  helm?: string;
  /** Use this kubeconfig for every cluster instead of `gcloud container clusters get-credentials`. */
  kubeconfig?: string;
  /** A Cloud Storage client (e.g. pointed at an emulator); default: Application Default Credentials. */
  storage?: Storage;
  /** Ask Triton's /v2/health/ready through the API server (false where no real Triton runs). */
  tritonHealthCheck?: boolean;
}

export function createGkeClients(options: GkeTargetOptions): TargetClients {
  const run = options.exec ?? exec;
  const gcloud = { exec: run, ...(options.gcloudEnv ? { env: options.gcloudEnv } : {}) };
  const perCluster = new Map<string, { kube: KubeApi; helm: HelmApi; triton: TritonProbe }>();

  function clientsFor(ref: ClusterRef) {
    const key = `${ref.project}/${ref.zone}/${ref.cluster}`;
    let clients = perCluster.get(key);
    if (clients === undefined) {
      const kubeconfig = options.kubeconfig ?? join(options.stateDir, 'kube', `${ref.project}_${ref.zone}_${ref.cluster}.yaml`);
      let credentials: Promise<void> | undefined = options.kubeconfig === undefined ? undefined : Promise.resolve();
      const ensureCredentials = () =>
        (credentials ??= mkdir(join(options.stateDir, 'kube'), { recursive: true })
          .then(() => writeKubeconfig(gcloud, ref, kubeconfig))
          .catch((error: unknown) => {
            credentials = undefined;
            throw error;
          }));
      const kube = lazy(async () => (await ensureCredentials(), createKubeClient(kubeConfigFromFile(kubeconfig))));
      clients = {
        kube,
        helm: lazy(async () => (await ensureCredentials(), createHelmCli({ exec: run, kubeconfig, ...(options.helm ? { helm: options.helm } : {}) }))),
        triton: lazy(async () => (
          await ensureCredentials(),
          createTritonProbe(kube, kubeConfigFromFile(kubeconfig), { checkHealth: options.tritonHealthCheck ?? true })
        )),
      };
      perCluster.set(key, clients);
    }
    return clients;
  }

  return {
    gke: createGcloudGke(gcloud),
    kube: (ref) => clientsFor(ref).kube,
    helm: (ref) => clientsFor(ref).helm,
    triton: (ref) => clientsFor(ref).triton,
    store: createGcsStore(options.storage ?? createStorage()),
    reportDir: join(options.stateDir, 'reports'),
    tritonChart: join(PROJECT_ROOT, 'deploy/charts/triton'),
  };
}
