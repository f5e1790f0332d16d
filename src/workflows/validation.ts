/**
 * Measuring a release: the validation sweeps the regression gate judges (on the preview, or on the
 * live release in place), and the bake period's sweeps of the promoted live release.
 */
import { ApplicationFailure } from '@temporalio/workflow';
import { FailureType } from '../ports/errors.js';
import type { BakeResult, VariantResult } from '../ports/results.js';
import type { Baseline, ReleaseRef, ReleaseState } from '../ports/run.js';
import { type ReleaseEntry, type ReleaseRecord, sampleHistory, servingEntry } from '../release/record.js';
import { bakeVerdict } from '../sla/bake.js';
import { baselineFor, judge, judgeLegacyVariant, judgeVariant, type Sweep } from '../sla/gate.js';
import { INCONCLUSIVE_RETRIES, measureAgainstSla, sweepVariant } from './common.js';
import { type DeployRun, stage } from './deploy-run.js';

/**
 * Sweeps every variant on `target` (the preview, or the live release in place) and gates it on
 * the SLA and against what serves now (`before`).
 */
export function validate(deploy: DeployRun, target: ReleaseRef, before: ReleaseState | null): Promise<VariantResult[]> {
  return stage(deploy, 'validation', () => sweepAndJudge(deploy, target, before), (variants) =>
    variants.map((v) => `${v.variant} ${v.verdict.bestThroughput?.toFixed(0) ?? '-'} infer/s`).join(', '),
  );
}

async function sweepAndJudge(deploy: DeployRun, target: ReleaseRef, before: ReleaseState | null): Promise<VariantResult[]> {
  const { act, run, spec, recordRef, lineage } = deploy;
  const served = before?.status === 'deployed' ? before.repositoryUri : null;
  // The gate's baseline is what serves now, from the release record (legacy runs: by revision).
  const record: ReleaseRecord | null = lineage ? await act.loadReleaseRecord(recordRef) : null;
  const entry: ReleaseEntry | null = record === null ? null : servingEntry(record, served);
  // Legacy runs, and the first run after the upgrade (no record yet), read the per-revision baseline.
  const readsLegacy = before !== null && (!lineage || (record?.generation === 0 && served !== null));
  const legacy: Baseline | null = readsLegacy ? await act.loadBaseline({ run, bucket: spec.bucket, namespace: spec.release.namespace, release: spec.release.name, revision: before.revision }) : null;
  // Judged as measured, so a run failing mid-validation still reports the variants it measured.
  deploy.variants = [];
  // Sequential on purpose: variants share the GPU, so parallel sweeps would measure each other.
  for (const model of spec.models) {
    for (const variant of model.variants) {
      if (record !== null) {
        const sweeps = await sweepVariant(act, target, spec, model, variant.name);
        deploy.variants.push(judgeVariant(model, variant, sweeps, baselineFor(entry, legacy, variant.name), sampleHistory(record, variant.name)));
        continue;
      }
      const sweeps: Sweep[] = [];
      for (let i = 0; i < model.sla.repeats; i++) sweeps.push(await measureAgainstSla(act, target, spec, model, variant.name));
      deploy.variants.push(judgeLegacyVariant(model, variant, sweeps, legacy?.variants.find((v) => v.variant === variant.name) ?? null));
    }
  }
  const verdict = judge(spec.models, deploy.variants, entry ?? { revision: before?.revision });
  if (!verdict.passed) throw ApplicationFailure.create({ type: verdict.failure, message: verdict.message, nonRetryable: true });
  return deploy.variants;
}

/**
 * The bake period: each variant swept on the live release at a low concurrency, against what the
 * preview measured there. A regressed sweep is measured again before it counts.
 */
export function bakeLiveRelease(deploy: DeployRun): Promise<BakeResult[]> {
  return stage(deploy, 'bake', () => sweepAtBakeLoad(deploy), (results) =>
    results.length === 0 ? 'no bake sweeps (release.bake.sweeps: 0)' : results.map((r) => `${r.variant} ${r.verdict.reason}`).join('; '),
  );
}

async function sweepAtBakeLoad(deploy: DeployRun): Promise<BakeResult[]> {
  const { act, run, spec, releaseRef } = deploy;
  const { sweeps, tolerance: bakeTolerance } = spec.release.bake;
  if (sweeps === 0) return [];
  const results: BakeResult[] = [];
  const bakeRef = { ...releaseRef, run: { ...run, stage: 'bake' as const } };
  for (const model of spec.models) {
    for (const variant of model.variants) {
      const validated = deploy.variants.find((v) => v.variant === variant.name)!;
      const concurrency = spec.release.bake.concurrency ?? model.sla.concurrency.start;
      const tolerance = Math.max(bakeTolerance, validated.repeated?.tolerance ?? 0);
      let passed = 0;
      let remeasured = 0;
      let verdict = null;
      while (passed < sweeps && remeasured <= INCONCLUSIVE_RETRIES) {
        const atBakeLoad = { ...model, sla: { ...model.sla, concurrency: { start: concurrency, end: concurrency, step: 1 } } };
        const measured = await measureAgainstSla(act, bakeRef, spec, atBakeLoad, variant.name);
        verdict = bakeVerdict(measured.points, validated.points, concurrency, model.sla, tolerance);
        if (verdict.regressed) remeasured++;
        else passed++;
      }
      results.push({ variant: variant.name, verdict: verdict!, remeasured: verdict!.regressed ? remeasured - 1 : remeasured });
    }
  }
  // Kept before the verdict: a regression's evidence carries the bake sweeps.
  deploy.bake = results;
  const regressed = results.filter((r) => r.verdict.regressed);
  if (regressed.length > 0) {
    throw ApplicationFailure.create({
      type: FailureType.SlaRegression,
      message: `the promoted release regressed in the bake period: ${regressed.map((r) => `${r.variant} ${r.verdict.reason} (regressed in ${r.remeasured + 1} sweeps)`).join('; ')}`,
      nonRetryable: true,
    });
  }
  return results;
}
