/**
 * `npm start`: the whole pipeline on this machine. Starts the Temporal dev server (state in
 * .pipeline/temporal, Web UI on :8233) unless TEMPORAL_ADDRESS or a Temporal profile sets an
 * address or a server already answers, starts a worker for the target (--target sim, the default,
 * or local), runs the target's example
 * deployment and prints the stage table and the report. The local target also gets its GCS
 * emulator (fake-gcs-server on :4443, objects in .pipeline/gcs-emulator) and the example's bucket;
 * the cluster stage creates its kwok cluster, which keeps running for the next run.
 * With CI=true (or --exit) it exits with the pipeline's outcome; otherwise it keeps the server and
 * the worker up for the Web UI until Ctrl-C.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { execa, type ResultPromise } from 'execa';
import { PROJECT_ROOT } from '../assets.js';
import { SEARCH_ATTRIBUTES } from '../temporal/search-attributes.js';
import { createGcsStore, parseGsUri } from '../clients/gcs.js';
import { ensureLocalModels } from '../targets/local/models.js';
import { parseSpecText } from '../spec/load.js';
import { emulatorStorage, type GcsEmulator, gcsEmulatorAnswers, startGcsEmulator } from '../targets/local/gcs-emulator.js';
import { LOCAL_TARGET_FACTS } from '../targets/local/index.js';
import { createPipelineWorker, localConfigFromEnv, type LocalTargetConfig } from '../worker.js';
import { EXIT, runCli } from './cli.js';
import { codecFromEnv } from '../codec/aes-gcm.js';
import { createCodecServer, listenCodecServer } from '../codec/server.js';
import { connectionOptions } from '../temporal/connection.js';
import { clientConfigFromEnv, connectClient } from './temporal.js';

const DEFAULT_ADDRESS = '127.0.0.1:7233';
const UI_URL = 'http://127.0.0.1:8233';

async function answers(address: string): Promise<boolean> {
  try {
    const connection = await Connection.connect({ address, connectTimeout: '1s' });
    await connection.close();
    return true;
  } catch {
    return false;
  }
}

/** Returns the process wrapped: a bare execa process is a promise and would be awaited to its exit. */
async function startDevServer(stateDir: string, codecEndpoint: string | undefined): Promise<{ process: ResultPromise }> {
  await mkdir(join(stateDir, 'temporal'), { recursive: true });
  const server = execa(
    join(PROJECT_ROOT, '.tools/bin/temporal'),
    [
      'server', 'start-dev',
      '--ip', '127.0.0.1',
      '--port', '7233',
      '--ui-port', '8233',
      '--db-filename', join(stateDir, 'temporal', 'dev.sqlite'),
      '--namespace', 'default',
      '--log-level', 'warn',
      ...(codecEndpoint ? ['--ui-codec-endpoint', codecEndpoint] : []),
      ...SEARCH_ATTRIBUTES.flatMap((key) => ['--search-attribute', `${key.name}=${key.type === 'KEYWORD_LIST' ? 'KeywordList' : 'Keyword'}`]),
    ],
    { stdio: ['ignore', 'ignore', 'pipe'], cleanup: true },
  );
  server.catch(() => undefined);
  for (let i = 0; i < 120; i++) {
    if (await answers(DEFAULT_ADDRESS)) return { process: server };
    if (server.exitCode !== null) throw new Error(`temporal server start-dev exited with code ${server.exitCode}`);
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error('the Temporal dev server did not answer within 30 s');
}

const USAGE = `usage: npm start [-- --target sim|local] [-f spec.yaml] [--exit]
  --target sim    (default) the calibrated simulator of GKE and T4 GPUs; examples/sim-seed.yaml
  --target local  a real kube-apiserver with kwok nodes, real Helm, the GCS emulator; examples/local.yaml
  -f FILE         another spec (its target must match)
  --load-drill    after the deployment, hold a load until the release and its GPU pool scale up,
                  then watch them scale back (local target; the report plots the timeline)
  --exit          exit with the pipeline's outcome (default with CI=true) instead of serving the Web UI`;

/** The GCS emulator at the endpoint, started here (objects kept under the state dir) unless one answers. */
async function ensureGcsEmulator(endpoint: string, stateDir: string): Promise<GcsEmulator | undefined> {
  if (await gcsEmulatorAnswers(endpoint)) {
    console.log(`using the GCS emulator already answering at ${endpoint}`);
    return undefined;
  }
  const url = new URL(endpoint);
  if (url.hostname !== '127.0.0.1' && url.hostname !== 'localhost') throw new Error(`no GCS emulator answers at ${endpoint}`);
  const dataDir = join(stateDir, 'gcs-emulator');
  await mkdir(dataDir, { recursive: true });
  console.log(`starting the GCS emulator at ${endpoint} (objects in ${dataDir})`);
  return startGcsEmulator({ port: Number(url.port), dataDir });
}

/** The spec's bucket in the emulator (on GCP the bucket is the user's, made beforehand) with the local models; returns the cluster's name. */
async function ensureBucket(endpoint: string, specPath: string, stateDir: string): Promise<string | undefined> {
  const parsed = parseSpecText(await readFile(specPath, 'utf8'));
  if (!parsed.ok) return undefined; // the deploy command reports the spec's errors
  const storage = emulatorStorage(endpoint);
  const bucket = storage.bucket(parseGsUri(parsed.spec.bucket).bucket);
  const [exists] = await bucket.exists();
  if (!exists) await bucket.create();
  await ensureLocalModels(createGcsStore(storage), parsed.spec.bucket, join(stateDir, 'local-models'));
  return parsed.spec.cluster.name;
}

async function main(): Promise<number> {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: {
      target: { type: 'string', default: 'sim' },
      file: { type: 'string', short: 'f' },
      exit: { type: 'boolean', default: false },
      'load-drill': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return EXIT.ok;
  }
  const target = values.target;
  if (target !== 'sim' && target !== 'local') {
    console.error(`--target must be sim or local (got "${target}"); the gke target runs from \`npm run worker\` with PIPELINE_TARGET=gke\n\n${USAGE}`);
    return EXIT.invalid;
  }
  const specFile = values.file ?? (target === 'sim' ? 'examples/sim-seed.yaml' : 'examples/local.yaml');
  const exitWhenDone = values.exit || process.env['CI'] === 'true';
  const stateDir = process.env['PIPELINE_STATE_DIR'] ?? join(PROJECT_ROOT, '.pipeline');
  const clientConfig = clientConfigFromEnv(process.env);
  // An address set by TEMPORAL_ADDRESS or a Temporal profile is used as is; else the local dev server.
  let address = clientConfig.addressFrom === undefined ? undefined : clientConfig.address;
  let server: ResultPromise | undefined;
  // With PIPELINE_PAYLOAD_KEY set, payloads are encrypted; the Web UI decodes them through a local codec server.
  const codec = codecFromEnv(process.env);
  const codecServer = codec ? createCodecServer({ codec }) : undefined;
  const codecEndpoint = codecServer ? await listenCodecServer(codecServer) : undefined;
  if (codecEndpoint) console.log(`payloads are encrypted; the Web UI decodes them through ${codecEndpoint}`);
  if (address === undefined) {
    address = DEFAULT_ADDRESS;
    if (await answers(address)) {
      console.log(`using the Temporal server already answering at ${address}`);
    } else {
      console.log(`starting the Temporal dev server at ${address} (state in ${join(stateDir, 'temporal')})`);
      server = (await startDevServer(stateDir, codecEndpoint)).process;
    }
  } else {
    console.log(`using Temporal at ${address} (${clientConfig.addressFrom})`);
  }
  const namespace = clientConfig.namespace;
  const connection = await NativeConnection.connect(connectionOptions({ ...clientConfig, address }));
  let gcs: GcsEmulator | undefined;
  let local: LocalTargetConfig | undefined;
  let localCluster: string | undefined;
  if (target === 'local') {
    local = localConfigFromEnv(process.env, stateDir);
    gcs = await ensureGcsEmulator(local.gcsEndpoint, stateDir);
    localCluster = await ensureBucket(local.gcsEndpoint, join(PROJECT_ROOT, specFile), stateDir);
  }
  const worker = await createPipelineWorker({ connection, namespace, target, stateDir, dataConverter: clientConfig.dataConverter, ...(local ? { local } : {}) });
  const running = worker.run();
  if (local) {
    console.log(`worker: local target; kwok clusters in ${local.kwokDir}, GCS emulator at ${local.gcsEndpoint}`);
    console.log(`  real:      ${LOCAL_TARGET_FACTS.real.join('\n             ')}`);
    console.log(`  simulated: ${LOCAL_TARGET_FACTS.simulated.join('\n             ')}`);
  } else {
    console.log(`worker: sim target (a calibrated simulator of GKE + T4 GPUs, not GCP), state in ${join(stateDir, 'sim')}`);
  }
  console.log(`Web UI: ${UI_URL}/namespaces/${namespace}/workflows\n`);

  const out = { log: (l: string) => console.log(l), error: (l: string) => console.error(l) };
  let client: Awaited<ReturnType<typeof connectClient>> | undefined;
  const code = await runCli(['deploy', '-f', join(PROJECT_ROOT, specFile), ...(values['load-drill'] ? ['--load-drill'] : [])], out, async () => (client = await connectClient({ ...clientConfig, address: address!, namespace })));
  await client?.connection.close();

  if (!exitWhenDone) {
    console.log(`\nThe worker and the Temporal server keep running for the Web UI at ${UI_URL}; press Ctrl-C to stop.`);
    await new Promise<void>((resolve) => {
      process.once('SIGINT', () => resolve());
      process.once('SIGTERM', () => resolve());
    });
  }
  worker.shutdown();
  await running;
  await connection.close();
  codecServer?.close();
  await gcs?.stop();
  if (localCluster) console.log(`The local cluster keeps running for the next run; stop it with scripts/local-cluster.sh stop ${localCluster}`);
  server?.kill('SIGTERM');
  await server?.catch(() => undefined);
  return code;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(EXIT.failed);
  },
);
