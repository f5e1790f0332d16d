/**
 * How workers and clients reach Temporal, parsed once from the environment: a local dev server by
 * default, or a Temporal cluster / Temporal Cloud with mTLS or an API key (the pipeline-worker
 * chart mounts these from a Secret). Files are read here so a bad path fails at start-up.
 */
import { readFileSync } from 'node:fs';
import type { TLSConfig } from '@temporalio/client';

export interface TemporalConnectionConfig {
  address: string;
  namespace: string;
  tls?: TLSConfig;
  apiKey?: string;
}

function readFile(variable: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    throw new Error(`${variable}=${path} cannot be read: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
}

export function temporalConnectionFromEnv(env: NodeJS.ProcessEnv): TemporalConnectionConfig {
  const address = env['TEMPORAL_ADDRESS'] ?? '127.0.0.1:7233';
  if (!/^[^:\s]+:\d+$/.test(address)) throw new Error(`TEMPORAL_ADDRESS must be host:port (got "${address}")`);
  const cert = env['TEMPORAL_TLS_CERT'];
  const key = env['TEMPORAL_TLS_KEY'];
  if ((cert === undefined) !== (key === undefined)) {
    throw new Error('TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY go together (paths to the client certificate and its key)');
  }
  const ca = env['TEMPORAL_TLS_CA'];
  const apiKey = env['TEMPORAL_API_KEY'];
  const tls: TLSConfig | undefined =
    cert !== undefined && key !== undefined
      ? {
          clientCertPair: { crt: readFile('TEMPORAL_TLS_CERT', cert), key: readFile('TEMPORAL_TLS_KEY', key) },
          ...(ca ? { serverRootCACertificate: readFile('TEMPORAL_TLS_CA', ca) } : {}),
        }
      : apiKey !== undefined || ca !== undefined
        ? { ...(ca ? { serverRootCACertificate: readFile('TEMPORAL_TLS_CA', ca) } : {}) }
        : undefined;
  return {
    address,
    namespace: env['TEMPORAL_NAMESPACE'] ?? 'default',
    ...(tls ? { tls } : {}),
    ...(apiKey ? { apiKey } : {}),
  };
}

/** The options NativeConnection.connect / Connection.connect take. */
export function connectionOptions(config: TemporalConnectionConfig): { address: string; tls?: TLSConfig; apiKey?: string } {
  return { address: config.address, ...(config.tls ? { tls: config.tls } : {}), ...(config.apiKey ? { apiKey: config.apiKey } : {}) };
}
