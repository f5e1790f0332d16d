import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import type { TLSConfig } from '@temporalio/client';
import { connectionOptions, temporalConnectionFromEnv } from '../../../src/temporal/connection.js';
import { workerConfigFromEnv } from '../../../src/worker.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'temporal-connection-'));
  await writeFile(join(dir, 'tls.crt'), 'CERT');
  await writeFile(join(dir, 'tls.key'), 'KEY');
  await writeFile(join(dir, 'ca.pem'), 'CA');
});

/** The config and the warning lines it printed. */
function parse(env: NodeJS.ProcessEnv) {
  const warnings: string[] = [];
  const config = temporalConnectionFromEnv(env, { warn: (line) => warnings.push(line) });
  return { config, warnings };
}

function tlsOf(config: { tls?: TLSConfig | false }): TLSConfig {
  assert.ok(config.tls, 'TLS is on');
  return config.tls;
}

const text = (bytes: Uint8Array | undefined) => (bytes === undefined ? undefined : Buffer.from(bytes).toString());

describe('configuration from the environment', () => {
  it('defaults to the local dev server', () => {
    assert.deepEqual(parse({}), { config: { address: '127.0.0.1:7233', namespace: 'default' }, warnings: [] });
    assert.deepEqual(parse({ TEMPORAL_ADDRESS: '', TEMPORAL_NAMESPACE: '' }).config, { address: '127.0.0.1:7233', namespace: 'default' }, 'empty counts as unset');
    const worker = workerConfigFromEnv({});
    assert.equal(worker.target, 'sim');
    assert.equal(worker.taskQueue, 'triton-pipeline-sim');
    assert.equal(worker.dataConverter, undefined);
  });

  it("reads Temporal's standard variables: mTLS files, a server CA, an API key, headers", () => {
    const { config, warnings } = parse({
      TEMPORAL_ADDRESS: 'ns.acct.tmprl.cloud:7233',
      TEMPORAL_NAMESPACE: 'ns.acct',
      TEMPORAL_TLS_CLIENT_CERT_PATH: join(dir, 'tls.crt'),
      TEMPORAL_TLS_CLIENT_KEY_PATH: join(dir, 'tls.key'),
      TEMPORAL_TLS_SERVER_CA_CERT_PATH: join(dir, 'ca.pem'),
      TEMPORAL_TLS_SERVER_NAME: 'frontend.internal',
      TEMPORAL_GRPC_META_X_TEAM: 'ml',
    });
    assert.deepEqual(warnings, []);
    assert.equal(config.address, 'ns.acct.tmprl.cloud:7233');
    assert.equal(config.addressFrom, 'TEMPORAL_ADDRESS');
    assert.equal(config.namespace, 'ns.acct');
    const tls = tlsOf(config);
    assert.equal(text(tls.clientCertPair?.crt), 'CERT');
    assert.equal(text(tls.clientCertPair?.key), 'KEY');
    assert.equal(text(tls.serverRootCACertificate), 'CA');
    assert.equal(tls.serverNameOverride, 'frontend.internal');
    assert.deepEqual(config.metadata, { 'x-team': 'ml' });
    assert.deepEqual(connectionOptions(config).metadata, { 'x-team': 'ml' });

    const inline = tlsOf(parse({ TEMPORAL_TLS_CLIENT_CERT_DATA: 'PEM-CERT', TEMPORAL_TLS_CLIENT_KEY_DATA: 'PEM-KEY' }).config);
    assert.equal(text(inline.clientCertPair?.crt), 'PEM-CERT', 'certificates may be given inline');

    const withKey = connectionOptions(parse({ TEMPORAL_ADDRESS: 'x.tmprl.cloud:7233', TEMPORAL_API_KEY: 'secret' }).config);
    assert.equal(withKey.apiKey, 'secret');
    assert.deepEqual(withKey.tls, {}, 'an API key implies TLS');
    assert.equal(parse({ TEMPORAL_API_KEY: 'secret', TEMPORAL_TLS: 'false' }).config.tls, false, 'unless TLS is turned off');
    assert.deepEqual(parse({ TEMPORAL_TLS: 'true' }).config.tls, {});
    assert.equal(text(tlsOf(parse({ TEMPORAL_TLS_SERVER_CA_CERT_PATH: join(dir, 'ca.pem') }).config).serverRootCACertificate), 'CA', 'a private CA alone: TLS without a client certificate');
  });

  it('reads a profile of the TOML config file, with the variables overriding it', async () => {
    const file = join(dir, 'temporal.toml');
    await writeFile(
      file,
      [
        '[profile.default]',
        'address = "temporal.dev.internal:7233"',
        '',
        '[profile.prod]',
        'address = "prod.acct.tmprl.cloud:7233"',
        'namespace = "prod.acct"',
        '[profile.prod.tls]',
        `client_cert_path = "${join(dir, 'tls.crt')}"`,
        `client_key_path = "${join(dir, 'tls.key')}"`,
        '[profile.prod.grpc_meta]',
        'x-team = "ml"',
        '',
        '[profile.cloud]',
        'address = "cloud.acct.tmprl.cloud:7233"',
        'api_key = "from-file"',
        '',
      ].join('\n'),
    );
    const byDefault = parse({ TEMPORAL_CONFIG_FILE: file }).config;
    assert.deepEqual(byDefault, { address: 'temporal.dev.internal:7233', namespace: 'default', addressFrom: `address in profile "default" of ${file}` });

    const prod = parse({ TEMPORAL_CONFIG_FILE: file, TEMPORAL_PROFILE: 'prod' }).config;
    assert.equal(prod.address, 'prod.acct.tmprl.cloud:7233');
    assert.equal(prod.namespace, 'prod.acct');
    assert.equal(text(tlsOf(prod).clientCertPair?.crt), 'CERT');
    assert.deepEqual(prod.metadata, { 'x-team': 'ml' });

    const overridden = parse({ TEMPORAL_CONFIG_FILE: file, TEMPORAL_PROFILE: 'prod', TEMPORAL_NAMESPACE: 'other', TEMPORAL_ADDRESS: 'proxy.internal:7233' }).config;
    assert.equal(overridden.namespace, 'other');
    assert.equal(overridden.address, 'proxy.internal:7233');
    assert.equal(overridden.addressFrom, 'TEMPORAL_ADDRESS');
    assert.equal(text(tlsOf(overridden).clientCertPair?.key), 'KEY', "the profile's TLS stays");

    const cloud = connectionOptions(parse({ TEMPORAL_CONFIG_FILE: file, TEMPORAL_PROFILE: 'cloud', TEMPORAL_API_KEY: 'from-env' }).config);
    assert.deepEqual(cloud, { address: 'cloud.acct.tmprl.cloud:7233', apiKey: 'from-env', tls: {} });

    const empty = join(dir, 'empty.toml');
    await writeFile(empty, '');
    assert.deepEqual(parse({ TEMPORAL_CONFIG_FILE: empty, TEMPORAL_NAMESPACE: 'ns' }).config, { address: '127.0.0.1:7233', namespace: 'ns' }, 'an empty file has no profiles');
    assert.throws(() => parse({ TEMPORAL_CONFIG_FILE: empty, TEMPORAL_PROFILE: 'prod' }), /TEMPORAL_PROFILE=prod names no profile of .*empty\.toml \(none found\)/);
  });

  it('accepts the old TLS variable names for one release, with a warning naming the standard one', () => {
    const { config, warnings } = parse({
      TEMPORAL_TLS_CERT: join(dir, 'tls.crt'),
      TEMPORAL_TLS_KEY: join(dir, 'tls.key'),
      TEMPORAL_TLS_CA: join(dir, 'ca.pem'),
    });
    const tls = tlsOf(config);
    assert.equal(text(tls.clientCertPair?.crt), 'CERT');
    assert.equal(text(tls.clientCertPair?.key), 'KEY');
    assert.equal(text(tls.serverRootCACertificate), 'CA');
    assert.equal(warnings.length, 3);
    for (const [old, standard] of [
      ['TEMPORAL_TLS_CERT', 'TEMPORAL_TLS_CLIENT_CERT_PATH'],
      ['TEMPORAL_TLS_KEY', 'TEMPORAL_TLS_CLIENT_KEY_PATH'],
      ['TEMPORAL_TLS_CA', 'TEMPORAL_TLS_SERVER_CA_CERT_PATH'],
    ]) {
      assert.ok(warnings.some((w) => w.includes(`${old} is deprecated`) && w.includes(`set ${standard} instead`)), `${old}: ${warnings.join('\n')}`);
    }

    const both = parse({ TEMPORAL_TLS_CA: join(dir, 'tls.crt'), TEMPORAL_TLS_SERVER_CA_CERT_PATH: join(dir, 'ca.pem') });
    assert.equal(text(tlsOf(both.config).serverRootCACertificate), 'CA', 'the standard name wins');
    assert.deepEqual(both.warnings, ['warning: TEMPORAL_TLS_CA is deprecated and ignored, since TEMPORAL_TLS_SERVER_CA_CERT_PATH is set; unset TEMPORAL_TLS_CA']);
  });

  it('rejects incomplete or unreadable settings with the setting named', async () => {
    const fails = (env: NodeJS.ProcessEnv, message: RegExp) => assert.throws(() => parse(env), message);
    fails({ TEMPORAL_TLS_CLIENT_CERT_PATH: '/x' }, /^Error: TEMPORAL_TLS_CLIENT_CERT_PATH is set without its pair: a client certificate and its key go together; set TEMPORAL_TLS_CLIENT_KEY_PATH too/);
    fails({ TEMPORAL_TLS_CLIENT_KEY_PATH: '/x' }, /TEMPORAL_TLS_CLIENT_KEY_PATH is set without its pair.*set TEMPORAL_TLS_CLIENT_CERT_PATH too/);
    fails({ TEMPORAL_TLS_CERT: '/x' }, /TEMPORAL_TLS_CERT is set without its pair.*set TEMPORAL_TLS_CLIENT_KEY_PATH too/);
    fails({ TEMPORAL_TLS_CLIENT_CERT_PATH: '/nope.crt', TEMPORAL_TLS_CLIENT_KEY_PATH: '/nope.key' }, /TEMPORAL_TLS_CLIENT_CERT_PATH=\/nope.crt cannot be read: ENOENT/);
    fails({ TEMPORAL_TLS_CERT: '/nope.crt', TEMPORAL_TLS_KEY: '/nope.key' }, /TEMPORAL_TLS_CERT=\/nope.crt cannot be read: ENOENT/);
    fails({ TEMPORAL_TLS_SERVER_CA_CERT_PATH: '/nope.pem' }, /TEMPORAL_TLS_SERVER_CA_CERT_PATH=\/nope.pem cannot be read: ENOENT/);
    fails({ TEMPORAL_ADDRESS: 'http://x' }, /TEMPORAL_ADDRESS must be host:port \(got "http:\/\/x"\)/);
    fails({ TEMPORAL_TLS: 'yes' }, /TEMPORAL_TLS must be true or false/);
    fails({ TEMPORAL_CONFIG_FILE: join(dir, 'missing.toml') }, /TEMPORAL_CONFIG_FILE=.*missing\.toml cannot be read: ENOENT/);
    assert.throws(() => workerConfigFromEnv({ PIPELINE_TARGET: 'aws' }), /PIPELINE_TARGET must be sim, gke or local/);

    const file = join(dir, 'broken.toml');
    await writeFile(file, ['[profile.default]', 'address = "no-port"', '[profile.mtls.tls]', 'client_cert_path = "/nope.crt"', 'client_key_path = "/nope.key"', '[profile.half.tls]', 'client_cert_path = "/x"', ''].join('\n'));
    fails({ TEMPORAL_CONFIG_FILE: file }, /address in profile "default" of .*broken\.toml must be host:port \(got "no-port"\)/);
    fails({ TEMPORAL_CONFIG_FILE: file, TEMPORAL_PROFILE: 'mtls' }, /tls\.client_cert_path "\/nope\.crt" in profile "mtls" of .*broken\.toml cannot be read: ENOENT/);
    fails({ TEMPORAL_CONFIG_FILE: file, TEMPORAL_PROFILE: 'half' }, /tls\.client_cert_path \/ _data in profile "half" of .*broken\.toml is set without its pair/);
    fails({ TEMPORAL_CONFIG_FILE: file, TEMPORAL_PROFILE: 'staging' }, /TEMPORAL_PROFILE=staging names no profile of .*broken\.toml \(it has default, mtls, half\)/);
    fails({ TEMPORAL_PROFILE: 'staging' }, /TEMPORAL_PROFILE=staging names no profile of the default Temporal config file .*\(none found\)/);
    const invalid = join(dir, 'invalid.toml');
    await writeFile(invalid, '[profile.default\naddress = 1\n');
    fails({ TEMPORAL_CONFIG_FILE: invalid }, /invalid\.toml: /);
  });
});
