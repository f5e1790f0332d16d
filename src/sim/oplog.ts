/**
 * The simulator's operation log: one JSON line per API call, so tests can see what was applied.
 * Appends are group-committed: the lines recorded while one append runs go to disk together in the
 * next, so concurrent deployments do not queue one file append each behind a single log.
 */
import { appendFile, readFile } from 'node:fs/promises';
import { currentSimContext } from './context.js';
import { withLock } from './mutex.js';

export type SimSystem = 'gke' | 'kube' | 'helm' | 'gcs' | 'triton';

export interface SimOperation {
  at: string;
  deploymentId: string;
  system: SimSystem;
  /** e.g. cluster.create, nodepool.create, kube.apply, job.create, job.complete, helm.upgrade, gcs.write, cluster.get */
  op: string;
  resource: string;
  /** true exactly when the call changed the world. */
  mutating: boolean;
}

export class OperationLog {
  constructor(
    private readonly file: string,
    private readonly clock: () => number,
  ) {}

  /** Logged under the acting context's deployment. */
  async record(system: SimSystem, op: string, resource: string, mutating: boolean): Promise<void> {
    const entry: SimOperation = {
      at: new Date(this.clock()).toISOString(),
      deploymentId: currentSimContext().deploymentId,
      system,
      op,
      resource,
      mutating,
    };
    await appendLine(this.file, `${JSON.stringify(entry)}\n`);
  }

  async list(): Promise<SimOperation[]> {
    const text = await withLock(this.file, () => readFile(this.file, 'utf8').catch(missingAsEmpty));
    return text
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line) as SimOperation);
  }
}

/** Lines waiting for the next append, per log file, shared by every world in the process. */
const pending = new Map<string, { lines: string[]; written: Promise<void> }>();

/** Resolves once the line is on disk (in the batch after the append running now, if one is). */
function appendLine(file: string, line: string): Promise<void> {
  const batch = pending.get(file);
  if (batch !== undefined) {
    batch.lines.push(line);
    return batch.written;
  }
  const next = { lines: [line], written: Promise.resolve() };
  next.written = withLock(file, async () => {
    pending.delete(file);
    await appendFile(file, next.lines.join(''));
  });
  pending.set(file, next);
  return next.written;
}

function missingAsEmpty(error: unknown): string {
  if ((error as NodeJS.ErrnoException).code === 'ENOENT') return '';
  throw error;
}
