/**
 * A real Triton Inference Server on this machine's CPU (tritonserver 2.51 from nvidia-pytriton,
 * set up by scripts/setup-triton.sh): started on a model repository directory with explicit model
 * control, asked over its HTTP API (health, model config, load/unload, statistics) and scraped on
 * its Prometheus metrics port.
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../../assets.js';

export const TRITONSERVER = join(PROJECT_ROOT, '.tools/bin/tritonserver');

export interface TritonPorts {
  http: number;
  grpc: number;
  metrics: number;
}

export interface TritonServer {
  ports: TritonPorts;
  /** host:port of the gRPC endpoint (what perf_analyzer -u takes). */
  grpcUrl: string;
  ready(): Promise<boolean>;
  load(model: string): Promise<void>;
  unload(model: string): Promise<void>;
  modelConfig(model: string): Promise<Record<string, unknown>>;
  /** Cumulative inference and execution counts (execution < inference means requests were batched). */
  statistics(model: string): Promise<{ inferenceCount: number; executionCount: number }>;
  metrics(): Promise<string>;
  /** The server's log so far (stdout and stderr). */
  log(): Promise<string>;
  stop(): Promise<void>;
}

export class TritonError extends Error {}

/**
 * Starts the server, its output going to logFile. The process does not keep the caller's event
 * loop alive (no pipes to it) and is killed when the caller exits; stop() ends it earlier.
 */
export async function startTritonServer(options: { repository: string; models: string[]; ports: TritonPorts; logFile: string; readyTimeoutMs?: number }): Promise<TritonServer> {
  const { ports } = options;
  const base = `http://127.0.0.1:${ports.http}`;
  const output = () => readFile(options.logFile, 'utf8').then((text) => text.slice(-4000), () => '');
  const log = openSync(options.logFile, 'w');
  const child = spawn(
    TRITONSERVER,
    [
      `--model-repository=${options.repository}`,
      '--model-control-mode=explicit',
      ...options.models.map((m) => `--load-model=${m}`),
      `--http-port=${ports.http}`,
      `--grpc-port=${ports.grpc}`,
      `--metrics-port=${ports.metrics}`,
      '--http-address=127.0.0.1',
      '--grpc-address=127.0.0.1',
      '--allow-metrics=true',
      '--allow-gpu-metrics=false',
      '--strict-readiness=true',
      '--exit-timeout-secs=5',
    ],
    { stdio: ['ignore', log, log] },
  );
  closeSync(log);
  child.unref();
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);

  const call = async (method: string, path: string, body?: unknown) => {
    const response = await fetch(`${base}${path}`, { method, ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }) });
    const text = await response.text();
    if (!response.ok) throw new TritonError(`${method} ${path}: ${response.status} ${text}`);
    return text === '' ? {} : (JSON.parse(text) as Record<string, unknown>);
  };
  const ready = () => fetch(`${base}/v2/health/ready`).then((r) => r.ok, () => false);

  const deadline = Date.now() + (options.readyTimeoutMs ?? 60_000);
  while (!(await ready())) {
    if (child.exitCode !== null) throw new TritonError(`tritonserver exited with code ${child.exitCode}:\n${await output()}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new TritonError(`tritonserver was not ready within ${options.readyTimeoutMs ?? 60_000} ms:\n${await output()}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }

  return {
    ports,
    grpcUrl: `127.0.0.1:${ports.grpc}`,
    ready,
    async load(model) {
      await call('POST', `/v2/repository/models/${encodeURIComponent(model)}/load`, {});
    },
    async unload(model) {
      await call('POST', `/v2/repository/models/${encodeURIComponent(model)}/unload`, {});
    },
    modelConfig: (model) => call('GET', `/v2/models/${encodeURIComponent(model)}/config`),
    async statistics(model) {
      const stats = (await call('GET', `/v2/models/${encodeURIComponent(model)}/stats`)) as {
        model_stats?: Array<{ inference_count?: number; execution_count?: number }>;
      };
      const latest = stats.model_stats?.at(-1);
      return { inferenceCount: Number(latest?.inference_count ?? 0), executionCount: Number(latest?.execution_count ?? 0) };
    },
    metrics: () => fetch(`http://127.0.0.1:${ports.metrics}/metrics`).then((r) => r.text()),
    log: () => readFile(options.logFile, 'utf8'),
    async stop() {
      process.off('exit', killOnExit);
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
