/** What every activity input carries: the run it belongs to (for idempotency keys and the sim). */
import type { SimulationSpec, StageName } from '../spec/schema.js';
import type { ClusterRef } from './ports.js';

export interface RunContext {
  /** The workflow ID of the deployment: the key that makes re-applied steps recognisable. */
  deploymentId: string;
  /** Present on the sim target only. */
  simulation?: SimulationSpec;
  /** The stage a call belongs to where the activity serves several (a bake sweep): for faults and logs. */
  stage?: StageName;
}

export interface ClusterScoped {
  run: RunContext;
  cluster: ClusterRef;
}
