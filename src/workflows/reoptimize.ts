/**
 * Re-optimization (run by a Temporal Schedule): search Triton configs for each model's serving
 * variant on a canary release, and promote the best through the normal deployment workflow only
 * if it beats the live release's SLA-bounded throughput by the spec's margin. Each candidate is a
 * child workflow (publish, serve on the canary, measure). Otherwise nothing
 * changes. The canary and the candidate repository versions are removed in every case.
 */
import {
  CancellationScope,
  executeChild,
  log,
  workflowInfo,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { deploymentWorkflowId, repositoryVersionFor } from '../plan/ids.js';
import { bestOf, candidateKey, nextCandidate, type ScoredCandidate, type ServingCandidate } from '../search/config-search.js';
import { ReoptimizationSchema, type DeploymentSpec, type ModelSpec } from '../spec/schema.js';
import { beatsByMargin } from '../sla/evaluate.js';
import { activitiesFor } from './activities.js';
import { measureServingCandidate } from './candidate.js';
import type { DeployResult } from './definitions.js';
import { deployTriton } from './deploy.js';
import { clusterOf, ensureEngine, requireValidSpec, runContextFor } from './common.js';

export interface ReoptimizeInput {
  spec: unknown;
}

export interface ModelSearchResult {
  model: string;
  variant: string;
  live: ScoredCandidate;
  measured: ScoredCandidate[];
  best: ScoredCandidate;
  improves: boolean;
}

export interface ReoptimizeResult {
  outcome: 'promoted' | 'kept' | 'no-live-release' | 'deployment-running';
  models: ModelSearchResult[];
  deployment?: DeployResult;
}

function liveCandidate(model: ModelSpec, variantName: string): ServingCandidate {
  const variant = model.variants.find((v) => v.name === variantName)!;
  return {
    instances: variant.instances,
    maxBatchSize: variant.maxBatchSize,
    preferredBatchSizes: variant.dynamicBatching?.preferredBatchSizes ?? [variant.maxBatchSize],
    maxQueueDelayMicroseconds: variant.dynamicBatching?.maxQueueDelayMicroseconds ?? 100,
  };
}

/** The spec with each improved model's serving variant set to its winning config. */
export function promotedSpec(spec: DeploymentSpec, results: readonly ModelSearchResult[]): DeploymentSpec {
  return {
    ...spec,
    models: spec.models.map((model) => {
      const result = results.find((r) => r.model === model.name && r.improves);
      if (result === undefined) return model;
      const { instances, maxBatchSize, preferredBatchSizes, maxQueueDelayMicroseconds } = result.best.candidate;
      return {
        ...model,
        variants: model.variants.map((v) =>
          v.name === result.variant ? { ...v, instances, maxBatchSize, dynamicBatching: { preferredBatchSizes, maxQueueDelayMicroseconds } } : v,
        ),
      };
    }),
  };
}

export async function reoptimizeTriton(input: ReoptimizeInput): Promise<ReoptimizeResult> {
  const spec = requireValidSpec(input.spec);
  const settings = spec.reoptimize ?? ReoptimizationSchema.parse({});
  const info = workflowInfo();
  const run = runContextFor(spec);
  const cluster = clusterOf(spec);
  const live = { run, cluster, release: spec.release.name, namespace: spec.release.namespace };
  const canary = { ...live, release: `${spec.release.name}-canary` };
  const act = activitiesFor(spec.target);

  const state = await act.describeRelease(live);
  if (state === null || state.status !== 'deployed') return { outcome: 'no-live-release', models: [] };
  const baseline = await act.loadBaseline({ run, bucket: spec.bucket, namespace: live.namespace, release: live.release, revision: state.revision });

  const versionBase = repositoryVersionFor(info.startTime, info.firstExecutionRunId);
  const candidateVersions: string[] = [];
  const results: ModelSearchResult[] = [];
  try {
    for (const model of spec.models) {
      // The variant to improve: the one serving the model best today.
      const servingVariant = model.variants
        .map((v) => ({ name: v.name, score: baseline?.variants.find((b) => b.variant === v.name)?.bestThroughput ?? null }))
        .reduce((a, b) => ((b.score ?? -1) > (a.score ?? -1) ? b : a));
      const variant = model.variants.find((v) => v.name === servingVariant.name)!;
      const engine = await ensureEngine(spec, run, model);
      const profile = model.optimizationProfiles[variant.profile ?? model.optimizationProfiles.length - 1]!;
      const constraints = { profileMaxBatch: profile.max, requestBatch: model.sla.batchSize };
      const incumbent: ScoredCandidate = { candidate: liveCandidate(model, variant.name), score: servingVariant.score };
      const scored: ScoredCandidate[] = [incumbent];
      for (
        let candidate = nextCandidate(settings.space, constraints, scored, settings.maxCandidates);
        candidate !== null;
        candidate = nextCandidate(settings.space, constraints, scored, settings.maxCandidates)
      ) {
        const version = `${versionBase}-${model.name.toLowerCase().replace(/[^a-z0-9]+/g, '')}-${candidateKey(candidate)}`;
        candidateVersions.push(version);
        const { score } = await executeChild(measureServingCandidate, {
          workflowId: `${info.workflowId}/candidate/${version}`,
          args: [{ spec, canary, model: model.name, variant: variant.name, candidate, version, planUri: engine.planUri }],
        });
        scored.push({ candidate, score });
        log.info('candidate measured', { model: model.name, candidate: candidateKey(candidate), score });
      }
      const best = bestOf(scored.slice(1)) ?? incumbent;
      results.push({
        model: model.name,
        variant: variant.name,
        live: incumbent,
        measured: scored.slice(1),
        best,
        improves: beatsByMargin(best.score, incumbent.score, settings.margin),
      });
    }
  } finally {
    await CancellationScope.nonCancellable(async () => {
      await act.uninstallRelease(canary);
      for (const version of candidateVersions) {
        await act.deleteRepositoryVersionIfUnserved({
          run,
          bucket: spec.bucket,
          prefix: spec.repositoryPrefix,
          version,
          servedRepositoryUri: state.repositoryUri,
        });
      }
    });
  }

  if (!results.some((r) => r.improves)) return { outcome: 'kept', models: results };
  try {
    const deployment = await executeChild(deployTriton, {
      workflowId: deploymentWorkflowId(spec),
      args: [{ spec: promotedSpec(spec, results) }],
    });
    return { outcome: 'promoted', models: results, deployment };
  } catch (error) {
    if (error instanceof WorkflowExecutionAlreadyStartedError) return { outcome: 'deployment-running', models: results };
    throw error;
  }
}

