/**
 * Payload encryption: nothing the pipeline sends through Temporal (workflow inputs and results, activity arguments and
 * results, signals, queries, memos, heartbeats) is stored in plaintext in workflow history.
 *
 * Each payload (metadata + data, serialized as a temporal.api.common.v1.Payload protobuf) is encrypted with AES-256-GCM
 * under a fresh random 12-byte IV. The encrypted payload carries `encoding: binary/encrypted` and
 * `encryption-key-id: <id>` in its metadata and `iv ‖ ciphertext ‖ tag` as its data; the key id is also bound into
 * the GCM tag as additional authenticated data. Several keys can be known at once for rotation: payloads are encoded
 * with the current key and decoded with whichever key their id names.
 *
 * Keys come from the environment (see codecKeysFromEnv):
 *   PIPELINE_PAYLOAD_KEY             base64 of 32 random bytes (`openssl rand -base64 32`); unset = no encryption
 *   PIPELINE_PAYLOAD_KEY_ID          the current key's id (default "default")
 *   PIPELINE_PAYLOAD_PREVIOUS_KEYS   older keys still needed for decoding: "id1:base64,id2:base64"
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { DataConverter, Payload, PayloadCodec } from '@temporalio/common';
import proto from '@temporalio/proto';

export const ENCODING_ENCRYPTED = 'binary/encrypted';
export const METADATA_ENCODING_KEY = 'encoding';
export const METADATA_KEY_ID_KEY = 'encryption-key-id';

const ALGORITHM = 'aes-256-gcm';
const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const KEY_ID_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;
const BASE64_PATTERN = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

const PayloadMessage = proto.temporal.api.common.v1.Payload;

export interface CodecKey {
  id: string;
  /** 32 bytes. */
  key: Uint8Array;
}

export interface CodecKeys {
  /** Encodes every new payload. */
  current: CodecKey;
  /** Only decode (payloads written before a rotation). */
  previous: CodecKey[];
}

export class AesGcmPayloadCodec implements PayloadCodec {
  readonly currentKeyId: string;
  private readonly currentKey: Buffer;
  private readonly keys = new Map<string, Buffer>();

  constructor(keys: CodecKeys) {
    for (const { id, key } of [keys.current, ...keys.previous]) {
      validateKeyId(id, 'key id');
      if (key.length !== KEY_BYTES) throw new Error(`encryption key "${id}" must be ${KEY_BYTES} bytes (got ${key.length})`);
      if (this.keys.has(id)) throw new Error(`encryption key id "${id}" is configured more than once`);
      this.keys.set(id, Buffer.from(key));
    }
    this.currentKeyId = keys.current.id;
    this.currentKey = this.keys.get(keys.current.id)!;
  }

  /** The ids of every key this codec can decode with, current first. */
  get keyIds(): string[] {
    return [...this.keys.keys()];
  }

  async encode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => this.encryptOne(payload));
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => this.decryptOne(payload));
  }

  private encryptOne(payload: Payload): Payload {
    const plaintext = PayloadMessage.encode(payload).finish();
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv(ALGORITHM, this.currentKey, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(Buffer.from(this.currentKeyId, 'utf8'));
    const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    return {
      metadata: {
        [METADATA_ENCODING_KEY]: Buffer.from(ENCODING_ENCRYPTED, 'utf8'),
        [METADATA_KEY_ID_KEY]: Buffer.from(this.currentKeyId, 'utf8'),
      },
      data: Buffer.concat([iv, ciphertext, cipher.getAuthTag()]),
    };
  }

  private decryptOne(payload: Payload): Payload {
    const encoding = payload.metadata?.[METADATA_ENCODING_KEY];
    if (encoding === undefined || encoding === null || Buffer.from(encoding).toString('utf8') !== ENCODING_ENCRYPTED) {
      return payload;
    }
    const rawKeyId = payload.metadata?.[METADATA_KEY_ID_KEY];
    if (rawKeyId === undefined || rawKeyId === null) {
      throw new Error(`encrypted payload has no "${METADATA_KEY_ID_KEY}" metadata`);
    }
    const keyId = Buffer.from(rawKeyId).toString('utf8');
    const key = this.keys.get(keyId);
    if (key === undefined) {
      throw new Error(
        `cannot decrypt payload: unknown encryption key id "${keyId}" (known: ${this.keyIds.map((id) => `"${id}"`).join(', ')}); ` +
          'add it to PIPELINE_PAYLOAD_PREVIOUS_KEYS',
      );
    }
    const data = Buffer.from(payload.data ?? new Uint8Array());
    if (data.length < IV_BYTES + TAG_BYTES) {
      throw new Error(`cannot decrypt payload with key "${keyId}": data too short (${data.length} bytes)`);
    }
    const iv = data.subarray(0, IV_BYTES);
    const tag = data.subarray(data.length - TAG_BYTES);
    const ciphertext = data.subarray(IV_BYTES, data.length - TAG_BYTES);
    let plaintext: Buffer;
    try {
      const decipher = createDecipheriv(ALGORITHM, key, iv, { authTagLength: TAG_BYTES });
      decipher.setAAD(Buffer.from(keyId, 'utf8'));
      decipher.setAuthTag(tag);
      plaintext = Buffer.concat([decipher.update(ciphertext), decipher.final()]);
    } catch {
      throw new Error(`cannot decrypt payload with key "${keyId}": authentication failed (tampered data or wrong key)`);
    }
    const decoded = PayloadMessage.decode(plaintext);
    // A plain object (not a protobuf message instance), like every other payload the SDK handles.
    return PayloadMessage.toObject(decoded, { defaults: false }) as Payload;
  }
}

