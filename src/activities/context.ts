/** What every activity input carries: the run it belongs to (for idempotency keys and the sim). */
import type { SimulationSpec } from '../spec/schema.js';
import type { ClusterRef } from './ports.js';

export interface RunContext {
  /** The workflow ID of the deployment: the key that makes re-applied steps recognisable. */
  deploymentId: string;
  /** Present on the sim target only. */
  simulation?: SimulationSpec;
}

export interface ClusterScoped {
  run: RunContext;
  cluster: ClusterRef;
}
