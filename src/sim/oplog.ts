/** The simulator's operation log: one JSON line per API call, so tests can see what was applied. */
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
    await withLock(this.file, () => appendFile(this.file, `${JSON.stringify(entry)}\n`));
  }

  async list(): Promise<SimOperation[]> {
    const text = await withLock(this.file, () => readFile(this.file, 'utf8').catch(missingAsEmpty));
    return text
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line) as SimOperation);
  }
}

function missingAsEmpty(error: unknown): string {
  if ((error as NodeJS.ErrnoException).code === 'ENOENT') return '';
  throw error;
}
