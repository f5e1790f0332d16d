/**
 * The pipeline worker: serves one target's task queue with that target's activities.
 * Configuration comes from the environment, parsed once here:
 *   Temporal's standard client settings (src/temporal/connection.ts): TEMPORAL_ADDRESS
 *   (127.0.0.1:7233), TEMPORAL_NAMESPACE (default), TEMPORAL_TLS_CLIENT_CERT_PATH,
 *   TEMPORAL_TLS_CLIENT_KEY_PATH and TEMPORAL_TLS_SERVER_CA_CERT_PATH (mTLS), TEMPORAL_API_KEY,
 *   or a TEMPORAL_PROFILE of TEMPORAL_CONFIG_FILE; PIPELINE_TARGET (sim),
 *   PIPELINE_STATE_DIR (.pipeline: the simulated world and local reports),
 *   PIPELINE_TASK_QUEUE (triton-pipeline-<target>),
 *   PIPELINE_KWOK_DIR (<state dir>/kwok) and PIPELINE_GCS_ENDPOINT (http://127.0.0.1:4443): the local
 *   target's clusters and its GCS emulator,
 *   PIPELINE_PAYLOAD_KEY / _KEY_ID / _PREVIOUS_KEYS (encrypt payloads in history; see src/codec).
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { NativeConnection, Worker, type WorkflowBundle } from '@temporalio/worker';
import type { DataConverter } from '@temporalio/common';
import { type ActivityOptions, createPipelineActivities, type PipelineActivities } from './activities/index.js';
import type { TargetClients } from './ports/systems.js';
import { JOB_NAMESPACE } from './plan/jobs.js';
import { loadDriverInstaller, loadJobScripts, loadMetricsAdapter, PROJECT_ROOT } from './assets.js';
import { registerSearchAttributes } from './cli/temporal.js';
import { dataConverterFromEnv } from './codec/aes-gcm.js';
import { connectionOptions, type TemporalConnectionConfig, temporalConnectionFromEnv } from './temporal/connection.js';
import { WORKFLOW_BUNDLER_OPTIONS } from './temporal/workflow-bundle.js';
import { taskQueueFor } from './plan/ids.js';
import type { Target } from './spec/schema.js';
import { createGkeClients } from './targets/gke.js';
import { emulatorStorage, gcsEmulatorAnswers } from './targets/local/gcs-emulator.js';
import { createLocalClients } from './targets/local/index.js';
import { createSimActivities, withSimulation } from './targets/sim.js';

export interface WorkerConfig {
  temporal: TemporalConnectionConfig;
  target: Target;
  stateDir: string;
  taskQueue: string;
  dataConverter: DataConverter | undefined;
  local: LocalTargetConfig;
}

export function workerConfigFromEnv(env: NodeJS.ProcessEnv): WorkerConfig {
  const target = env['PIPELINE_TARGET'] ?? 'sim';
  if (target !== 'sim' && target !== 'gke' && target !== 'local') {
    throw new Error(`PIPELINE_TARGET must be sim, gke or local (got "${target}")`);
  }
  const stateDir = env['PIPELINE_STATE_DIR'] ?? join(PROJECT_ROOT, '.pipeline');
  return {
    temporal: temporalConnectionFromEnv(env),
    target,
    stateDir,
    taskQueue: env['PIPELINE_TASK_QUEUE'] ?? taskQueueFor(target),
    dataConverter: dataConverterFromEnv(env),
    local: localConfigFromEnv(env, stateDir),
  };
}

export interface PipelineWorkerOptions {
  connection: NativeConnection;
  namespace: string;
  target: Target;
  stateDir: string;
  /** Overrides the target's queue (tests use one queue per test). */
  taskQueue?: string;
  /** A pre-built bundle (tests share one); otherwise the workflows are bundled at start. */
  workflowBundle?: WorkflowBundle;
  /** The payload codec when payloads are encrypted (must match the clients'). */
  dataConverter?: DataConverter | undefined;
  /** Clients to use instead of the target's own (the gke activities against local stand-ins). */
  clients?: TargetClients;
  /** The local target's kwok directory and GCS emulator (default: localConfigFromEnv). */
  local?: LocalTargetConfig;
}

export interface LocalTargetConfig {
  kwokDir: string;
  gcsEndpoint: string;
}

