import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { connectionOptions, temporalConnectionFromEnv } from '../../../src/temporal/connection.js';
import { workerConfigFromEnv } from '../../../src/worker.js';

describe('configuration from the environment', () => {
  it('defaults to the local dev server', () => {
    assert.deepEqual(temporalConnectionFromEnv({}), { address: '127.0.0.1:7233', namespace: 'default' });
    const worker = workerConfigFromEnv({});
    assert.equal(worker.target, 'sim');
    assert.equal(worker.taskQueue, 'triton-pipeline-sim');
    assert.equal(worker.dataConverter, undefined);
  });

  it('reads mTLS files and an API key for a Temporal cluster', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tls-'));
    await writeFile(join(dir, 'tls.crt'), 'CERT');
    await writeFile(join(dir, 'tls.key'), 'KEY');
    const config = temporalConnectionFromEnv({
      TEMPORAL_ADDRESS: 'ns.acct.tmprl.cloud:7233',
      TEMPORAL_NAMESPACE: 'ns.acct',
      TEMPORAL_TLS_CERT: join(dir, 'tls.crt'),
      TEMPORAL_TLS_KEY: join(dir, 'tls.key'),
    });
    assert.equal(config.tls?.clientCertPair?.crt.toString(), 'CERT');
    assert.equal(config.tls?.clientCertPair?.key.toString(), 'KEY');
    const withKey = connectionOptions(temporalConnectionFromEnv({ TEMPORAL_ADDRESS: 'x.tmprl.cloud:7233', TEMPORAL_API_KEY: 'secret' }));
    assert.equal(withKey.apiKey, 'secret');
    assert.deepEqual(withKey.tls, {}, 'an API key implies TLS');
  });

  it('rejects incomplete or unreadable settings with the variable named', () => {
    assert.throws(() => temporalConnectionFromEnv({ TEMPORAL_TLS_CERT: '/x' }), /TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY go together/);
    assert.throws(() => temporalConnectionFromEnv({ TEMPORAL_TLS_CERT: '/nope.crt', TEMPORAL_TLS_KEY: '/nope.key' }), /TEMPORAL_TLS_CERT=\/nope.crt cannot be read: ENOENT/);
    assert.throws(() => temporalConnectionFromEnv({ TEMPORAL_ADDRESS: 'http://x' }), /host:port/);
    assert.throws(() => workerConfigFromEnv({ PIPELINE_TARGET: 'aws' }), /PIPELINE_TARGET must be sim, gke or local/);
  });
});
