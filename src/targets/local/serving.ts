/**
 * The local target's data plane: a real Triton (CPU) process for each Ready pod of a Triton
 * release, playing that pod's container. It serves the repository version the pod was started
 * with (--model-repository, copied from the GCS emulator to a local directory) and loads the
 * models the pod names (--load-model, explicit model control). Pods that go away (a rollout, a
 * rollback, an uninstall) take their process with them. Like a kubelet, it keeps at this on its
 * own (serveAll, every second): pods an HPA adds get their Triton without the pipeline looking,
 * and each pod is annotated with the address its metrics port listens on here, where the local
 * cluster's Prometheus scrapes it (a kwok pod's IP leads nowhere).
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { CoreV1Api, V1Pod } from '@kubernetes/client-node';
import type { ObjectStore } from '../../ports/systems.js';
import { deploymentServing, isReady } from '../../clients/triton-probe.js';
import { withLock } from '../../sim/mutex.js';
import { freePort } from './free-port.js';
import { annotationPatch, METRICS_ADDRESS_ANNOTATION } from './nodes.js';
import { startTritonServer, type TritonServer } from './triton-server.js';

export interface PodServer {
  pod: string;
  repository: string;
  models: string[];
  server: TritonServer;
}

interface Entry {
  pending: Promise<PodServer>;
  server?: PodServer;
  error?: Error;
}

export function createLocalServing({ core, store, workDir }: { core: CoreV1Api; store: ObjectStore; workDir: string }) {
  const servers = new Map<string, Entry>();

  /** Copies a repository version (gs://…/versions/V) to a local directory Triton can read. */
  async function mirror(repository: string, dir: string): Promise<void> {
    const root = repository.replace(/\/+$/, '');
    for (const uri of await store.list(`${root}/`)) {
      const bytes = await store.read(uri);
      if (bytes === null) continue;
      const path = join(dir, uri.slice(root.length + 1));
      await mkdir(join(path, '..'), { recursive: true });
      await writeFile(path, bytes);
    }
  }

  async function start(namespace: string, pod: V1Pod): Promise<PodServer> {
    const name = pod.metadata!.name!;
    const serving = deploymentServing({ spec: { template: { spec: pod.spec! } } } as Parameters<typeof deploymentServing>[0]);
    if (serving.modelRepository === undefined) throw new Error(`pod ${namespace}/${name} has no --model-repository`);
    const dir = join(workDir, `${namespace}_${name}`);
    await rm(dir, { recursive: true, force: true });
    await mirror(serving.modelRepository, join(dir, 'repository'));
    const server = await startTritonServer({
      repository: join(dir, 'repository'),
      models: serving.models,
      ports: { http: await freePort(), grpc: await freePort(), metrics: await freePort() },
      logFile: join(dir, 'triton.log'),
    });
    return { pod: name, repository: serving.modelRepository, models: serving.models, server };
  }

  /**
   * Starts a Triton for each Ready pod of the release that has none, stops those whose pod is gone;
   * returns the pods' entries. One look at a release at a time: a look that listed the pods earlier
   * must not stop the Triton of a pod that a later look started.
   */
  const reconcile = (namespace: string, release: string): Promise<Entry[]> => withLock(`${workDir}/${namespace}/${release}`, () => reconcileNow(namespace, release));

  async function reconcileNow(namespace: string, release: string): Promise<Entry[]> {
    const pods = (await core.listNamespacedPod({ namespace, labelSelector: `app.kubernetes.io/instance=${release}` })).items.filter(isReady);
    const prefix = `${namespace}/${release}/`;
    const wanted = new Set(pods.map((p) => `${prefix}${p.metadata!.name!}`));
    for (const [key, entry] of servers) {
      if (key.startsWith(prefix) && !wanted.has(key)) {
        servers.delete(key);
        await entry.pending.then((s) => s.server.stop(), () => undefined);
      }
    }
    return pods.map((pod) => {
      const key = `${prefix}${pod.metadata!.name!}`;
      let entry = servers.get(key);
      if (entry === undefined) {
        const created: Entry = { pending: start(namespace, pod) };
        created.pending.then(
          (server) => (created.server = server),
          (error: Error) => (created.error = error),
        );
        servers.set(key, created);
        entry = created;
      }
      return entry;
    });
  }

  /** A failed start is reported once; the next look starts that pod's Triton again. */
  function failed(namespace: string, release: string, entries: Entry[]): void {
    const broken = entries.find((e) => e.error !== undefined);
    if (broken === undefined) return;
    for (const [key, entry] of servers) if (entry === broken) servers.delete(key);
    throw new Error(`Triton of release ${namespace}/${release} failed to start: ${broken.error!.message}`);
  }

  /** The release's servers that are up now; the others keep starting in the background. */
  async function sync(namespace: string, release: string): Promise<PodServer[]> {
    const entries = await reconcile(namespace, release);
    failed(namespace, release, entries);
    return entries.flatMap((e) => (e.server === undefined ? [] : [e.server]));
  }

  /** Tells where each running pod's metrics port listens on this machine (once per pod). */
  async function publishAddresses(namespace: string, pods: readonly V1Pod[], servers: readonly PodServer[]): Promise<void> {
    for (const server of servers) {
      const address = `127.0.0.1:${server.server.ports.metrics}`;
      const pod = pods.find((p) => p.metadata?.name === server.pod);
      if (pod === undefined || pod.metadata?.annotations?.[METRICS_ADDRESS_ANNOTATION] === address) continue;
      await core.patchNamespacedPod({ name: server.pod, namespace, body: annotationPatch(pod, { [METRICS_ADDRESS_ANNOTATION]: address }) });
    }
  }

  return {
    sync,

    /** Every Triton pod of the cluster: the releases with pods, and those whose servers outlived theirs. */
    async serveAll(): Promise<void> {
      const pods = (await core.listPodForAllNamespaces({ labelSelector: 'app.kubernetes.io/instance' })).items.filter(
        (p) => deploymentServing({ spec: { template: { spec: p.spec! } } } as Parameters<typeof deploymentServing>[0]).modelRepository !== undefined,
      );
      const releases = new Set(pods.map((p) => `${p.metadata!.namespace!}/${p.metadata!.labels!['app.kubernetes.io/instance']!}`));
      for (const key of servers.keys()) releases.add(key.split('/').slice(0, 2).join('/'));
      for (const key of releases) {
        const [namespace, release] = key.split('/') as [string, string];
        const up = await sync(namespace, release).catch((error: Error) => {
          console.error(`local kubelet: ${error.message}`);
          return [];
        });
        await publishAddresses(namespace, pods.filter((p) => p.metadata!.namespace === namespace), up);
      }
    },

    /** The release's servers once they have all started. */
    async started(namespace: string, release: string): Promise<PodServer[]> {
      return Promise.all((await reconcile(namespace, release)).map((e) => e.pending));
    },
  };
}

export type LocalServing = ReturnType<typeof createLocalServing>;
