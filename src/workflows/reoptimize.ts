/**
 * Re-optimization (run by a Temporal Schedule or the CLI). `reoptimizeTriton` takes the release's
 * lock: it runs the work as a child under the release's workflow ID, so it never overlaps a
 * deployment or another re-optimization of that release (the second is refused, naming the
 * first). `reoptimizeRelease` reads the live spec from the release record and runs the config
 * search (src/search/config-search.ts) on a canary, each measurement a child workflow: it screens
 * the incumbent and its neighbourhood with short sweeps, then sweeps the best few and the
 * incumbent in turns; it promotes the live spec with only the searched fields changed, through the
 * deployment's own chapters, only if the search's pick beats the incumbent by the margin and by
 * more than noise. The canary and candidate versions are removed in every case.
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
import { bestOf, candidateKey, meanOf, type ScoredCandidate, searchServingConfig, type ServingCandidate } from '../search/config-search.js';
import { COORDINATE_ASCENT_DEFAULTS, coordinateAscentNext } from '../search/coordinate-ascent.js';
import type { SweepWindow } from '../plan/jobs.js';
import type { SweepSpan } from '../sla/sweep-span.js';
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

/** Runs started before it searched by coordinate ascent with full sweeps (see coordinateAscent). */
export const SCREEN_AND_CONFIRM_PATCH = 'screen-and-confirm-config-search';
/** The search's sweeps start at the top of the SLA's concurrency range (src/sla/sweep-span.ts); runs started before sweep it whole. */
export const UPPER_SWEEPS_PATCH = 'upper-concurrency-sweeps';

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
  /** The incumbent, measured (screened) on the canary in this session. */
  live: ScoredCandidate;
  /** The incumbent's screens: first, and again after the others when there were any. */
  incumbentScreens: (number | null)[];
  /** The configs screened after the incumbent. */
  measured: ScoredCandidate[];
  /** The best screen. */
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
  const chosen = request.search ?? spec.reoptimize;
  const settings = chosen ?? ReoptimizationSchema.parse({});
  const run = runContextFor(spec);
  const canary = { ...live, run, release: `${key.release}-canary`, helmWaitSeconds: helmWait(spec).seconds };

  const versionBase = repositoryVersionFor(info.startTime, info.firstExecutionRunId);
  const candidateVersions = new Set<string>();
  const results: ModelSearchResult[] = [];

  /** One child per measurement: publish the config, serve it on the canary, sweep it `sweeps` times. */
  async function measure(model: ModelSpec, variant: string, candidate: ServingCandidate | undefined, planUri: string, how: { sweeps: number; window: SweepWindow; span?: SweepSpan; idSuffix: string }) {
    const version = `${versionBase}-${model.name.toLowerCase().replace(/[^a-z0-9]+/g, '')}-${candidate === undefined ? 'incumbent' : candidateKey(candidate)}`;
    candidateVersions.add(version);
    return executeChild(measureServingCandidate, {
      workflowId: `${info.workflowId}/candidate/${version}${how.idSuffix}`,
      args: [{ spec, canary, model: model.name, variant, candidate, version, planUri, sweeps: how.sweeps, ...(how.window === 'screen' ? { window: how.window } : {}), ...(how.span === 'upper' ? { span: how.span } : {}) }],
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
    if (!patched(SCREEN_AND_CONFIRM_PATCH)) return coordinateAscent(model, variant.name, engine.planUri, constraints);
    const incumbent = liveCandidate(model, variant.name);
    const history = sampleHistory(record, variant.name);
    const span: SweepSpan = patched(UPPER_SWEEPS_PATCH) ? 'upper' : 'whole';
    // The incumbent as it serves (its exact config.pbtxt), measured on the same canary as the
    // candidates, in the same session: drift since the baseline was measured cancels out.
    const outcome = await searchServingConfig(
      settings.space,
      constraints,
      incumbent,
      { budget: settings.maxCandidates, finalists: settings.finalists, confirmSweeps: settings.confirmSweeps, latencyBoundMs: model.sla.latencyMs, span },
      async (candidate, phase, round, sweepSpan) => {
        const how =
          phase === 'screen'
            ? { sweeps: 1, window: 'screen' as const, span: sweepSpan, idSuffix: round === 0 ? '' : `/screen/${round + 1}` }
            : { sweeps: 1, window: 'full' as const, span: sweepSpan, idSuffix: `/confirm/${round + 1}` };
        const measured = await measure(model, variant.name, candidate, engine.planUri, how);
        const score = measured.atBound?.[0] ?? null;
        log.info(`candidate ${phase === 'screen' ? 'screened' : `confirmed (round ${round + 1})`}`, { model: model.name, candidate: candidate === undefined ? 'incumbent' : candidateKey(candidate), score });
        return { score, ...(measured.idleLatencyUs === undefined ? {} : { idleLatencyUs: measured.idleLatencyUs }) };
      },
    );
    const [live, ...screened] = outcome.screened;
    const base = { model: model.name, variant: variant.name, live: live!, incumbentScreens: outcome.incumbentScreens, measured: screened, best: bestOf(screened) ?? live! };
    if (outcome.confirmation === null) return { ...base, confirmation: null, winner: null, improves: false };
    const finalists: Finalist[] = outcome.confirmation.finalists.map((f) => ({
      ...f,
      verdict: promotionVerdict(f.samples, outcome.confirmation!.incumbent, history, settings),
    }));
    // The search's pick is promoted only if it beats the incumbent by the margin and by more than
    // noise; the release's history (its sweeps' best points) only widens the noise estimate, the
    // means compared are this session's throughputs at the bound.
    const pick = finalists.find((f) => candidateKey(f.candidate) === candidateKey(outcome.best));
    const winner = pick?.verdict.promote ? pick.candidate : null;
    return { ...base, confirmation: { incumbent: outcome.confirmation.incumbent, finalists }, winner, improves: winner !== null };
  }

  /** Runs started before screening and confirmation: coordinate ascent, one sweep a candidate, then the finalists' repeated sweeps. */
  async function coordinateAscent(model: ModelSpec, variant: string, planUri: string, constraints: { profileMaxBatch: number; requestBatch: number }): Promise<ModelSearchResult> {
    const settings = chosen ?? { ...ReoptimizationSchema.parse({}), ...COORDINATE_ASCENT_DEFAULTS };
    const once = { sweeps: 1, window: 'full' as const, idSuffix: '' };
    const incumbent: ScoredCandidate = { candidate: liveCandidate(model, variant), score: (await measure(model, variant, undefined, planUri, once)).score };
    const scored: ScoredCandidate[] = [incumbent];
    for (
      let candidate = coordinateAscentNext(settings.space, constraints, scored, settings.maxCandidates);
      candidate !== null;
      candidate = coordinateAscentNext(settings.space, constraints, scored, settings.maxCandidates)
    ) {
      const { score } = await measure(model, variant, candidate, planUri, once);
      scored.push({ candidate, score });
      log.info('candidate measured', { model: model.name, candidate: candidateKey(candidate), score });
    }
    const measured = scored.slice(1);
    const best = bestOf(measured) ?? incumbent;
    const finalists = measured
      .filter((c) => c.score !== null && (incumbent.score === null || c.score > incumbent.score))
      .sort((a, b) => b.score! - a.score!)
      .slice(0, settings.finalists);
    const base = { model: model.name, variant, live: incumbent, incumbentScreens: [incumbent.score], measured, best };
    if (finalists.length === 0) return { ...base, confirmation: null, winner: null, improves: false };

    const repeated = { sweeps: settings.confirmSweeps, window: 'full' as const, idSuffix: '/confirm' };
    const incumbentSamples = (await measure(model, variant, undefined, planUri, repeated)).samples;
    const history = sampleHistory(record, variant);
    const confirmed: Finalist[] = [];
    for (const finalist of finalists) {
      const { samples } = await measure(model, variant, finalist.candidate, planUri, repeated);
      confirmed.push({ candidate: finalist.candidate, samples, verdict: promotionVerdict(samples, incumbentSamples, history, settings) });
    }
    const winner = confirmed.filter((f) => f.verdict.promote).sort((a, b) => meanOf(b.samples) - meanOf(a.samples))[0];
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
