/**
 * What activities and workflows exchange: the run every activity input carries (for idempotency
 * keys and the sim), and the release, engine and baseline shapes the workflows read back.
 */
import type { ModelSpec, SimulationSpec, StageName } from '../spec/schema.js';
import type { ClusterRef, HelmRevision } from './systems.js';

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

export interface ReleaseRef extends ClusterScoped {
  release: string;
  namespace: string;
  /** How long `helm --wait` may wait for it (plan/helm-wait.ts); absent in runs scheduled before it existed. */
  helmWaitSeconds?: number;
}

export interface ReleaseState {
  revision: number;
  status: HelmRevision['status'];
  repositoryUri: string | null;
  marker: PipelineMarker | null;
}

/** What recoverRelease did to a release left pending: rolled back to the last served revision, or uninstalled (nothing served before). */
export type Recovery = { pending: number; rolledBackTo: number } | { pending: number; uninstalled: true };

export interface PipelineMarker {
  /** The deployment (workflow ID) that produced this revision: how re-runs recognise their own work. */
  deploymentId: string;
  repositoryVersion: string;
}

export interface EngineRequest extends ClusterScoped {
  bucket: string;
  model: ModelSpec;
  tensorrtImage: string;
  nodePool: string;
  acceleratorType: string;
}

export interface ResolvedEngine {
  engineKey: string;
  planUri: string;
  recordUri: string;
  cached: boolean;
}

export interface BuiltEngine extends ResolvedEngine {
  record: EngineBuildRecord;
}

export interface EngineBuildRecord {
  engineKey: string;
  model: string;
  planUri: string;
  planMd5: string;
  tensorrtImage: string;
  gpu: string;
  flags: string[];
  profiles: string;
  builtAt: string;
}

export interface VariantBaseline {
  variant: string;
  /** SLA-bounded throughput; the mean of the sweeps when repeated. */
  bestThroughput: number | null;
  latencyMsAtBest: number | null;
  /** With repeated sweeps: their number and coefficient of variation (the noise the next gate uses). */
  samples?: number;
  cv?: number | null;
}

export interface Baseline {
  revision: number;
  repositoryVersion: string;
  deploymentId: string;
  measuredAt: string;
  variants: VariantBaseline[];
}