function validateKeyId(id: string, what: string): void {
  if (!KEY_ID_PATTERN.test(id)) {
    throw new Error(`${what} "${id}" is invalid: use 1-64 characters from A-Z a-z 0-9 . _ -`);
  }
}

function parseKey(base64: string, variable: string, id: string): Buffer {
  const trimmed = base64.trim();
  if (!BASE64_PATTERN.test(trimmed)) {
    throw new Error(`${variable}: key "${id}" is not valid base64 (generate one with: openssl rand -base64 32)`);
  }
  const key = Buffer.from(trimmed, 'base64');
  if (key.length !== KEY_BYTES) {
    throw new Error(`${variable}: key "${id}" must decode to ${KEY_BYTES} bytes for AES-256 (got ${key.length}); generate one with: openssl rand -base64 32`);
  }
  return key;
}

/**
 * Reads the payload keys from the environment; null when PIPELINE_PAYLOAD_KEY is unset or empty (no encryption).
 * Throws with a message naming the variable on any malformed value.
 */
export function codecKeysFromEnv(env: NodeJS.ProcessEnv): CodecKeys | null {
  const rawKey = env['PIPELINE_PAYLOAD_KEY']?.trim() ?? '';
  const rawPrevious = env['PIPELINE_PAYLOAD_PREVIOUS_KEYS']?.trim() ?? '';
  if (rawKey === '') {
    if (rawPrevious !== '') throw new Error('PIPELINE_PAYLOAD_PREVIOUS_KEYS is set but PIPELINE_PAYLOAD_KEY (the current key) is not');
    return null;
  }
  const id = env['PIPELINE_PAYLOAD_KEY_ID']?.trim() || 'default';
  if (!KEY_ID_PATTERN.test(id)) {
    throw new Error(`PIPELINE_PAYLOAD_KEY_ID "${id}" is invalid: use 1-64 characters from A-Z a-z 0-9 . _ -`);
  }
  const current: CodecKey = { id, key: parseKey(rawKey, 'PIPELINE_PAYLOAD_KEY', id) };
  const previous: CodecKey[] = [];
  const seen = new Set([id]);
  for (const entry of rawPrevious.split(',').map((s) => s.trim()).filter((s) => s !== '')) {
    const colon = entry.indexOf(':');
    if (colon <= 0) {
      throw new Error('PIPELINE_PAYLOAD_PREVIOUS_KEYS must be a comma-separated list of id:base64key entries (an entry has no "id:")');
    }
    const previousId = entry.slice(0, colon).trim();
    if (!KEY_ID_PATTERN.test(previousId)) {
      throw new Error(`PIPELINE_PAYLOAD_PREVIOUS_KEYS: key id "${previousId}" is invalid: use 1-64 characters from A-Z a-z 0-9 . _ -`);
    }
    if (seen.has(previousId)) throw new Error(`PIPELINE_PAYLOAD_PREVIOUS_KEYS: key id "${previousId}" is configured more than once`);
    seen.add(previousId);
    previous.push({ id: previousId, key: parseKey(entry.slice(colon + 1), 'PIPELINE_PAYLOAD_PREVIOUS_KEYS', previousId) });
  }
  return { current, previous };
}

/** The codec configured by the environment, or null when no key is configured. */
export function codecFromEnv(env: NodeJS.ProcessEnv): AesGcmPayloadCodec | null {
  const keys = codecKeysFromEnv(env);
  return keys === null ? null : new AesGcmPayloadCodec(keys);
}

/**
 * For Worker.create / new Client: `dataConverter: dataConverterFromEnv(process.env)`.
 * undefined (the SDK default, no encryption) when no key is configured.
 */
export function dataConverterFromEnv(env: NodeJS.ProcessEnv): DataConverter | undefined {
  const codec = codecFromEnv(env);
  return codec === null ? undefined : { payloadCodecs: [codec] };
}
