/**
 * A codec server: lets the Temporal Web UI and the `temporal` CLI show decrypted payloads to an operator without the
 * Temporal server ever holding the key. Implements Temporal's remote codec protocol:
 *   POST <base>/encode and POST <base>/decode
 *   body and response: {"payloads":[{"metadata":{"encoding":"<base64>"},"data":"<base64>"}]}
 *   X-Namespace: the namespace the payloads belong to (restricted to CODEC_SERVER_NAMESPACES when set)
 *
 * Decoding shows secrets, so by default it binds to loopback only, answers browsers only from the local Web UI's
 * origin, and can require `Authorization: Bearer <CODEC_SERVER_TOKEN>`.
 *
 * Run: PIPELINE_PAYLOAD_KEY=... node --import tsx src/codec/server.ts
 *   then: temporal server start-dev --ui-codec-endpoint http://127.0.0.1:8081
 *   or:   temporal workflow show -w <id> --codec-endpoint http://127.0.0.1:8081 [--codec-auth "Bearer <token>"]
 * Environment: PIPELINE_PAYLOAD_KEY, PIPELINE_PAYLOAD_KEY_ID, PIPELINE_PAYLOAD_PREVIOUS_KEYS (see aes-gcm.ts),
 *   CODEC_SERVER_PORT (8081), CODEC_SERVER_HOST (127.0.0.1), CODEC_SERVER_TOKEN (unset = no token check),
 *   CODEC_SERVER_ORIGINS (comma-separated; default http://127.0.0.1:8233,http://localhost:8233),
 *   CODEC_SERVER_NAMESPACES (comma-separated; default all), CODEC_SERVER_BASE_PATH (default none).
 */
