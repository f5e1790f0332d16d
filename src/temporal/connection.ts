/**
 * How workers and clients reach Temporal, parsed once from the environment by
 * @temporalio/envconfig, so the settings are Temporal's standard ones (those of the Temporal CLI
 * and the other SDKs): a local dev server by default, or a Temporal cluster / Temporal Cloud with
 * mTLS or an API key (the pipeline-worker chart mounts these from a Secret).
 *
 * A TOML profile (TEMPORAL_PROFILE, default "default") of the config file (TEMPORAL_CONFIG_FILE,
 * default temporalio/temporal.toml in the user's config directory) gives the base settings; these
 * variables override it: TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TEMPORAL_TLS
 * (true/false), TEMPORAL_TLS_CLIENT_CERT_PATH / _DATA, TEMPORAL_TLS_CLIENT_KEY_PATH / _DATA,
 * TEMPORAL_TLS_SERVER_CA_CERT_PATH / _DATA, TEMPORAL_TLS_SERVER_NAME, TEMPORAL_GRPC_META_<HEADER>.
 * The old TEMPORAL_TLS_CERT / _KEY / _CA are accepted for one release. Files are read here, so a
 * bad path, a missing profile or a certificate without its key fails at start-up with the setting
 * named. An empty variable counts as unset.
 */
import { readFileSync } from 'node:fs';
import type { TLSConfig } from '@temporalio/client';
import { type ClientConfigProfile, type ConfigDataSource, loadClientConfig, loadClientConfigProfile, toClientOptions } from '@temporalio/envconfig';

export const DEFAULT_ADDRESS = '127.0.0.1:7233';
export const DEFAULT_NAMESPACE = 'default';

/** The pipeline's old names of standard variables, accepted (with a warning) until the next release. */
export const DEPRECATED_ALIASES = {
  TEMPORAL_TLS_CERT: 'TEMPORAL_TLS_CLIENT_CERT_PATH',
  TEMPORAL_TLS_KEY: 'TEMPORAL_TLS_CLIENT_KEY_PATH',
  TEMPORAL_TLS_CA: 'TEMPORAL_TLS_SERVER_CA_CERT_PATH',
} as const;

export interface TemporalConnectionConfig {
  address: string;
  namespace: string;
  /** TLS settings; false: TLS turned off explicitly (TEMPORAL_TLS=false or tls.disabled), even with an API key. */
  tls?: TLSConfig | false;
  apiKey?: string;
  /** gRPC headers sent with every call (TEMPORAL_GRPC_META_*, a profile's grpc_meta). */
  metadata?: Record<string, string>;
  /** What set the address (TEMPORAL_ADDRESS, or a profile); absent: the default, a local dev server. */
  addressFrom?: string;
}

export interface ConnectionEnvOptions {
  /** Where deprecation warnings go, one line each (default: stderr). */
  warn?: (line: string) => void;
}

const TLS_FILES = [
  { field: 'clientCert', variable: 'TEMPORAL_TLS_CLIENT_CERT', key: 'client_cert' },
  { field: 'clientKey', variable: 'TEMPORAL_TLS_CLIENT_KEY', key: 'client_key' },
  { field: 'serverCACert', variable: 'TEMPORAL_TLS_SERVER_CA_CERT', key: 'server_ca_cert' },
] as const;

const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error));
const codeOf = (error: unknown) => (error as NodeJS.ErrnoException).code ?? messageOf(error);

/**
 * The variables envconfig reads: empty ones dropped (an empty TEMPORAL_GRPC_META_* keeps its
 * meaning, removing the header), the deprecated aliases mapped onto the standard names where
 * those are unset. `origins` names what the user set for each standard name an alias filled.
 */
function standardVariables(env: NodeJS.ProcessEnv, warn: (line: string) => void): { vars: Record<string, string>; origins: Map<string, string> } {
  const vars: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (value !== undefined && (value !== '' || name.startsWith('TEMPORAL_GRPC_META_'))) vars[name] = value;
  }
  const origins = new Map<string, string>();
  for (const [alias, standard] of Object.entries(DEPRECATED_ALIASES)) {
    const value = vars[alias];
    if (value === undefined) continue;
    delete vars[alias];
    if (vars[standard] !== undefined) {
      warn(`warning: ${alias} is deprecated and ignored, since ${standard} is set; unset ${alias}`);
      continue;
    }
    warn(`warning: ${alias} is deprecated; set ${standard} instead (${alias} is accepted until the next release)`);
    vars[standard] = value;
    origins.set(standard, alias);
  }
  return { vars, origins };
}

/** The config file: TEMPORAL_CONFIG_FILE, read here so a wrong path is an error, or envconfig's default location. */
function configFile(vars: Record<string, string>): { label: string; source?: ConfigDataSource } {
  const path = vars['TEMPORAL_CONFIG_FILE'];
  if (path === undefined) return { label: 'the default Temporal config file (temporalio/temporal.toml in the user config directory)' };
  try {
    return { label: path, source: { data: readFileSync(path, 'utf8') } };
  } catch (error) {
    throw new Error(`TEMPORAL_CONFIG_FILE=${path} cannot be read: ${codeOf(error)}`);
  }
}

/**
 * The profile, the variables applied over it; errors name the file, and TEMPORAL_PROFILE when it
 * names no profile. A file without a profile table (an empty one, say) has no profiles, as the
 * Temporal CLI reads it: envconfig 1.24 fails on one with a TypeError, so that is read as such.
 */
