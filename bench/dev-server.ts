/**
 * What the benches need of a local Temporal dev server: one of its own (the project's `temporal`
 * binary), its process's CPU, and its request counters.
 */
import { readFileSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { PROJECT_ROOT } from '../src/assets.js';
import { SEARCH_ATTRIBUTES } from '../src/temporal/search-attributes.js';

/**
 * CPU seconds (user + system) of a /proc stat file: a process's, or one thread's; 0 once it is gone.
 * Read synchronously: /proc/thread-self is the thread that reads it.
 */
export function cpuS(statFile: string): number {
  let stat: string;
  try {
    stat = readFileSync(statFile, 'utf8');
  } catch {
    return 0;
  }
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

export const processCpuS = (pid: number) => cpuS(`/proc/${pid}/stat`);

export interface Server {
  pid: number;
  metricsUrl: string;
}

/** A port nothing listens on now. */
async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

/** The dev server this process started last (a child running `temporal server start-dev`; one before it may still be exiting). */
async function serverPid(): Promise<number> {
  let newest: { pid: number; startTicks: number } | undefined;
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const cmdline = await readFile(`/proc/${name}/cmdline`, 'utf8').catch(() => '');
    const fields = (await readFile(`/proc/${name}/stat`, 'utf8').catch(() => ')')).split(')').at(-1)!.trim().split(' ');
    const [ppid, startTicks] = [Number(fields[1]), Number(fields[19])];
    if (ppid === process.pid && cmdline.includes('start-dev') && (newest === undefined || startTicks > newest.startTicks)) newest = { pid: Number(name), startTicks };
  }
  if (newest === undefined) throw new Error("no Temporal dev server among this process's children");
  return newest.pid;
}

/** The dev server's request counters (service_requests), per service and operation. */
async function serverRequests(metricsUrl: string): Promise<Map<string, number>> {
  const text = await (await fetch(metricsUrl)).text();
  const counts = new Map<string, number>();
  for (const match of text.matchAll(/^service_requests\{[^}]*operation="([^"]+)"[^}]*service_name="([^"]+)"[^}]*\} (\d+)$/gm)) {
    const key = `${match[2]} ${match[1]}`;
    counts.set(key, (counts.get(key) ?? 0) + Number(match[3]));
  }
  return counts;
}

/** The request counters once they stop moving: the server counts a batch's last requests after its results reach the client. */
export async function settledRequests(metricsUrl: string): Promise<Map<string, number>> {
  let last = await serverRequests(metricsUrl);
  for (let wait = 0; wait < 20; wait++) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    const now = await serverRequests(metricsUrl);
    if ([...now].every(([key, count]) => last.get(key) === count)) return now;
    last = now;
  }
  return last;
}

/** A dev server of its own: the SDK gives it 5 s to answer, which a busy 2-core machine sometimes misses once. */
export async function startServer(): Promise<{ env: TestWorkflowEnvironment; server: Server }> {
  for (let attempt = 1; ; attempt++) {
    const metricsPort = await freePort();
    try {
      const env = await TestWorkflowEnvironment.createLocal({
        server: {
          executable: { type: 'existing-path', path: join(PROJECT_ROOT, '.tools/bin/temporal') },
          ip: '127.0.0.1',
          searchAttributes: SEARCH_ATTRIBUTES,
          extraArgs: ['--metrics-port', String(metricsPort)],
        },
      });
      return { env, server: { pid: await serverPid(), metricsUrl: `http://127.0.0.1:${metricsPort}/metrics` } };
    } catch (error) {
      if (attempt === 3 || !/did not start within/.test(String(error))) throw error;
    }
  }
}
