/**
 * The regression gate: each variant's validation sweeps judged against its model's SLA and against
 * the baseline of what serves now, with a tolerance widened by the measured noise; then the
 * release's verdict (passed, regressed, or the SLA not met). Pure: the workflow measures, this
 * decides, and the workflow raises the typed failure.
 */
import { FailureType } from '../ports/errors.js';
import type { VariantResult } from '../ports/results.js';
import type { VariantBaseline as RevisionBaseline, Baseline } from '../ports/run.js';
import type { ReleaseEntry, VariantBaseline } from '../release/record.js';
import type { ModelSpec, SlaSpec, VariantSpec } from '../spec/schema.js';
import type { AutoscalingReading } from '../triton/metrics.js';
import type { PerfCutShort, PerfPoint } from '../triton/perf-types.js';
import { type BaselineComparison, compareWithBaseline, type SlaVerdict } from './evaluate.js';
import { type GateTolerance, gateTolerance, historyTolerance, type RepeatedScore, repeatedScore } from './noise.js';

/** A perf_analyzer sweep of one variant, judged against its model's SLA. */
export interface Sweep {
  points: PerfPoint[];
  verdict: SlaVerdict;
  autoscaling?: AutoscalingReading;
  /** perf_analyzer stopped the sweep: no stable measurement at this concurrency. */
  cutShort?: PerfCutShort;
}

/** A variant's sweeps under the release record's gate: inconclusive ones were measured again. */
export interface VariantSweeps {
  conclusive: Sweep[];
  inconclusive: Sweep[];
}

type GatedModel = Pick<ModelSpec, 'name' | 'sla'>;
type GatedVariant = Pick<VariantSpec, 'name' | 'instances' | 'maxBatchSize'>;

/** The sweep shown for a variant: the median by SLA-bounded throughput. */
function medianSweep(sweeps: readonly Sweep[]): Sweep {
  return [...sweeps].sort((a, b) => (a.verdict.bestThroughput ?? 0) - (b.verdict.bestThroughput ?? 0))[Math.floor(sweeps.length / 2)]!;
}

/**
 * A variant's baseline: the serving entry's; the first run after release records (no entry yet)
 * falls back to the per-revision baseline, which kept no samples.
 */
export function baselineFor(entry: ReleaseEntry | null, legacy: Baseline | null, variant: string): VariantBaseline | null {
  const fromLegacy = legacy?.variants.find((v) => v.variant === variant);
  return entry?.baselines.find((b) => b.variant === variant) ?? (fromLegacy ? { ...fromLegacy, samples: [] } : null);
}

/**
 * The release record's gate on throughputs alone: at least `repeats` conclusive sweeps, their mean
 * against the baseline's within the tolerance the record's noise history sets; too few decide
 * nothing (null).
 */
export function recordComparison(
  samples: readonly number[],
  baseline: { throughput: number | null; samples: number },
  history: readonly (readonly number[])[],
  sla: Pick<SlaSpec, 'repeats' | 'regressionTolerance' | 'falseRollbackRate'>,
): { score: RepeatedScore; gate: GateTolerance; comparison: BaselineComparison } | null {
  if (samples.length < sla.repeats) return null;
  const score = repeatedScore(samples);
  const gate = historyTolerance(history, { current: samples, baseline: baseline.samples }, sla);
  return { score, gate, comparison: compareWithBaseline(score.mean, baseline.throughput, gate.tolerance) };
}

/**
 * A variant's result under the release record's gate: the mean of its conclusive sweeps against
 * the serving entry's baseline, with the tolerance the record's noise history sets. Too few
 * conclusive sweeps fail the variant: a regression where a baseline exists, never a 0 averaged in.
 */
