/**
 * The simulator's per-activity context: which deployment is acting (for the operation log), how
 * fast simulated time runs and the slowdown to record on releases it deploys. The sim target's
 * activities run inside runInSimContext; code outside sees the defaults (instant, no regression).
 */
import { AsyncLocalStorage } from 'node:async_hooks';

export interface SimContext {
  deploymentId: string;
  /** Multiplies simulated durations (SIM_DURATIONS_SECONDS); 0 = instant. */
  speed: number;
  /** Fraction by which a release deployed in this context serves slower (regression drills). */
  regression: number;
}

const DEFAULT_CONTEXT: SimContext = { deploymentId: 'unknown', speed: 0, regression: 0 };

const storage = new AsyncLocalStorage<SimContext>();

export function runInSimContext<T>(ctx: SimContext, fn: () => T): T {
  return storage.run(ctx, fn);
}

export function currentSimContext(): SimContext {
  return storage.getStore() ?? DEFAULT_CONTEXT;
}
