/**
 * The simulator's operation log: one JSON line per API call, so tests can see what was applied.
 * Each line is one synchronous append (O_APPEND): whole, in order, with no lock between concurrent
 * deployments or processes, and cheaper per call than the asynchronous API.
 */
import { appendFileSync, readFileSync } from 'node:fs';
import { currentSimContext } from './context.js';

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
    appendFileSync(this.file, `${JSON.stringify(entry)}\n`);
  }

  async list(): Promise<SimOperation[]> {
    let text: string;
    try {
      text = readFileSync(this.file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      text = '';
    }
    return text
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line) as SimOperation);
  }
}
