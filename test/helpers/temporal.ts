/**
 * One real Temporal server per test process: the project's own `temporal` binary through
 * @temporalio/testing (no download), or the server at TEMPORAL_ADDRESS when set.
 */
import { join } from 'node:path';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, DefaultLogger, Runtime, type WorkflowBundle } from '@temporalio/worker';
import { SEARCH_ATTRIBUTES } from '../../src/temporal/search-attributes.js';
import { WORKFLOW_BUNDLER_OPTIONS } from '../../src/temporal/workflow-bundle.js';
import { ensureSearchAttributes } from '../../src/cli/temporal.js';
import { PROJECT_ROOT } from './specs.js';

export { PROJECT_ROOT };

export const HISTORY_FIXTURES = join(PROJECT_ROOT, 'test/fixtures/histories');

// Expected failures (injected faults) would otherwise fill the test output with warnings.
Runtime.install({ logger: new DefaultLogger('ERROR') });

export async function startTemporal(): Promise<TestWorkflowEnvironment> {
  const address = process.env['TEMPORAL_ADDRESS'];
  if (address !== undefined) {
    const env = await TestWorkflowEnvironment.createFromExistingServer({ address });
    await ensureSearchAttributes(env.client);
    return env;
  }
  const path = process.env['TEMPORAL_CLI'] ?? join(PROJECT_ROOT, '.tools/bin/temporal');
  // The SDK gives the dev server 5 s to answer; a busy 2-core machine sometimes needs a second try.
  for (let attempt = 1; ; attempt++) {
    try {
      return await TestWorkflowEnvironment.createLocal({
        server: { executable: { type: 'existing-path', path }, ip: '127.0.0.1', searchAttributes: SEARCH_ATTRIBUTES },
      });
    } catch (error) {
      if (attempt === 3 || !/did not start within/.test(String(error))) throw error;
    }
  }
}

/** The pipeline's workflows, or another workflows module (the replay test's deliberately changed copies). */
export async function bundleWorkflows(workflowsPath = join(PROJECT_ROOT, 'src/workflows/index.ts')): Promise<WorkflowBundle> {
  return bundleWorkflowCode({
    workflowsPath,
    ...WORKFLOW_BUNDLER_OPTIONS,
    logger: { info: () => undefined, warn: () => undefined, error: console.error, debug: () => undefined, trace: () => undefined, log: () => undefined },
  });
}

let counter = 0;
/** A unique suffix for task queues and projects, so tests never share IDs. */
export function unique(name: string): string {
  counter += 1;
  return `${name}-${process.pid}-${counter}`;
}

/**
 * Starts things side by side like Promise.all, but waits for every one: those that started are
 * handed to `keep` before a failure is thrown, so the file's after hook can stop them (a server
 * left running keeps the test process, and the run, from ending).
 */
export async function startTogether<T extends readonly unknown[]>(starts: { [K in keyof T]: Promise<T[K]> }, keep: (started: { [K in keyof T]: T[K] | undefined }) => void): Promise<void> {
  const settled = await Promise.allSettled(starts as readonly Promise<unknown>[]);
  keep(settled.map((s) => (s.status === 'fulfilled' ? s.value : undefined)) as unknown as { [K in keyof T]: T[K] | undefined });
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed !== undefined) throw failed.reason;
}
