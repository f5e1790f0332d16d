/** Payload encryption (AES-256-GCM codec) and the codec server the Web UI / CLI use to show decoded payloads. */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import proto from '@temporalio/proto';
import { AesGcmPayloadCodec, type CodecKey, codecKeysFromEnv, dataConverterFromEnv, ENCODING_ENCRYPTED } from '../../../src/codec/aes-gcm.js';
import { codecServerConfigFromEnv, createCodecServer, listenCodecServer, payloadToJson } from '../../../src/codec/server.js';

const SECRET = 'hf_SuperSecretToken_0123456789abcdef';

function key(id: string): CodecKey {
  return { id, key: randomBytes(32) };
}

function payload(value: unknown): Payload {
  return defaultPayloadConverter.toPayload(value);
}

function text(bytes: Uint8Array | null | undefined): string {
  return Buffer.from(bytes ?? new Uint8Array()).toString('utf8');
}

describe('AesGcmPayloadCodec', () => {
  const current = key('k2');
  const old = key('k1');
  const codec = new AesGcmPayloadCodec({ current, previous: [old] });

  it('round-trips payloads (metadata and data) and hides the plaintext', async () => {
    const originals = [payload({ token: SECRET, n: 1 }), payload(undefined), payload(new Uint8Array([0, 1, 2, 255])), payload('')];
    const encoded = await codec.encode(originals);
    assert.equal(encoded.length, originals.length);
    for (const e of encoded) {
      assert.equal(text(e.metadata?.['encoding']), ENCODING_ENCRYPTED);
      assert.equal(text(e.metadata?.['encryption-key-id']), 'k2');
      assert.deepEqual(Object.keys(e.metadata ?? {}).sort(), ['encoding', 'encryption-key-id']);
      assert.ok(!Buffer.from(e.data!).includes(SECRET));
      assert.ok(!Buffer.from(e.data!).includes('json/plain'));
    }
    const decoded = await codec.decode(encoded);
    assert.equal(decoded.length, originals.length);
    decoded.forEach((d, i) => {
      const o = originals[i]!;
      assert.deepEqual(Object.keys(d.metadata ?? {}).sort(), Object.keys(o.metadata ?? {}).sort());
      for (const [k, v] of Object.entries(o.metadata ?? {})) assert.deepEqual(Buffer.from(d.metadata![k]!), Buffer.from(v));
      assert.deepEqual(Buffer.from(d.data ?? new Uint8Array()), Buffer.from(o.data ?? new Uint8Array()));
    });
    assert.deepEqual(defaultPayloadConverter.fromPayload(decoded[0]!), { token: SECRET, n: 1 });
    assert.equal(defaultPayloadConverter.fromPayload(decoded[1]!), undefined);
    assert.deepEqual(await codec.encode([]), []);
  });

  it('uses a fresh IV per payload: the same payload never encodes the same way', async () => {
    const p = payload({ token: SECRET });
    const [a, b] = await codec.encode([p, p]);
    const [c] = await codec.encode([p]);
    const ivs = [a!, b!, c!].map((e) => Buffer.from(e.data!).subarray(0, 12).toString('hex'));
    assert.equal(new Set(ivs).size, 3);
    assert.notDeepEqual(Buffer.from(a!.data!), Buffer.from(b!.data!));
    // iv ‖ ciphertext (GCM: same length as the serialized payload) ‖ tag
    assert.equal(a!.data!.length, 12 + proto.temporal.api.common.v1.Payload.encode(p).finish().length + 16);
  });

  it('detects tampering: any flipped byte (IV, ciphertext or tag) fails with an error', async () => {
    const [e] = await codec.encode([payload({ token: SECRET })]);
    const data = Buffer.from(e!.data!);
    for (const index of [0, 11, 12, Math.floor(data.length / 2), data.length - 1]) {
      const tampered = Buffer.from(data);
      tampered[index] = tampered[index]! ^ 0x01;
      await assert.rejects(codec.decode([{ metadata: e!.metadata, data: tampered }]), /authentication failed/);
    }
    await assert.rejects(codec.decode([{ metadata: e!.metadata, data: data.subarray(0, 20) }]), /too short/);
  });

  it('binds the key id: relabelling a payload with another known key id fails', async () => {
    const [e] = await codec.encode([payload('x')]);
    const relabelled = { metadata: { ...e!.metadata, 'encryption-key-id': Buffer.from('k1') }, data: e!.data };
    await assert.rejects(codec.decode([relabelled]), /key "k1": authentication failed/);
  });

  it('rejects an unknown key id with an error naming it, and a wrong key with the same id', async () => {
    const other = new AesGcmPayloadCodec({ current: key('stranger'), previous: [] });
    const [e] = await other.encode([payload({ token: SECRET })]);
    await assert.rejects(codec.decode([e!]), (error: Error) => {
      assert.match(error.message, /unknown encryption key id "stranger"/);
      assert.match(error.message, /"k2", "k1"/);
      assert.ok(!error.message.includes(SECRET));
      return true;
    });
    const sameIdWrongKey = new AesGcmPayloadCodec({ current: key('k2'), previous: [] });
    const [f] = await sameIdWrongKey.encode([payload('y')]);
    await assert.rejects(codec.decode([f!]), /key "k2": authentication failed/);
    await assert.rejects(codec.decode([{ metadata: { encoding: Buffer.from(ENCODING_ENCRYPTED) }, data: f!.data }]), /no "encryption-key-id"/);
  });

  it('rotation: encodes with the current key, decodes payloads written under a previous key', async () => {
    const earlier = new AesGcmPayloadCodec({ current: old, previous: [] });
    const [written] = await earlier.encode([payload({ token: SECRET })]);
    assert.equal(text(written!.metadata?.['encryption-key-id']), 'k1');
    const [decoded] = await codec.decode([written!]);
    assert.deepEqual(defaultPayloadConverter.fromPayload(decoded!), { token: SECRET });
    const [fresh] = await codec.encode([decoded!]);
    assert.equal(text(fresh!.metadata?.['encryption-key-id']), 'k2');
    await assert.rejects(earlier.decode([fresh!]), /unknown encryption key id "k2"/);
  });

  it('passes unencrypted payloads through unchanged on decode', async () => {
    const plain = [payload({ a: 1 }), payload(null), { metadata: { encoding: Buffer.from('binary/plain') }, data: Buffer.from('raw') }, {}];
    const decoded = await codec.decode(plain);
    decoded.forEach((d, i) => assert.equal(d, plain[i]));
    // Mixed batches keep their order.
    const [enc] = await codec.encode([payload('secret')]);
    const mixed = await codec.decode([plain[0]!, enc!, plain[1]!]);
    assert.equal(mixed[0], plain[0]);
    assert.equal(defaultPayloadConverter.fromPayload(mixed[1]!), 'secret');
    assert.equal(mixed[2], plain[1]);
  });

  it('validates keys given directly', () => {
    assert.throws(() => new AesGcmPayloadCodec({ current: { id: 'a', key: randomBytes(16) }, previous: [] }), /must be 32 bytes \(got 16\)/);
    assert.throws(() => new AesGcmPayloadCodec({ current: key('a'), previous: [key('a')] }), /"a" is configured more than once/);
    assert.throws(() => new AesGcmPayloadCodec({ current: key('bad id'), previous: [] }), /"bad id" is invalid/);
  });
});

