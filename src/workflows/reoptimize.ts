/**
 * Re-optimization (run by a Temporal Schedule or the CLI). `reoptimizeTriton` takes the release's
 * lock: it runs the work as a child under the release's workflow ID, so it never overlaps a
 * deployment or another re-optimization of that release (the second is refused, naming the
 * first). `reoptimizeRelease` reads the live spec from the release record, measures the incumbent
 * on a canary beside the search's candidates (each a child workflow), measures the best
 * candidates and the incumbent again with repeated sweeps, and promotes the live spec with only
 * the searched fields changed, through the deployment's own chapters, only if a candidate beats
 * the incumbent by the margin and by more than noise. The canary and candidate versions are
 * removed in every case.
 */
import {
  ApplicationFailure,
  CancellationScope,
  executeChild,
  isCancellation,
  log,
  ParentClosePolicy,
  patched,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { FailureType } from '../ports/errors.js';
import { helmWait } from '../plan/helm-wait.js';
import { releaseWorkflowId, repositoryVersionFor } from '../plan/ids.js';
import { describeKey, type ReleaseEntry, sampleHistory, servingEntry } from '../release/record.js';
import { bestOf, candidateKey, nextCandidate, type ScoredCandidate, type ServingCandidate } from '../search/config-search.js';
import { type ReoptimizeRequest, requestKey, validateReoptimizeInput, validateReoptimizeRequest } from '../spec/reoptimize-request.js';
import { type DeploymentSpec, type ModelSpec, ReoptimizationSchema } from '../spec/schema.js';
import { specInCurrentForm } from '../spec/legacy.js';
import { invalidInputMessage, validateSpec } from '../spec/validate.js';
import { promotionVerdict, type PromotionVerdict } from '../sla/noise.js';
import { activitiesFor } from './activity-profiles.js';
import { measureServingCandidate } from './candidate.js';
import { abortSignal, abortUpdate } from './definitions.js';
import type { ApprovalRequest, DeployResult } from '../ports/results.js';
import { PREVIEW_PATCH, runDeployment } from './deploy.js';
import { clusterOf, ensureEngine, requireThisRun, runContextFor } from './common.js';

export interface ReoptimizeInput {
  /** The release and search settings (ReoptimizeRequest); its live spec comes from the release record. */
  release?: unknown;
  /** Schedules created before release records: only this spec's release key and search settings are used. */
  spec?: unknown;
}

export interface Finalist {
  candidate: ServingCandidate;
  /** SLA-bounded throughput of each confirmation sweep (null: not within the SLA). */
  samples: (number | null)[];
  verdict: PromotionVerdict;
}

export interface ModelSearchResult {
  model: string;
  variant: string;
  /** The incumbent, measured on the canary in this session. */
  live: ScoredCandidate;
  measured: ScoredCandidate[];
  /** The search's best (one sweep each). */
  best: ScoredCandidate;
  /** The incumbent's and the finalists' repeated sweeps; null when no candidate beat the incumbent in the search. */
  confirmation: { incumbent: (number | null)[]; finalists: Finalist[] } | null;
  /** The config promoted for this model, if any. */
  winner: ServingCandidate | null;
  improves: boolean;
}

export interface ReoptimizeResult {
  outcome: 'promoted' | 'kept' | 'no-live-release' | 'busy';
  models: ModelSearchResult[];
  /** Why nothing was searched (no-live-release, busy). */
  detail?: string;
  deployment?: DeployResult;
}

/** The request, or a run that fails at once as InvalidSpec (a Web UI start may hand anything, or nothing). */
function requireRequest(validation: ReturnType<typeof validateReoptimizeInput>): ReoptimizeRequest {
  if (validation.ok) return validation.request;
  throw ApplicationFailure.create({
    type: FailureType.InvalidSpec,
    message: invalidInputMessage('invalid re-optimization request', validation.errors),
    nonRetryable: true,
    details: [validation.errors],
  });
}

export async function reoptimizeTriton(input: ReoptimizeInput): Promise<ReoptimizeResult> {
  const request = requireRequest(validateReoptimizeInput(input));
  const workflowId = releaseWorkflowId(requestKey(request));
  try {
    return await executeChild(reoptimizeRelease, {
      workflowId,
      args: [request],
      // A cancelled or terminated request still lets the release's work clean up after itself.
      parentClosePolicy: ParentClosePolicy.REQUEST_CANCEL,
    });
  } catch (error) {
    if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
    const detail = `release ${describeKey(requestKey(request))} is busy: workflow ${workflowId} (a deployment or a re-optimization) is running; this run changed nothing`;
    log.info(detail);
    return { outcome: 'busy', models: [], detail };
  }
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

/** The live spec with each improved model's serving variant set to its winner: only searched fields change. */
export function promotedSpec(spec: DeploymentSpec, results: readonly ModelSearchResult[]): DeploymentSpec {
  return {
    ...spec,
    models: spec.models.map((model) => {
      const result = results.find((r) => r.model === model.name && r.winner !== null);
      if (result === undefined) return model;
      const { instances, maxBatchSize, preferredBatchSizes, maxQueueDelayMicroseconds } = result.winner!;
      return {
        ...model,
        variants: model.variants.map((v) =>
          v.name === result.variant ? { ...v, instances, maxBatchSize, dynamicBatching: { preferredBatchSizes, maxQueueDelayMicroseconds } } : v,
        ),
      };
    }),
  };
}

/** The release's re-optimization, under the release's workflow ID (see reoptimizeTriton). */
export async function reoptimizeRelease(request: ReoptimizeRequest): Promise<ReoptimizeResult> {
  requireRequest(validateReoptimizeRequest(request, []));
  const info = workflowInfo();
  const key = requestKey(request);
  const act = activitiesFor(request.target);
  // An abort ends the search; the run then fails as Aborted, as a deployment's does. Registered
  // first, so an abort is answered from the start; the promotion's own handler takes over later.
  const search = new CancellationScope();
  let abort: ApprovalRequest | null = null;
  if (patched(PREVIEW_PATCH)) {
    setHandler(
      abortUpdate,
      (operatorRequest) => {
        abort = operatorRequest;
        search.cancel();
        return { runId: info.runId, repositoryVersion: repositoryVersionFor(info.startTime, info.firstExecutionRunId), stage: null };
      },
      {
        validator: (operatorRequest) => {
          requireThisRun(operatorRequest, `workflow ${info.workflowId} is re-optimizing as run ${info.runId}`);
          if (abort !== null) throw new Error(`nothing to abort: run ${info.runId} is already aborting`);
        },
      },
    );
  } else {
    // Runs started before aborts became Updates.
    setHandler(abortSignal, (operatorRequest) => {
      abort = operatorRequest ?? {};
      search.cancel();
    });
  }
  const record = await act.loadReleaseRecord({ run: { deploymentId: info.workflowId }, bucket: request.bucket, key });
  if (record.live === null) return { outcome: 'no-live-release', models: [], detail: `the release record of ${describeKey(key)} has no live release; deploy one first` };

  // Where the release runs, as recorded (validated when it was promoted).
  const recorded = record.live.spec;
  const live = { run: runContextFor(recorded), cluster: clusterOf(recorded), release: key.release, namespace: key.namespace };
  const state = await act.describeRelease(live);
  const entry = servingEntry(record, state?.status === 'deployed' ? state.repositoryUri : null);
  if (entry === null || state === null) {
    return {
      outcome: 'no-live-release',
      models: [],
      detail: `${describeKey(key)} serves ${state?.repositoryUri ?? 'nothing'} (${state?.status ?? 'not installed'}), which its release record does not describe; deploy it with the pipeline first`,
    };
  }
  const validation = validateSpec(specInCurrentForm(entry.spec));
  if (!validation.ok) {
    return {
      outcome: 'no-live-release',
      models: [],
      detail: `the spec of record generation ${entry.generation} no longer validates (${validation.errors.map((e) => `${e.path}: ${e.message}`).join('; ')}); deploy the release again`,
    };
  }
  const spec = validation.spec;
  const settings = request.search ?? spec.reoptimize ?? ReoptimizationSchema.parse({});
  const run = runContextFor(spec);
  const canary = { ...live, run, release: `${key.release}-canary`, helmWaitSeconds: helmWait(spec).seconds };

  const versionBase = repositoryVersionFor(info.startTime, info.firstExecutionRunId);
  const candidateVersions = new Set<string>();
  const results: ModelSearchResult[] = [];

  /** One child per measurement: publish the config, serve it on the canary, sweep it `sweeps` times. */
  async function measure(model: ModelSpec, variant: string, candidate: ServingCandidate | undefined, planUri: string, phase: 'search' | 'confirm') {
    const sweeps = phase === 'confirm' ? settings.confirmSweeps : 1;
    const version = `${versionBase}-${model.name.toLowerCase().replace(/[^a-z0-9]+/g, '')}-${candidate === undefined ? 'incumbent' : candidateKey(candidate)}`;
    candidateVersions.add(version);
    return executeChild(measureServingCandidate, {
      workflowId: `${info.workflowId}/candidate/${version}${phase === 'confirm' ? '/confirm' : ''}`,
      args: [{ spec, canary, model: model.name, variant, candidate, version, planUri, sweeps }],
    });
  }

  try {
    await search.run(async () => {
      for (const model of spec.models) results.push(await searchModel(model));
    });
  } catch (error) {
    if (abort === null || !isCancellation(error)) throw error;
  } finally {
    await CancellationScope.nonCancellable(async () => {
      await act.uninstallRelease(canary);
      for (const version of candidateVersions) {
        await act.deleteRepositoryVersionIfUnserved({ run, bucket: spec.bucket, prefix: spec.repositoryPrefix, version, servedRepositoryUri: state.repositoryUri });
      }
    });
  }

  async function searchModel(model: ModelSpec): Promise<ModelSearchResult> {
    const variant = servingVariant(model, entry!);
    const engine = await ensureEngine(spec, run, model);
    const profile = model.optimizationProfiles[variant.profile ?? model.optimizationProfiles.length - 1]!;
    const constraints = { profileMaxBatch: profile.max, requestBatch: model.sla.batchSize };
    // The live config as it serves (its exact config.pbtxt), measured now on the same canary as the
    // candidates: drift since the baseline was measured cancels out.
    const incumbent: ScoredCandidate = { candidate: liveCandidate(model, variant.name), score: (await measure(model, variant.name, undefined, engine.planUri, 'search')).score };
    const scored: ScoredCandidate[] = [incumbent];
    for (
      let candidate = nextCandidate(settings.space, constraints, scored, settings.maxCandidates);
      candidate !== null;
      candidate = nextCandidate(settings.space, constraints, scored, settings.maxCandidates)
    ) {
      const { score } = await measure(model, variant.name, candidate, engine.planUri, 'search');
      scored.push({ candidate, score });
      log.info('candidate measured', { model: model.name, candidate: candidateKey(candidate), score });
    }
    const measured = scored.slice(1);
    const best = bestOf(measured) ?? incumbent;
    const finalists = measured
      .filter((c) => c.score !== null && (incumbent.score === null || c.score > incumbent.score))
      .sort((a, b) => b.score! - a.score!)
      .slice(0, settings.finalists);
    const base = { model: model.name, variant: variant.name, live: incumbent, measured, best };
    if (finalists.length === 0) return { ...base, confirmation: null, winner: null, improves: false };

    // Fresh sweeps decide: the search's single sweeps picked the finalists and would flatter them.
    const incumbentSamples = (await measure(model, variant.name, undefined, engine.planUri, 'confirm')).samples;
    const history = sampleHistory(record, variant.name);
    const confirmed: Finalist[] = [];
    for (const finalist of finalists) {
      const { samples } = await measure(model, variant.name, finalist.candidate, engine.planUri, 'confirm');
      confirmed.push({ candidate: finalist.candidate, samples, verdict: promotionVerdict(samples, incumbentSamples, history, settings) });
    }
    const mean = (xs: (number | null)[]) => xs.reduce<number>((a, b) => a + (b ?? 0), 0) / xs.length;
    const winner = confirmed.filter((f) => f.verdict.promote).sort((a, b) => mean(b.samples) - mean(a.samples))[0];
    return { ...base, confirmation: { incumbent: incumbentSamples, finalists: confirmed }, winner: winner?.candidate ?? null, improves: winner !== undefined };
  }

  const aborted = abort as ApprovalRequest | null;
  if (aborted !== null) {
    throw ApplicationFailure.create({
      type: FailureType.Aborted,
      message: `re-optimization aborted${aborted.by ? ` by ${aborted.by}` : ''}${aborted.reason ? `: ${aborted.reason}` : ''}; nothing was promoted`,
      nonRetryable: true,
    });
  }
  if (!results.some((r) => r.improves)) return { outcome: 'kept', models: results };
  const deployment = await runDeployment(promotedSpec(spec, results), 'reoptimization');
  return { outcome: 'promoted', models: results, deployment };
}

/** The variant to improve: the one serving the model best in the live release's baseline. */
function servingVariant(model: ModelSpec, entry: ReleaseEntry) {
  const score = (name: string) => entry.baselines.find((b) => b.variant === name)?.bestThroughput ?? -1;
  return model.variants.reduce((a, b) => (score(b.name) > score(a.name) ? b : a));
}
