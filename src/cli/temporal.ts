/** Connecting clients to Temporal, and registering the search attributes the workflows use. */
import { Client, Connection, isGrpcServiceError, type OperatorService } from '@temporalio/client';
import type { DataConverter } from '@temporalio/common';
import proto from '@temporalio/proto';
import { dataConverterFromEnv } from '../codec/aes-gcm.js';
import { connectionOptions, type TemporalConnectionConfig, temporalConnectionFromEnv } from '../temporal/connection.js';
import { SEARCH_ATTRIBUTES } from '../temporal/search-attributes.js';

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

/** What a registration did: the attributes it added, or why it could not look (no operator API, as on Temporal Cloud). */
export type SearchAttributeRegistration = { added: string[] } | { unchecked: string };

/** gRPC codes of a server that does not let this caller use the operator API (Temporal Cloud does not offer it). */
const NO_OPERATOR_ACCESS = new Set([7 /* PERMISSION_DENIED */, 12 /* UNIMPLEMENTED */, 16 /* UNAUTHENTICATED */]);
const noOperatorAccess = (error: unknown) => isGrpcServiceError(error) && NO_OPERATOR_ACCESS.has(error.code);

/**
 * Adds the pipeline's search attributes to a namespace where missing, through a client's
 * Connection or a worker's NativeConnection (a worker on a fresh namespace registers them before
 * its first upsert). Idempotent, and safe beside another worker or client doing the same at the
 * same time: the server skips an attribute already registered, and a lost race (the other one took
 * the storage field first) is retried after listing again. An attribute registered with another
 * type is an error that names it; a server without the operator API for this caller is reported,
 * not thrown (register them there with its own tools, e.g. `tcld namespace search-attributes add`).
 */
export async function registerSearchAttributes(
  connection: { operatorService: OperatorService },
  namespace: string,
  attempts = 5,
): Promise<SearchAttributeRegistration> {
  const operator = connection.operatorService;
  for (let attempt = 1; ; attempt++) {
    let registered: Record<string, proto.temporal.api.enums.v1.IndexedValueType>;
    try {
      registered = (await operator.listSearchAttributes({ namespace })).customAttributes ?? {};
    } catch (error) {
      if (noOperatorAccess(error)) return { unchecked: uncheckedMessage(namespace, error) };
      throw error;
    }
    const conflicting = SEARCH_ATTRIBUTES.filter((key) => registered[key.name] !== undefined && registered[key.name] !== INDEXED_TYPES[key.type]);
    if (conflicting.length > 0) {
      throw new Error(`namespace ${namespace} has ${conflicting.map((key) => key.name).join(', ')} registered with another type; the pipeline needs ${conflicting.map((key) => `${key.name} ${key.type}`).join(', ')}`);
    }
    const missing = SEARCH_ATTRIBUTES.filter((key) => registered[key.name] === undefined);
    if (missing.length === 0) return { added: [] };
    try {
      await operator.addSearchAttributes({
        namespace,
        searchAttributes: Object.fromEntries(missing.map((key) => [key.name, INDEXED_TYPES[key.type]!])),
      });
      return { added: missing.map((key) => key.name) };
    } catch (error) {
      if (noOperatorAccess(error)) return { unchecked: uncheckedMessage(namespace, error) };
      if (attempt >= attempts) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100 * attempt + Math.random() * 100));
    }
  }
}

function uncheckedMessage(namespace: string, error: unknown): string {
  const names = SEARCH_ATTRIBUTES.map((key) => `${key.name} (${key.type})`).join(', ');
  return `cannot check the search attributes of namespace ${namespace} (${error instanceof Error ? error.message : String(error)}); register ${names} there, or runs stall at their first upsert (a workflow-task failure)`;
}

/** Adds the pipeline's search attributes where missing (the CLI and `npm start`; see registerSearchAttributes). */
export async function ensureSearchAttributes(client: Client): Promise<SearchAttributeRegistration> {
  return registerSearchAttributes(client.connection, client.options.namespace);
}
