/**
 * Payload encryption against a real Temporal dev server: a worker and client configured with the AES-GCM codec run a
 * workflow whose input, memo, signal and result carry a secret; the history the server stores, read by a client
 * without the codec, holds ciphertext only. The codec server (and the real `temporal` CLI through it) decodes it.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Client } from '@temporalio/client';
import type { Payload } from '@temporalio/common';
import proto from '@temporalio/proto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, Worker, type WorkflowBundle } from '@temporalio/worker';
import { execa } from 'execa';
import { AesGcmPayloadCodec, dataConverterFromEnv, ENCODING_ENCRYPTED } from '../../src/codec/aes-gcm.js';
import { createCodecServer, listenCodecServer, payloadToJson } from '../../src/codec/server.js';
import { PROJECT_ROOT, startTemporal, startTogether, unique } from '../helpers/temporal.js';
import type { codecEcho, EchoInput } from '../fixtures/codec-workflows.js';

const SECRET = `hf_${randomBytes(12).toString('hex')}`;
const SIGNAL_SECRET = `sig_${randomBytes(12).toString('hex')}`;
const MEMO_SECRET = `memo_${randomBytes(12).toString('hex')}`;
const CODEC_TOKEN = randomBytes(16).toString('hex');
const TEMPORAL_CLI = process.env['TEMPORAL_CLI'] ?? join(PROJECT_ROOT, '.tools/bin/temporal');

/** Every Payload message anywhere in the history, with the field path it was found at. */
function payloadsIn(value: unknown, path = 'history', out: { path: string; payload: proto.temporal.api.common.v1.Payload }[] = []) {
  // Messages decoded by protobufjs carry their reflected type.
  if ((value as { $type?: { fullName?: string } } | null)?.$type?.fullName === '.temporal.api.common.v1.Payload') {
    out.push({ path, payload: value as proto.temporal.api.common.v1.Payload });
  } else if (Array.isArray(value)) {
    value.forEach((item, i) => payloadsIn(item, `${path}[${i}]`, out));
  } else if (value !== null && typeof value === 'object' && !(value instanceof Uint8Array)) {
    for (const [key, child] of Object.entries(value)) payloadsIn(child, `${path}.${key}`, out);
  }
  return out;
}

function text(bytes: Uint8Array | null | undefined): string {
  return Buffer.from(bytes ?? new Uint8Array()).toString('utf8');
}

