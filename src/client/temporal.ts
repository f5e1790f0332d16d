/** Connecting clients to Temporal, and registering the search attributes the workflows use. */
import { Client, Connection } from '@temporalio/client';
import type { DataConverter } from '@temporalio/common';
import proto from '@temporalio/proto';
import { dataConverterFromEnv } from '../codec/aes-gcm.js';
import { connectionOptions, temporalConnectionFromEnv, type TemporalConnectionConfig } from '../config/temporal.js';
import { SEARCH_ATTRIBUTES } from '../plan/search-attributes.js';

export interface ClientConfig extends TemporalConnectionConfig {
  /** The payload codec when payloads are encrypted (PIPELINE_PAYLOAD_KEY; must match the worker's). */
  dataConverter?: DataConverter | undefined;
}

export function clientConfigFromEnv(env: NodeJS.ProcessEnv): ClientConfig {
  return { ...temporalConnectionFromEnv(env), dataConverter: dataConverterFromEnv(env) };
}

export async function connectClient(config: ClientConfig): Promise<Client> {
  const connection = await Connection.connect({ ...connectionOptions(config), connectTimeout: '5s' });
  return new Client({ connection, namespace: config.namespace, ...(config.dataConverter ? { dataConverter: config.dataConverter } : {}) });
}

const INDEXED_TYPES: Record<string, proto.temporal.api.enums.v1.IndexedValueType> = {
  KEYWORD: proto.temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
  KEYWORD_LIST: proto.temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD_LIST,
};

/** Adds the pipeline's search attributes where missing (idempotent; the dev server allows it). */
export async function ensureSearchAttributes(client: Client): Promise<void> {
  const operator = client.connection.operatorService;
  const { customAttributes } = await operator.listSearchAttributes({ namespace: client.options.namespace });
  const missing = SEARCH_ATTRIBUTES.filter((key) => customAttributes?.[key.name] === undefined);
  if (missing.length === 0) return;
  await operator.addSearchAttributes({
    namespace: client.options.namespace,
    searchAttributes: Object.fromEntries(missing.map((key) => [key.name, INDEXED_TYPES[key.type]!])),
  });
}