describe('codecKeysFromEnv / dataConverterFromEnv', () => {
  const k32 = randomBytes(32).toString('base64');
  const k32b = randomBytes(32).toString('base64');

  it('returns null / undefined when no key is configured', () => {
    assert.equal(codecKeysFromEnv({}), null);
    assert.equal(codecKeysFromEnv({ PIPELINE_PAYLOAD_KEY: '  ' }), null);
    assert.equal(dataConverterFromEnv({}), undefined);
  });

  it('reads the current key (default id "default") and previous keys', async () => {
    const keys = codecKeysFromEnv({ PIPELINE_PAYLOAD_KEY: k32 });
    assert.equal(keys?.current.id, 'default');
    assert.deepEqual(Buffer.from(keys!.current.key), Buffer.from(k32, 'base64'));
    assert.deepEqual(keys?.previous, []);
    const rotated = codecKeysFromEnv({
      PIPELINE_PAYLOAD_KEY: k32,
      PIPELINE_PAYLOAD_KEY_ID: '2025-06',
      PIPELINE_PAYLOAD_PREVIOUS_KEYS: ` 2025-01:${k32b} , default:${k32},`,
    });
    assert.equal(rotated?.current.id, '2025-06');
    assert.deepEqual(rotated?.previous.map((k) => k.id), ['2025-01', 'default']);
    const converter = dataConverterFromEnv({ PIPELINE_PAYLOAD_KEY: k32, PIPELINE_PAYLOAD_KEY_ID: 'x' });
    assert.equal(converter?.payloadCodecs?.length, 1);
    const codec = converter!.payloadCodecs![0]!;
    assert.ok(codec instanceof AesGcmPayloadCodec);
    const [e] = await codec.encode([payload(1)]);
    assert.equal(text(e!.metadata?.['encryption-key-id']), 'x');
  });

  it('rejects malformed values with messages naming the variable', () => {
    assert.throws(() => codecKeysFromEnv({ PIPELINE_PAYLOAD_KEY: 'not base64!!' }), /PIPELINE_PAYLOAD_KEY: key "default" is not valid base64/);
    assert.throws(() => codecKeysFromEnv({ PIPELINE_PAYLOAD_KEY: randomBytes(16).toString('base64') }), /PIPELINE_PAYLOAD_KEY: .*must decode to 32 bytes .*got 16/);
    assert.throws(() => codecKeysFromEnv({ PIPELINE_PAYLOAD_KEY: k32, PIPELINE_PAYLOAD_KEY_ID: 'has space' }), /PIPELINE_PAYLOAD_KEY_ID "has space" is invalid/);
    assert.throws(() => codecKeysFromEnv({ PIPELINE_PAYLOAD_KEY: k32, PIPELINE_PAYLOAD_PREVIOUS_KEYS: k32b }), /PIPELINE_PAYLOAD_PREVIOUS_KEYS must be .*id:base64key/);
    assert.throws(() => codecKeysFromEnv({ PIPELINE_PAYLOAD_KEY: k32, PIPELINE_PAYLOAD_PREVIOUS_KEYS: 'old:abc' }), /PIPELINE_PAYLOAD_PREVIOUS_KEYS: key "old" .*(base64|32 bytes)/);
    assert.throws(() => codecKeysFromEnv({ PIPELINE_PAYLOAD_KEY: k32, PIPELINE_PAYLOAD_PREVIOUS_KEYS: `default:${k32b}` }), /"default" is configured more than once/);
    assert.throws(() => codecKeysFromEnv({ PIPELINE_PAYLOAD_PREVIOUS_KEYS: `old:${k32b}` }), /PIPELINE_PAYLOAD_KEY \(the current key\) is not/);
  });
});

