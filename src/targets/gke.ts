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
import { ApiError } from '../ports/errors.js';
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

/**
 * Whether a failed cluster call suggests the cached kubeconfig describes a cluster that is gone:
 * the endpoint refuses or does not answer, or serves a certificate the cached CA does not sign
 * (a cluster deleted and created again under the same name gets a new endpoint and CA).
 */
export function suggestsStaleCredentials(error: unknown): boolean {
  if (!(error instanceof ApiError) || error.code !== 'UNAVAILABLE') return false;
  return /ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|ENOTFOUND|connection refused|i\/o timeout|cluster unreachable|certificate|x509|TLS handshake/i.test(
    `${error.message}\n${error.output ?? ''}`,
  );
}

/** The client, whose failures that suggest stale credentials also drop them. */
function droppingStaleCredentials<T extends object>(client: T, drop: () => void): T {
  return new Proxy(client, {
    get: (target, method) => async (...args: unknown[]) => {
      try {
        return await (target as Record<PropertyKey, (...a: unknown[]) => Promise<unknown>>)[method]!(...args);
      } catch (error) {
        if (suggestsStaleCredentials(error)) drop();
        throw error;
      }
    },
  });
}

export function createGkeClients(options: GkeTargetOptions): TargetClients {
  const run = options.exec ?? exec;
  const gcloud = { exec: run, ...(options.gcloudEnv ? { env: options.gcloudEnv } : {}) };
  type ClusterClients = { kube: KubeApi; helm: HelmApi; triton: TritonProbe };
  // Per cluster, until the cluster is created or deleted through this worker, or a call suggests
  // the credentials are stale: the next call (an activity's retry) fetches them again.
  const perCluster = new Map<string, ClusterClients>();
  const keyOf = (ref: ClusterRef) => `${ref.project}/${ref.zone}/${ref.cluster}`;

  function clientsFor(ref: ClusterRef): ClusterClients {
    const key = keyOf(ref);
    const cached = perCluster.get(key);
    if (cached !== undefined) return cached;
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
    const built: ClusterClients = {
      kube,
      helm: lazy(async () => (await ensureCredentials(), createHelmCli({ exec: run, kubeconfig, ...(options.helm ? { helm: options.helm } : {}) }))),
      triton: lazy(async () => (
        await ensureCredentials(),
        createTritonProbe(kube, kubeConfigFromFile(kubeconfig), { checkHealth: options.tritonHealthCheck ?? true })
      )),
    };
    // A fixed kubeconfig is not ours to refresh.
    const drop = () => {
      if (options.kubeconfig === undefined && perCluster.get(key) === clients) perCluster.delete(key);
    };
    const clients: ClusterClients = {
      kube: droppingStaleCredentials(built.kube, drop),
      helm: droppingStaleCredentials(built.helm, drop),
      triton: droppingStaleCredentials(built.triton, drop),
    };
    perCluster.set(key, clients);
    return clients;
  }

  const gke = createGcloudGke(gcloud);
  return {
    gke: {
      ...gke,
      async createCluster(ref, request) {
        const created = await gke.createCluster(ref, request);
        perCluster.delete(keyOf(ref));
        return created;
      },
      async deleteCluster(ref) {
        await gke.deleteCluster(ref);
        perCluster.delete(keyOf(ref));
      },
    },
    kube: (ref) => clientsFor(ref).kube,
    helm: (ref) => clientsFor(ref).helm,
    triton: (ref) => clientsFor(ref).triton,
    store: createGcsStore(options.storage ?? createStorage()),
    reportDir: join(options.stateDir, 'reports'),
    tritonChart: join(PROJECT_ROOT, 'deploy/charts/triton'),
  };
}