import { timingSafeEqual, createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';
import type { Payload, PayloadCodec } from '@temporalio/common';
import { codecFromEnv } from './aes-gcm.js';

export const DEFAULT_ALLOWED_ORIGINS = ['http://127.0.0.1:8233', 'http://localhost:8233'];
export const DEFAULT_CODEC_SERVER_PORT = 8081;
export const DEFAULT_CODEC_SERVER_HOST = '127.0.0.1';
/** Request bodies above this are refused (413). */
export const MAX_BODY_BYTES = 32 * 1024 * 1024;

export interface CodecServerOptions {
  codec: PayloadCodec;
  /** Browser origins allowed to call the server (the Web UI's); default DEFAULT_ALLOWED_ORIGINS. */
  allowedOrigins?: string[];
  /** When set, every POST needs `Authorization: Bearer <token>`. */
  token?: string;
  /** When set, X-Namespace must name one of these. Default: all namespaces. */
  namespaces?: string[];
  /** A path prefix for the endpoints ("/codec" serves /codec/encode and /codec/decode). Default: none. */
  basePath?: string;
}

/** Wire form of a Payload in the codec protocol (proto3 JSON: bytes as base64). */
export interface JsonPayload {
  metadata?: Record<string, string>;
  data?: string;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

// Standard or URL-safe alphabet, padding optional (proto3 JSON accepts both).
const BASE64_PATTERN = /^[A-Za-z0-9+/_-]*={0,2}$/;
const ALLOWED_HEADERS = 'content-type, x-namespace, authorization';

function fromBase64(value: unknown, where: string): Buffer {
  if (typeof value !== 'string' || !BASE64_PATTERN.test(value)) throw new HttpError(400, `${where} must be a base64 string`);
  return Buffer.from(value, 'base64');
}

export function payloadFromJson(value: unknown, index: number): Payload {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new HttpError(400, `payloads[${index}] must be an object`);
  const { metadata, data } = value as Record<string, unknown>;
  const payload: Payload = {};
  if (metadata !== undefined && metadata !== null) {
    if (typeof metadata !== 'object' || Array.isArray(metadata)) throw new HttpError(400, `payloads[${index}].metadata must be an object`);
    payload.metadata = Object.fromEntries(
      Object.entries(metadata as Record<string, unknown>).map(([key, v]) => [key, fromBase64(v, `payloads[${index}].metadata.${key}`)]),
    );
  }
  if (data !== undefined && data !== null) payload.data = fromBase64(data, `payloads[${index}].data`);
  return payload;
}

export function payloadToJson(payload: Payload): JsonPayload {
  const json: JsonPayload = {};
  if (payload.metadata) {
    json.metadata = Object.fromEntries(Object.entries(payload.metadata).map(([k, v]) => [k, Buffer.from(v).toString('base64')]));
  }
  if (payload.data) json.data = Buffer.from(payload.data).toString('base64');
  return json;
}

function parseBody(body: Buffer): Payload[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    throw new HttpError(400, 'request body is not valid JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || !Array.isArray((parsed as { payloads?: unknown }).payloads)) {
    throw new HttpError(400, 'request body must be {"payloads": [...]}');
  }
  return ((parsed as { payloads: unknown[] }).payloads).map(payloadFromJson);
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      if (size > MAX_BODY_BYTES) return;
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        chunks.length = 0;
        // Answered at once; the connection is closed after the response.
        reject(new HttpError(413, `request body exceeds ${MAX_BODY_BYTES} bytes`));
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
  res.end(text);
}

/** An http.Server (not yet listening) serving the codec protocol for `codec`. */
export function createCodecServer(options: CodecServerOptions): Server {
  const allowedOrigins = new Set((options.allowedOrigins ?? DEFAULT_ALLOWED_ORIGINS).map((o) => o.replace(/\/+$/, '')));
  const namespaces = options.namespaces && options.namespaces.length > 0 ? new Set(options.namespaces) : undefined;
  const tokenDigest = options.token ? digest(options.token) : undefined;
  const base = (options.basePath ?? '').replace(/\/+$/, '').replace(/^(?=[^/])/, '/');
  const routes = new Map<string, 'encode' | 'decode'>([
    [`${base}/encode`, 'encode'],
    [`${base}/decode`, 'decode'],
  ]);

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const origin = req.headers.origin;
    const originAllowed = origin !== undefined && allowedOrigins.has(origin);
    if (originAllowed) {
      res.setHeader('access-control-allow-origin', origin);
      res.setHeader('access-control-allow-credentials', 'true');
    }
    res.setHeader('vary', 'Origin');

    const path = new URL(req.url ?? '/', 'http://codec.invalid').pathname.replace(/\/{2,}/g, '/');
    const operation = routes.get(path);
    if (operation === undefined) throw new HttpError(404, `not found: ${path} (use POST ${base}/encode or ${base}/decode)`);
    // A browser page from any other origin gets nothing, not even a preflight.
    if (origin !== undefined && !originAllowed) throw new HttpError(403, `origin ${origin} is not allowed`);

    if (req.method === 'OPTIONS') {
      res.writeHead(204, {
        'access-control-allow-methods': 'POST, OPTIONS',
        'access-control-allow-headers': ALLOWED_HEADERS,
        'access-control-max-age': '600',
      });
      res.end();
      return;
    }
    if (req.method !== 'POST') {
      res.setHeader('allow', 'POST, OPTIONS');
      throw new HttpError(405, `method ${req.method ?? '?'} not allowed`);
    }
    if (tokenDigest !== undefined) {
      const match = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '');
      if (match === null || !timingSafeEqual(digest(match[1]!.trim()), tokenDigest)) {
        res.setHeader('www-authenticate', 'Bearer');
        throw new HttpError(401, 'missing or wrong bearer token');
      }
    }
    if (namespaces !== undefined) {
      const namespace = req.headers['x-namespace'];
      if (typeof namespace !== 'string' || !namespaces.has(namespace)) {
        throw new HttpError(403, `namespace ${typeof namespace === 'string' ? `"${namespace}"` : '(no X-Namespace header)'} is not served here`);
      }
    }
    const payloads = parseBody(await readBody(req));
    let result: Payload[];
    try {
      result = operation === 'encode' ? await options.codec.encode(payloads) : await options.codec.decode(payloads);
    } catch (error) {
      throw new HttpError(422, `${operation} failed: ${error instanceof Error ? error.message : String(error)}`);
    }
    sendJson(res, 200, { payloads: result.map(payloadToJson) });
  }

  return createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      const status = error instanceof HttpError ? error.status : 500;
      const message = error instanceof HttpError ? error.message : 'internal error';
      if (!(error instanceof HttpError)) console.error('codec server:', error);
      if (res.headersSent) {
        res.destroy();
        return;
      }
      if (status === 413) res.setHeader('connection', 'close');
      sendJson(res, status, { error: message });
    });
  });
}

