/**
 * The release record: per release key (project / cluster / namespace / release), what serves and
 * how it measured, durable in the bucket. Promotions add an entry, rollbacks make the entry that
 * serves again live, and the regression gate and re-optimization read it, so their decisions
 * follow what really serves rather than Helm revision numbers. Pure: the activities store it.
 */
import type { DeploymentSpec } from '../spec/schema.js';

export interface ReleaseKey {
  project: string;
  cluster: string;
  namespace: string;
  release: string;
}

export function releaseKeyOf(spec: Pick<DeploymentSpec, 'project' | 'cluster' | 'release'>): ReleaseKey {
  return { project: spec.project, cluster: spec.cluster.name, namespace: spec.release.namespace, release: spec.release.name };
}

export function describeKey(key: ReleaseKey): string {
  return `${key.project}/${key.cluster}/${key.namespace}/${key.release}`;
}

export interface VariantBaseline {
  variant: string;
  /** SLA-bounded throughput: the mean of the conclusive sweeps. */
  bestThroughput: number | null;
  latencyMsAtBest: number | null;
  /** Each conclusive sweep's SLA-bounded throughput: the noise history the next gates use. */
  samples: number[];
}

export interface ReleaseEntry {
  /** The record generation that promoted it. */
  generation: number;
  /** The spec as validated when it was promoted. */
  spec: DeploymentSpec;
  repositoryVersion: string;
  repositoryUri: string;
  /** The Helm revision serving it now (a rollback to it makes a new revision). */
  helmRevision: number;
  workflowId: string;
  runId: string;
  promotedAt: string;
  reason: PromotionReason;
  baselines: VariantBaseline[];
}

export type PromotionReason = 'deploy' | 'reoptimization';

interface EventBase {
  /** Once per run and kind: a retried write recognises itself. */
  id: string;
  at: string;
  workflowId: string;
  runId: string;
}

export type ReleaseEvent =
  | (EventBase & { kind: 'promoted'; repositoryVersion: string; helmRevision: number; reason: PromotionReason })
  | (EventBase & { kind: 'rolled-back'; attemptedRepositoryVersion: string; helmRevision: number | null; servingRepositoryUri: string | null; cause: string });

export interface ReleaseRecord {
  key: ReleaseKey;
  /** 0: nothing recorded yet. Each change writes the next generation. */
  generation: number;
  live: ReleaseEntry | null;
  /** Earlier promotions, newest first (bounded): what a rollback can return to, and noise history. */
  previous: ReleaseEntry[];
  /** Newest last (bounded). */
  events: ReleaseEvent[];
}

export const KEPT_ENTRIES = 10;
export const KEPT_EVENTS = 100;

export function emptyRecord(key: ReleaseKey): ReleaseRecord {
  return { key, generation: 0, live: null, previous: [], events: [] };
}

export type ReleaseChange =
  | { kind: 'promoted'; at: string; entry: Omit<ReleaseEntry, 'generation'> }
  | {
      kind: 'rolled-back';
      at: string;
      workflowId: string;
      runId: string;
      attemptedRepositoryVersion: string;
      /** The revision the rollback made (null: the first install was uninstalled). */
      helmRevision: number | null;
      servingRepositoryUri: string | null;
      cause: string;
    };

export function changeId(change: ReleaseChange): string {
  const run = change.kind === 'promoted' ? change.entry : change;
  return `${run.workflowId}/${run.runId}/${change.kind}`;
}

/** Whether the record already holds this change (a retried write after a lost reply). */
export function hasChange(record: ReleaseRecord, change: ReleaseChange): boolean {
  const id = changeId(change);
  return record.events.some((e) => e.id === id);
}

/** The record after a change, one generation on. */
export function applyChange(record: ReleaseRecord, change: ReleaseChange): ReleaseRecord {
  const generation = record.generation + 1;
  const id = changeId(change);
  if (change.kind === 'promoted') {
    const entry: ReleaseEntry = { ...change.entry, generation };
    const { workflowId, runId, repositoryVersion, helmRevision, reason } = entry;
    return {
      key: record.key,
      generation,
      live: entry,
      previous: [...(record.live ? [record.live] : []), ...record.previous].slice(0, KEPT_ENTRIES),
      events: [...record.events, { id, at: change.at, kind: 'promoted' as const, workflowId, runId, repositoryVersion, helmRevision, reason }].slice(-KEPT_EVENTS),
    };
  }
  const { at, workflowId, runId, attemptedRepositoryVersion, helmRevision, servingRepositoryUri, cause } = change;
  const known = [...(record.live ? [record.live] : []), ...record.previous];
  const serving = servingRepositoryUri === null ? undefined : known.find((e) => e.repositoryUri === servingRepositoryUri);
  return {
    key: record.key,
    generation,
    live: serving === undefined ? null : { ...serving, helmRevision: helmRevision ?? serving.helmRevision },
    previous: known.filter((e) => e !== serving).slice(0, KEPT_ENTRIES),
    events: [...record.events, { id, at, kind: 'rolled-back' as const, workflowId, runId, attemptedRepositoryVersion, helmRevision, servingRepositoryUri, cause }].slice(-KEPT_EVENTS),
  };
}

/**
 * The entry that describes what the release serves now: the live one, or an earlier one when the
 * release was rolled back outside the pipeline; null when nothing recorded serves (no release, a
 * re-created cluster, or a release changed by hand), so no stale numbers are trusted.
 */
export function servingEntry(record: ReleaseRecord, servingRepositoryUri: string | null): ReleaseEntry | null {
  if (servingRepositoryUri === null) return null;
  return [...(record.live ? [record.live] : []), ...record.previous].find((e) => e.repositoryUri === servingRepositoryUri) ?? null;
}

/** Each recorded sweep set of a variant, newest first: what the gate estimates the noise from. */
export function sampleHistory(record: ReleaseRecord, variant: string): number[][] {
  return [...(record.live ? [record.live] : []), ...record.previous].flatMap((entry) => {
    const baseline = entry.baselines.find((b) => b.variant === variant);
    return baseline === undefined || baseline.samples.length === 0 ? [] : [baseline.samples];
  });
}