export function localConfigFromEnv(env: NodeJS.ProcessEnv, stateDir: string): LocalTargetConfig {
  return { kwokDir: env['PIPELINE_KWOK_DIR'] ?? join(stateDir, 'kwok'), gcsEndpoint: env['PIPELINE_GCS_ENDPOINT'] ?? 'http://127.0.0.1:4443' };
}

async function activitiesFor(options: PipelineWorkerOptions, activityOptions: ActivityOptions): Promise<PipelineActivities> {
  if (options.clients) {
    const activities = createPipelineActivities(options.clients, activityOptions);
    return options.target === 'local' ? withSimulation(activities) : activities;
  }
  switch (options.target) {
    case 'sim': {
      const simDir = join(options.stateDir, 'sim');
      await mkdir(simDir, { recursive: true });
      return createSimActivities(simDir, activityOptions);
    }
    case 'gke':
      return createPipelineActivities(createGkeClients({ stateDir: join(options.stateDir, 'gke') }), activityOptions);
    case 'local': {
      const local = options.local ?? localConfigFromEnv(process.env, options.stateDir);
      if (!(await gcsEmulatorAnswers(local.gcsEndpoint))) {
        throw new Error(`the local target needs its GCS emulator at ${local.gcsEndpoint} (PIPELINE_GCS_ENDPOINT); \`npm start -- --target local\` starts one`);
      }
      const clients = createLocalClients({ kwokDir: local.kwokDir, stateDir: join(options.stateDir, 'local'), storage: emulatorStorage(local.gcsEndpoint), helm: join(PROJECT_ROOT, '.tools/bin/helm') });
      return withSimulation(createPipelineActivities(clients, activityOptions));
    }
  }
}

/** Task slots of a pipeline worker (the orchestration bench gives its no-op twin the same). */
export const WORKER_SLOTS = { maxConcurrentActivityTaskExecutions: 200, maxConcurrentWorkflowTaskExecutions: 100 } as const;

export async function createPipelineWorker(options: PipelineWorkerOptions): Promise<Worker> {
  const activityOptions: ActivityOptions = {
    driverInstaller: await loadDriverInstaller(),
    jobScripts: await loadJobScripts(JOB_NAMESPACE),
    metricsAdapter: await loadMetricsAdapter(),
    pollIntervalMs: { sim: 100, local: 500, gke: 5000 }[options.target],
  };
  const activities = await activitiesFor(options, activityOptions);
  return Worker.create({
    connection: options.connection,
    namespace: options.namespace,
    taskQueue: options.taskQueue ?? taskQueueFor(options.target),
    activities,
    ...(options.workflowBundle
      ? { workflowBundle: options.workflowBundle }
      : { workflowsPath: fileURLToPath(new URL('./workflows/index.ts', import.meta.url)), bundlerOptions: WORKFLOW_BUNDLER_OPTIONS }),
    ...(options.dataConverter ? { dataConverter: options.dataConverter } : {}),
    ...WORKER_SLOTS,
    // On shutdown (SIGTERM), quick calls in flight get this long to finish instead of being redone
    // by a retry. Then running activities are cancelled (WORKER_SHUTDOWN) and reported failed, so
    // another worker retries them at once: a Job keeps running and is re-attached, an interrupted
    // helm upgrade is recorded failed, an interrupted rollback left pending is settled by the retry
    // (activities/helm.ts). Well within the pod's terminationGracePeriodSeconds (120 s).
    shutdownGraceTime: '5 seconds',
  });
}

async function main(): Promise<void> {
  const config = workerConfigFromEnv(process.env);
  const connection = await NativeConnection.connect(connectionOptions(config.temporal));
  // A fresh namespace has none of the pipeline's search attributes: without them the first upsert fails the workflow task.
  const attributes = await registerSearchAttributes(connection, config.temporal.namespace);
  if ('unchecked' in attributes) console.warn(`worker: ${attributes.unchecked}`);
  const worker = await createPipelineWorker({ connection, namespace: config.temporal.namespace, ...config });
  console.log(`worker: target ${config.target}, task queue ${config.taskQueue}, Temporal ${config.temporal.address}/${config.temporal.namespace}`);
  await worker.run();
  await connection.close();
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