function listFromEnv(value: string | undefined): string[] | undefined {
  const items = (value ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '');
  return items.length > 0 ? items : undefined;
}

export interface CodecServerConfig extends Omit<CodecServerOptions, 'codec'> {
  port: number;
  host: string;
}

/** CODEC_SERVER_* settings (the key itself comes from codecKeysFromEnv). */
export function codecServerConfigFromEnv(env: NodeJS.ProcessEnv): CodecServerConfig {
  const rawPort = env['CODEC_SERVER_PORT']?.trim() || String(DEFAULT_CODEC_SERVER_PORT);
  const port = Number(rawPort);
  if (!/^\d+$/.test(rawPort) || port < 0 || port > 65535) throw new Error(`CODEC_SERVER_PORT must be a port number 0-65535 (got "${rawPort}")`);
  const config: CodecServerConfig = {
    port,
    host: env['CODEC_SERVER_HOST']?.trim() || DEFAULT_CODEC_SERVER_HOST,
    allowedOrigins: listFromEnv(env['CODEC_SERVER_ORIGINS']) ?? DEFAULT_ALLOWED_ORIGINS,
  };
  const token = env['CODEC_SERVER_TOKEN']?.trim();
  if (token) config.token = token;
  const namespaces = listFromEnv(env['CODEC_SERVER_NAMESPACES']);
  if (namespaces) config.namespaces = namespaces;
  const basePath = env['CODEC_SERVER_BASE_PATH']?.trim();
  if (basePath) config.basePath = basePath;
  return config;
}

/** Starts listening; resolves with the endpoint URL to give the Web UI / CLI. */
export async function listenCodecServer(server: Server, port = DEFAULT_CODEC_SERVER_PORT, host = DEFAULT_CODEC_SERVER_HOST, basePath = ''): Promise<string> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const hostPart = address.family === 'IPv6' || address.address.includes(':') ? `[${address.address}]` : address.address;
  return `http://${hostPart}:${address.port}${basePath.replace(/\/+$/, '')}`;
}

async function main(): Promise<void> {
  const codec = codecFromEnv(process.env);
  if (codec === null) throw new Error('PIPELINE_PAYLOAD_KEY is not set: the codec server needs the payload key (base64 of 32 bytes)');
  const config = codecServerConfigFromEnv(process.env);
  const server = createCodecServer({ codec, ...config });
  const url = await listenCodecServer(server, config.port, config.host, config.basePath);
  console.log(`codec server: ${url} (keys: ${codec.keyIds.join(', ')}; origins: ${(config.allowedOrigins ?? []).join(', ')}` +
    `${config.namespaces ? `; namespaces: ${config.namespaces.join(', ')}` : ''}${config.token ? '; bearer token required' : ''})`);
  console.log(`  Web UI:  temporal server start-dev --ui-codec-endpoint ${url}   (or Web UI > Settings > Codec Server endpoint)`);
  console.log(`  CLI:     temporal workflow show -w <workflow-id> --codec-endpoint ${url}${config.token ? ' --codec-auth "Bearer $CODEC_SERVER_TOKEN"' : ''}`);
  const stop = (): void => {
    server.close(() => process.exit(0));
    server.closeAllConnections();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  });
}