describe('codec server', () => {
  const codec = new AesGcmPayloadCodec({ current: key('srv'), previous: [] });
  const servers: Server[] = [];
  let open: string;
  let guarded: string;

  before(async () => {
    const a = createCodecServer({ codec });
    const b = createCodecServer({ codec, allowedOrigins: ['https://ui.example'], token: 's3cret', namespaces: ['pipeline'], basePath: '/codec/' });
    servers.push(a, b);
    open = await listenCodecServer(a, 0);
    guarded = await listenCodecServer(b, 0, '127.0.0.1', '/codec');
  });
  after(async () => {
    for (const s of servers) {
      s.closeAllConnections();
      await new Promise((resolve) => s.close(resolve));
    }
  });

  function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
    return fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });
  }

  it('binds 127.0.0.1 by default', () => {
    assert.match(open, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.match(guarded, /^http:\/\/127\.0\.0\.1:\d+\/codec$/);
  });

  it('encodes and decodes over HTTP (the remote codec JSON protocol), interoperating with the codec', async () => {
    const originals = [payload({ token: SECRET }), payload(undefined)];
    const encodeRes = await post(`${open}/encode`, { payloads: originals.map(payloadToJson) }, { 'x-namespace': 'default' });
    assert.equal(encodeRes.status, 200);
    assert.match(encodeRes.headers.get('content-type') ?? '', /application\/json/);
    const encoded = (await encodeRes.json()) as { payloads: { metadata: Record<string, string>; data: string }[] };
    assert.equal(encoded.payloads.length, 2);
    for (const p of encoded.payloads) {
      assert.equal(Buffer.from(p.metadata['encoding']!, 'base64').toString(), ENCODING_ENCRYPTED);
      assert.equal(Buffer.from(p.metadata['encryption-key-id']!, 'base64').toString(), 'srv');
    }
    assert.ok(!JSON.stringify(encoded).includes(Buffer.from(SECRET).toString('base64').slice(0, 16)));

    const decodeRes = await post(`${open}/decode`, encoded);
    assert.equal(decodeRes.status, 200);
    const decoded = (await decodeRes.json()) as { payloads: { metadata: Record<string, string>; data?: string }[] };
    assert.deepEqual(decoded.payloads, originals.map(payloadToJson));
    const first = decoded.payloads[0]!;
    assert.deepEqual(JSON.parse(Buffer.from(first.data!, 'base64').toString()), { token: SECRET });

    // What the worker's codec wrote decodes through the server too; unencrypted payloads pass through.
    const [written] = await codec.encode([payload('from-worker')]);
    const plain = payloadToJson(payload('plain'));
    const mixed = (await (await post(`${open}/decode`, { payloads: [payloadToJson(written!), plain] })).json()) as { payloads: unknown[] };
    assert.deepEqual(mixed.payloads, [payloadToJson(payload('from-worker')), plain]);
    const empty = await post(`${open}/decode`, { payloads: [] });
    assert.deepEqual(await empty.json(), { payloads: [] });
  });

  it('answers CORS preflight for the Web UI origin only', async () => {
    const preflight = await fetch(`${open}/decode`, {
      method: 'OPTIONS',
      headers: { origin: 'http://localhost:8233', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type,x-namespace' },
    });
    assert.equal(preflight.status, 204);
    assert.equal(preflight.headers.get('access-control-allow-origin'), 'http://localhost:8233');
    assert.match(preflight.headers.get('access-control-allow-methods') ?? '', /POST/);
    const allowed = (preflight.headers.get('access-control-allow-headers') ?? '').split(',').map((h) => h.trim().toLowerCase());
    for (const h of ['content-type', 'x-namespace', 'authorization']) assert.ok(allowed.includes(h), h);
    assert.equal(preflight.headers.get('access-control-allow-credentials'), 'true');

    const res = await post(`${open}/encode`, { payloads: [] }, { origin: 'http://127.0.0.1:8233' });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('access-control-allow-origin'), 'http://127.0.0.1:8233');

    const evil = await fetch(`${open}/decode`, { method: 'OPTIONS', headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' } });
    assert.equal(evil.status, 403);
    assert.equal(evil.headers.get('access-control-allow-origin'), null);
    const evilPost = await post(`${open}/decode`, { payloads: [] }, { origin: 'https://evil.example' });
    assert.equal(evilPost.status, 403);

    const custom = await fetch(`${guarded}/decode`, { method: 'OPTIONS', headers: { origin: 'https://ui.example', 'access-control-request-method': 'POST' } });
    assert.equal(custom.status, 204, 'preflight needs no token');
    assert.equal(custom.headers.get('access-control-allow-origin'), 'https://ui.example');
  });

  it('requires the bearer token and an allowed namespace when configured', async () => {
    const [written] = await codec.encode([payload({ token: SECRET })]);
    const body = { payloads: [payloadToJson(written!)] };
    const ns = { 'x-namespace': 'pipeline' };
    const none = await post(`${guarded}/decode`, body, ns);
    assert.equal(none.status, 401);
    assert.equal(none.headers.get('www-authenticate'), 'Bearer');
    assert.ok(!(await none.text()).includes(SECRET));
    assert.equal((await post(`${guarded}/decode`, body, { ...ns, authorization: 'Bearer wrong' })).status, 401);
    assert.equal((await post(`${guarded}/decode`, body, { ...ns, authorization: 's3cret' })).status, 401);
    const wrongNs = await post(`${guarded}/decode`, body, { 'x-namespace': 'other', authorization: 'Bearer s3cret' });
    assert.equal(wrongNs.status, 403);
    assert.match(((await wrongNs.json()) as { error: string }).error, /namespace "other"/);
    assert.equal((await post(`${guarded}/decode`, body, { authorization: 'Bearer s3cret' })).status, 403, 'X-Namespace required');
    const ok = await post(`${guarded}/decode`, body, { ...ns, authorization: 'Bearer s3cret' });
    assert.equal(ok.status, 200);
    const [p] = ((await ok.json()) as { payloads: { data: string }[] }).payloads;
    assert.deepEqual(JSON.parse(Buffer.from(p!.data, 'base64').toString()), { token: SECRET });
    assert.equal((await post(`${guarded.replace(/\/codec$/, '')}/decode`, body, { ...ns, authorization: 'Bearer s3cret' })).status, 404, 'base path');
  });

  it('400 on garbage, 404 elsewhere, 405 on other methods, 422 when the codec fails', async () => {
    for (const bad of ['not json', '{"payloads": 1}', '[]', '{"payloads":[{"data":"@@@"}]}', '{"payloads":[{"metadata":{"encoding":5}}]}', '{"payloads":[7]}']) {
      const res = await post(`${open}/decode`, bad);
      assert.equal(res.status, 400, bad);
      assert.equal(typeof ((await res.json()) as { error: string }).error, 'string');
    }
    assert.equal((await post(`${open}/nope`, { payloads: [] })).status, 404);
    assert.equal((await post(`${open}/`, { payloads: [] })).status, 404);
    assert.equal((await fetch(`${open}/decode`)).status, 405);
    const other = new AesGcmPayloadCodec({ current: key('unknown-key'), previous: [] });
    const [foreign] = await other.encode([payload(1)]);
    const failed = await post(`${open}/decode`, { payloads: [payloadToJson(foreign!)] });
    assert.equal(failed.status, 422);
    assert.match(((await failed.json()) as { error: string }).error, /unknown encryption key id "unknown-key"/);
  });

  it('reads its settings from the environment', () => {
    assert.deepEqual(codecServerConfigFromEnv({}), { port: 8081, host: '127.0.0.1', allowedOrigins: ['http://127.0.0.1:8233', 'http://localhost:8233'] });
    assert.deepEqual(
      codecServerConfigFromEnv({ CODEC_SERVER_PORT: '9000', CODEC_SERVER_TOKEN: 't', CODEC_SERVER_ORIGINS: 'https://a, https://b', CODEC_SERVER_NAMESPACES: 'x,y' }),
      { port: 9000, host: '127.0.0.1', allowedOrigins: ['https://a', 'https://b'], token: 't', namespaces: ['x', 'y'] },
    );
    assert.throws(() => codecServerConfigFromEnv({ CODEC_SERVER_PORT: 'http' }), /CODEC_SERVER_PORT/);
  });
});