function loadProfile(vars: Record<string, string>, file: { label: string; source?: ConfigDataSource }): ClientConfigProfile {
  const source = file.source ? { configSource: file.source } : {};
  const reading = <T>(load: () => T, withoutProfiles: () => T): T => {
    try {
      return load();
    } catch (error) {
      if (error instanceof TypeError) return withoutProfiles();
      throw new Error(`${file.label}: ${messageOf(error)}`);
    }
  };
  const profile = vars['TEMPORAL_PROFILE'];
  if (profile !== undefined) {
    const names = Object.keys(reading(() => loadClientConfig({ ...source, overrideEnvVars: vars }).profiles, () => ({})));
    if (!names.includes(profile)) throw new Error(`TEMPORAL_PROFILE=${profile} names no profile of ${file.label} (${names.length > 0 ? `it has ${names.join(', ')}` : 'none found'})`);
  }
  return reading(
    () => loadClientConfigProfile({ ...source, overrideEnvVars: vars }),
    () => loadClientConfigProfile({ disableFile: true, overrideEnvVars: vars }),
  );
}

export function temporalConnectionFromEnv(env: NodeJS.ProcessEnv, { warn = (line) => console.warn(line) }: ConnectionEnvOptions = {}): TemporalConnectionConfig {
  const { vars, origins } = standardVariables(env, warn);
  const tlsSwitch = vars['TEMPORAL_TLS'];
  if (tlsSwitch !== undefined && !['true', 'false', '1', '0'].includes(tlsSwitch)) throw new Error(`TEMPORAL_TLS must be true or false (got "${tlsSwitch}")`);
  const file = configFile(vars);
  const profileLabel = `profile "${vars['TEMPORAL_PROFILE'] ?? 'default'}" of ${file.label}`;
  const profile = loadProfile(vars, file);
  /** The variable the user set for a standard name: that name, or the deprecated alias standing in for it. */
  const variableFor = (name: string) => origins.get(name) ?? name;

  const addressFrom = vars['TEMPORAL_ADDRESS'] !== undefined ? 'TEMPORAL_ADDRESS' : profile.address !== undefined ? `address in ${profileLabel}` : undefined;
  const address = profile.address ?? DEFAULT_ADDRESS;
  if (!/^([^:\s[\]]+|\[[0-9a-fA-F:.]+\]):\d+$/.test(address)) throw new Error(`${addressFrom ?? 'the address'} must be host:port (got "${address}")`);

  /** What set one of the TLS files: a variable (its path or its data) or the profile. */
  const setting = ({ variable, key }: (typeof TLS_FILES)[number]) => {
    const name = [`${variable}_PATH`, `${variable}_DATA`].find((n) => vars[n] !== undefined);
    return name === undefined ? `tls.${key}_path / _data in ${profileLabel}` : variableFor(name);
  };
  // Files are read only for TLS that is on (envconfig ignores them when tls.disabled is set).
  const tls = profile.tls === undefined || profile.tls.disabled === true ? undefined : { ...profile.tls };
  if (tls !== undefined && (tls.clientCert === undefined) !== (tls.clientKey === undefined)) {
    const [given, missing] = tls.clientCert === undefined ? [TLS_FILES[1], TLS_FILES[0]] : [TLS_FILES[0], TLS_FILES[1]];
    throw new Error(`${setting(given)} is set without its pair: a client certificate and its key go together; set ${missing.variable}_PATH too (or tls.${missing.key}_path in the profile)`);
  }
  for (const tlsFile of TLS_FILES) {
    const source = tls?.[tlsFile.field];
    if (tls === undefined || source === undefined || !('path' in source)) continue;
    try {
      tls[tlsFile.field] = { data: readFileSync(source.path) };
    } catch (error) {
      const variable = `${tlsFile.variable}_PATH`;
      const by = vars[variable] !== undefined ? `${variableFor(variable)}=${source.path}` : `tls.${tlsFile.key}_path "${source.path}" in ${profileLabel}`;
      throw new Error(`${by} cannot be read: ${codeOf(error)}`);
    }
  }

  const { namespace, connectionOptions: options } = toClientOptions({ ...profile, ...(tls ? { tls } : {}) });
  const resolvedTls = options.tls === true ? {} : options.tls === false ? false : options.tls ? withoutUndefined(options.tls) : undefined;
  const metadata = profile.grpcMeta;
  return {
    address,
    namespace: namespace ?? DEFAULT_NAMESPACE,
    ...(resolvedTls !== undefined ? { tls: resolvedTls } : {}),
    ...(options.apiKey ? { apiKey: options.apiKey } : {}),
    ...(metadata && Object.keys(metadata).length > 0 ? { metadata } : {}),
    ...(addressFrom ? { addressFrom } : {}),
  };
}

function withoutUndefined(tls: TLSConfig): TLSConfig {
  return Object.fromEntries(Object.entries(tls).filter(([, value]) => value !== undefined)) as TLSConfig;
}

/** The options NativeConnection.connect / Connection.connect take. */
export function connectionOptions(config: TemporalConnectionConfig): { address: string; tls?: TLSConfig | false; apiKey?: string; metadata?: Record<string, string> } {
  return {
    address: config.address,
    ...(config.tls !== undefined ? { tls: config.tls } : {}),
    ...(config.apiKey ? { apiKey: config.apiKey } : {}),
    ...(config.metadata ? { metadata: config.metadata } : {}),
  };
}
