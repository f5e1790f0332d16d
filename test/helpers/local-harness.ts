/**
 * The local target as its integration tests run it: a Temporal server, the GCS emulator with the
 * spec's bucket and the example models, and one worker for the target over its own kwok folder.
 */
import { join } from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { execa } from 'execa';
import { createGcsStore, parseGsUri } from '../../src/clients/gcs.js';
import { createLocalClients } from '../../src/targets/local/index.js';
import { ensureLocalModels } from '../../src/targets/local/models.js';
import { createPipelineWorker } from '../../src/worker.js';
import { type GcsEmulator, startGcsEmulator } from '../standins/gcs-emulator.js';
import { PROJECT_ROOT } from './specs.js';
import { bundleWorkflows, startTemporal, startTogether } from './temporal.js';
import { tempDir } from './temp-dir.js';

export interface LocalHarness {
  env: TestWorkflowEnvironment;
  gcs: GcsEmulator;
  kwokDir: string;
  models: Awaited<ReturnType<typeof ensureLocalModels>>;
  /** The worker's own clients: a second set would start a second Triton for each pod. */
  clients: ReturnType<typeof createLocalClients>;
  kubectl(cluster: string, ...args: string[]): Promise<string>;
  /** scripts/local-cluster.sh stop: the cluster, its add-ons and what the local target kept of it. */
  stopCluster(cluster: string, options?: { reject?: boolean }): Promise<void>;
  /** Stops the worker, the clusters named and the servers. */
  stop(clusters: string[]): Promise<void>;
}

export async function startLocalHarness({ name, taskQueue, bucket }: { name: string; taskQueue: string; bucket: string }): Promise<LocalHarness> {
  let env!: TestWorkflowEnvironment;
  let gcs!: GcsEmulator;
  await startTogether([startTemporal(), startGcsEmulator()], (s) => ([env, gcs] = s as [typeof env, typeof gcs]));
  const kwokDir = await tempDir(`kwok-${name}`);
  await gcs.storage.createBucket(parseGsUri(bucket).bucket);
  const models = await ensureLocalModels(createGcsStore(gcs.storage), bucket, await tempDir('local-models'));
  const stateDir = await tempDir(name);
  const clients = createLocalClients({ kwokDir, stateDir: join(stateDir, 'local'), storage: gcs.storage, helm: join(PROJECT_ROOT, '.tools/bin/helm') });
  const worker = await createPipelineWorker({
    connection: env.nativeConnection,
    namespace: 'default',
    target: 'local',
    stateDir,
    taskQueue,
    clients,
    workflowBundle: await bundleWorkflows(),
    local: { kwokDir, gcsEndpoint: gcs.url },
  });
  const running = worker.run();
  const stopCluster = async (cluster: string, { reject = false } = {}) => {
    await execa('bash', [join(PROJECT_ROOT, 'scripts/local-cluster.sh'), 'stop', cluster], { env: { ...process.env, PIPELINE_KWOK_DIR: kwokDir }, reject });
  };
  return {
    env,
    gcs,
    kwokDir,
    models,
    clients,
    kubectl: async (cluster, ...args) => (await execa('kubectl', ['--kubeconfig', join(kwokDir, `${cluster}.kubeconfig`), ...args])).stdout,
    stopCluster,
    async stop(clusters) {
      worker.shutdown();
      await running;
      for (const cluster of clusters) await stopCluster(cluster);
      await Promise.all([env.teardown(), gcs.stop()]);
    },
  };
}
