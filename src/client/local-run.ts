/**
 * `npm start`: the whole pipeline on this machine. Starts the Temporal dev server (state in
 * .pipeline/temporal, Web UI on :8233) unless TEMPORAL_ADDRESS is set or a server already answers,
 * starts a sim worker, runs the example deployment and prints the stage table and the report.
 * With CI=true (or --exit) it exits with the pipeline's outcome; otherwise it keeps the server and
 * the worker up for the Web UI until Ctrl-C.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { execa, type ResultPromise } from 'execa';
import { PROJECT_ROOT } from '../assets.js';
import { SEARCH_ATTRIBUTES } from '../plan/search-attributes.js';
import { createPipelineWorker } from '../worker.js';
import { EXIT, runCli } from './cli.js';
import { codecFromEnv } from '../codec/aes-gcm.js';
import { createCodecServer, listenCodecServer } from '../codec/server.js';
import { connectionOptions } from '../config/temporal.js';
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

async function main(): Promise<number> {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: { file: { type: 'string', short: 'f', default: 'examples/sim-seed.yaml' }, exit: { type: 'boolean', default: false } },
  });
  const exitWhenDone = values.exit || process.env['CI'] === 'true';
  const stateDir = process.env['PIPELINE_STATE_DIR'] ?? join(PROJECT_ROOT, '.pipeline');
  let address = process.env['TEMPORAL_ADDRESS'];
  let server: ResultPromise | undefined;
  // With PIPELINE_PAYLOAD_KEY set, payloads are encrypted; the Web UI decodes them through a local codec server.
  const clientConfig = clientConfigFromEnv(process.env);
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
    console.log(`using TEMPORAL_ADDRESS=${address}`);
  }
  const namespace = clientConfig.namespace;
  const connection = await NativeConnection.connect(connectionOptions({ ...clientConfig, address }));
  const worker = await createPipelineWorker({ connection, namespace, target: 'sim', stateDir, dataConverter: clientConfig.dataConverter });
  const running = worker.run();
  console.log(`worker: sim target (a calibrated simulator of GKE + T4 GPUs, not GCP), state in ${join(stateDir, 'sim')}`);
  console.log(`Web UI: ${UI_URL}/namespaces/${namespace}/workflows\n`);

  const out = { log: (l: string) => console.log(l), error: (l: string) => console.error(l) };
  let client: Awaited<ReturnType<typeof connectClient>> | undefined;
  const code = await runCli(['deploy', '-f', join(PROJECT_ROOT, values.file)], out, async () => (client = await connectClient({ ...clientConfig, address: address!, namespace })));
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