export function judgeVariant(
  model: GatedModel,
  variant: GatedVariant,
  { conclusive, inconclusive }: VariantSweeps,
  baseline: VariantBaseline | null,
  history: readonly (readonly number[])[],
): VariantResult {
  const samples = conclusive.map((s) => s.verdict.bestThroughput!);
  const shown = conclusive.length > 0 ? medianSweep(conclusive) : inconclusive.at(-1)!;
  const baselineThroughput = baseline?.bestThroughput ?? null;
  const decision = recordComparison(samples, { throughput: baselineThroughput, samples: baseline?.samples.length ?? 1 }, history, model.sla);
  const shortfall = `inconclusive: ${samples.length} of ${model.sla.repeats} sweeps within p${model.sla.percentile} <= ${model.sla.latencyMs} ms after ${conclusive.length + inconclusive.length} (${inconclusive.map((s) => (s.cutShort ? `cut short at c=${s.cutShort.concurrency}` : 'no point within the bound')).join(', ')})`;
  return {
    model: model.name,
    variant: variant.name,
    instances: variant.instances,
    maxBatchSize: variant.maxBatchSize,
    points: shown.points,
    // Too few conclusive sweeps: no throughput, so none becomes the next release's baseline.
    verdict: decision !== null ? shown.verdict : { ...shown.verdict, passed: false, bestThroughput: null, latencyMsAtBest: null, concurrencyAtBest: null, reason: shortfall },
    comparison:
      decision === null
        ? { regressed: baselineThroughput !== null, change: null, reason: baselineThroughput !== null ? `${shortfall}; baseline ${baselineThroughput.toFixed(1)} infer/s` : shortfall }
        : decision.comparison,
    baselineThroughput,
    sweeps: samples,
    ...(inconclusive.length > 0 ? { inconclusiveSweeps: inconclusive.length } : {}),
    ...(decision !== null && model.sla.repeats > 1 ? { repeated: { ...decision.score, tolerance: decision.gate.tolerance, width: decision.gate.width } } : {}),
    ...(shown.autoscaling === undefined ? {} : { autoscaling: shown.autoscaling }),
  };
}

/**
 * A variant's result under the per-revision gate of runs started before release records: every
 * sweep counts (one with no point within the bound as 0), against the previous revision's baseline.
 */
export function judgeLegacyVariant(model: GatedModel, variant: GatedVariant, sweeps: readonly Sweep[], baseline: RevisionBaseline | null): VariantResult {
  const { points, verdict, autoscaling } = medianSweep(sweeps);
  const score = repeatedScore(sweeps.map((s) => s.verdict.bestThroughput));
  const baselineThroughput = baseline?.bestThroughput ?? null;
  const gate = gateTolerance(score, baseline, model.sla);
  return {
    model: model.name,
    variant: variant.name,
    instances: variant.instances,
    maxBatchSize: variant.maxBatchSize,
    points,
    verdict,
    comparison: compareWithBaseline(sweeps.length > 1 ? score.mean : verdict.bestThroughput, baselineThroughput, gate.tolerance),
    baselineThroughput,
    ...(sweeps.length > 1 ? { repeated: { ...score, ...gate } } : {}),
    ...(autoscaling === undefined ? {} : { autoscaling }),
  };
}

/** What the baselines came from, named in a regression's message. */
export type BaselineSource = Pick<ReleaseEntry, 'generation' | 'repositoryVersion'> | { revision?: number };

export type GateVerdict =
  | { passed: true }
  | { passed: false; failure: typeof FailureType.SlaRegression; regressed: VariantResult[]; message: string }
  | { passed: false; failure: typeof FailureType.SlaNotMet; unmetModels: string[]; message: string };

/**
 * The release's verdict on its judged variants: a regression of any variant fails it first (the
 * live release serves better); else every model needs one variant that meets its SLA.
 */
export function judge(models: readonly Pick<ModelSpec, 'name'>[], variants: readonly VariantResult[], against: BaselineSource): GateVerdict {
  const regressed = variants.filter((v) => v.comparison.regressed);
  if (regressed.length > 0) {
    const source = 'generation' in against ? `the live release (record generation ${against.generation}, ${against.repositoryVersion})` : `revision ${against.revision}`;
    return {
      passed: false,
      failure: FailureType.SlaRegression,
      regressed,
      message: `performance regressed against ${source}: ${regressed.map((v) => `${v.variant} ${v.comparison.reason}`).join('; ')}`,
    };
  }
  const unmet = models.filter((m) => !variants.some((v) => v.model === m.name && v.verdict.passed));
  if (unmet.length > 0) {
    return {
      passed: false,
      failure: FailureType.SlaNotMet,
      unmetModels: unmet.map((m) => m.name),
      message: `SLA not met for ${unmet.map((m) => `${m.name} (${variants.filter((v) => v.model === m.name).map((v) => `${v.variant}: ${v.verdict.reason}`).join('; ')})`).join(', ')}`,
    };
  }
  return { passed: true };
}