describe('payload encryption in workflow history', () => {
  let env: TestWorkflowEnvironment;
  let bundle: WorkflowBundle;
  let codec: AesGcmPayloadCodec;
  let codecServer: Server;
  let codecUrl: string;
  let workflowId: string;
  let history: proto.temporal.api.history.v1.IHistory;

  before(async () => {
    const dataConverter = dataConverterFromEnv({
      PIPELINE_PAYLOAD_KEY: randomBytes(32).toString('base64'),
      PIPELINE_PAYLOAD_KEY_ID: 'it-key',
    });
    assert.ok(dataConverter);
    codec = dataConverter.payloadCodecs![0] as AesGcmPayloadCodec;
    await startTogether(
      [
        startTemporal(),
        bundleWorkflowCode({
          workflowsPath: join(PROJECT_ROOT, 'test/fixtures/codec-workflows.ts'),
          logger: { info: () => undefined, warn: () => undefined, error: console.error, debug: () => undefined, trace: () => undefined, log: () => undefined },
        }),
      ],
      (s) => ([env, bundle] = s as [typeof env, typeof bundle]),
    );
    // Guarded like a shared deployment would be: only namespace "default", bearer token required.
    codecServer = createCodecServer({ codec, token: CODEC_TOKEN, namespaces: ['default'] });
    codecUrl = await listenCodecServer(codecServer, 0);

    const taskQueue = unique('codec');
    workflowId = unique('codec-echo');
    const worker = await Worker.create({ connection: env.nativeConnection, namespace: 'default', taskQueue, workflowBundle: bundle, dataConverter });
    const client = new Client({ connection: env.connection, namespace: 'default', dataConverter });
    const input: EchoInput = { message: 'deploy triton', token: SECRET };
    const result = await worker.runUntil(async () => {
      const handle = await client.workflow.start<typeof codecEcho>('codecEcho', { taskQueue, workflowId, args: [input], memo: { note: MEMO_SECRET } });
      await handle.signal<[string]>('addNote', SIGNAL_SECRET);
      const value = await handle.result();
      // The client with the codec sees plaintext, memo included.
      assert.deepEqual((await handle.describe()).memo, { note: MEMO_SECRET });
      return value;
    });
    assert.deepEqual(result, { ...input, notes: [SIGNAL_SECRET] });
    history = await env.client.workflow.getHandle(workflowId).fetchHistory();
  });

  after(async () => {
    if (codecServer) {
      codecServer.closeAllConnections();
      await new Promise((resolve) => codecServer.close(resolve));
    }
    await env?.teardown();
  });

  it('stores ciphertext only: every payload is binary/encrypted and no secret appears in the raw history', () => {
    const found = payloadsIn(history);
    const paths = found.map((f) => f.path);
    for (const expected of [
      'workflowExecutionStartedEventAttributes.input.payloads',
      'workflowExecutionStartedEventAttributes.memo.fields.note',
      'workflowExecutionSignaledEventAttributes.input.payloads',
      'workflowExecutionCompletedEventAttributes.result.payloads',
    ]) {
      assert.ok(paths.some((p) => p.includes(expected)), `no payload at ${expected} in ${paths.join(', ')}`);
    }
    for (const { path, payload } of found) {
      assert.equal(text(payload.metadata['encoding']), ENCODING_ENCRYPTED, `${path} is not encrypted`);
      assert.equal(text(payload.metadata['encryption-key-id']), 'it-key', path);
      assert.deepEqual(Object.keys(payload.metadata).sort(), ['encoding', 'encryption-key-id'], path);
    }
    const raw = Buffer.from(proto.temporal.api.history.v1.History.encode(history).finish());
    assert.ok(raw.length > 0);
    for (const secret of [SECRET, SIGNAL_SECRET, MEMO_SECRET]) {
      assert.equal(raw.includes(secret), false, `${secret} found in raw history bytes`);
      assert.equal(raw.includes(Buffer.from(secret).toString('base64').slice(0, 16)), false);
      assert.equal(JSON.stringify(proto.temporal.api.history.v1.History.create(history).toJSON()).includes(secret), false);
    }
    assert.equal(raw.includes('json/plain'), false, 'original payload encodings are encrypted too');
  });

  it('decodes history payloads through the codec server', async () => {
    const completed = (history.events ?? []).find((e) => e.workflowExecutionCompletedEventAttributes)!;
    const [resultPayload] = completed.workflowExecutionCompletedEventAttributes!.result!.payloads!;
    assert.ok(resultPayload);
    const response = await fetch(`${codecUrl}/decode`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-namespace': 'default', origin: 'http://localhost:8233', authorization: `Bearer ${CODEC_TOKEN}` },
      body: JSON.stringify({ payloads: [payloadToJson(resultPayload as Payload)] }),
    });
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('access-control-allow-origin'), 'http://localhost:8233');
    const { payloads } = (await response.json()) as { payloads: { metadata: Record<string, string>; data: string }[] };
    assert.equal(Buffer.from(payloads[0]!.metadata['encoding']!, 'base64').toString(), 'json/plain');
    const decoded = JSON.parse(Buffer.from(payloads[0]!.data, 'base64').toString()) as EchoInput & { notes: string[] };
    assert.equal(decoded.token, SECRET);
    assert.deepEqual(decoded.notes, [SIGNAL_SECRET]);
  });

  it('serves the `temporal` CLI as --codec-endpoint (the protocol the Web UI uses)', async () => {
    const base = ['workflow', 'show', '--workflow-id', workflowId, '--address', env.address, '--namespace', 'default', '--output', 'json'];
    /** The CLI prints proto JSON: payload metadata and data as base64. */
    const payloadTexts = (stdout: string): { encodings: string[]; data: string } => {
      const encodings: string[] = [];
      const data: string[] = [];
      const walk = (value: unknown): void => {
        if (Array.isArray(value)) value.forEach(walk);
        else if (value !== null && typeof value === 'object') {
          const record = value as Record<string, unknown>;
          const metadata = record['metadata'] as Record<string, string> | undefined;
          if (metadata && typeof metadata['encoding'] === 'string') {
            encodings.push(Buffer.from(metadata['encoding'], 'base64').toString());
            if (typeof record['data'] === 'string') data.push(Buffer.from(record['data'], 'base64').toString());
          }
          Object.values(record).forEach(walk);
        }
      };
      walk(JSON.parse(stdout));
      return { encodings, data: data.join('\n') };
    };
    const plain = payloadTexts((await execa(TEMPORAL_CLI, base)).stdout);
    assert.ok(plain.encodings.length >= 4);
    assert.ok(plain.encodings.every((e) => e === ENCODING_ENCRYPTED), plain.encodings.join(', '));
    assert.equal(plain.data.includes(SECRET), false);

    // The CLI sends X-Namespace (the server only serves "default") and --codec-auth as the Authorization header.
    const decoded = payloadTexts((await execa(TEMPORAL_CLI, [...base, '--codec-endpoint', codecUrl, '--codec-auth', `Bearer ${CODEC_TOKEN}`])).stdout);
    assert.ok(decoded.encodings.every((e) => e === 'json/plain'), decoded.encodings.join(', '));
    for (const secret of [SECRET, SIGNAL_SECRET, MEMO_SECRET]) assert.ok(decoded.data.includes(secret), `${secret} decoded via the codec server`);
  });
});
