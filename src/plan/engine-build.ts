/**
 * The TensorRT engine build of one model, as data: how the source becomes ONNX (as is, or exported
 * from a Transformers QA model), one optimization profile per (min,opt,max) triple with each input
 * dimension's role resolved (batch from the triple, sequence from the spec's sequenceLength), the
 * builder's precision flags, INT8 calibration and the workspace. The engine-build Job gets it as
 * one JSON variable (BUILD_PLAN) and deploy/jobs/build_onnx_engine.py does what it says; the
 * simulator reads the same plan. Pure: no I/O, no Temporal imports.
 */
import type { ModelSpec, OptimizationProfile } from '../spec/schema.js';

export const BUILD_PLAN_VERSION = 1;

/** What a Transformers QA model is exported with (deploy/jobs/export_transformer_onnx.py). */
export const TRANSFORMERS_QA_INPUTS = ['input_ids', 'attention_mask', 'token_type_ids'] as const;
export const TRANSFORMERS_QA_OUTPUTS = ['start_logits', 'end_logits'] as const;
export const ONNX_OPSET = 17;

const GIB = 2 ** 30;

/**
 * TensorRT's workspace pool limit per GPU: an upper bound on the scratch memory tactics may use,
 * leaving room on the card for the builder's own buffers (T4 16 GB, L4 24 GB, V100 16/32 GB, A100 40/80 GB, H200 141 GB).
 */
export const WORKSPACE_BYTES: Readonly<Record<string, number>> = {
  'nvidia-tesla-t4': 4 * GIB,
  'nvidia-l4': 8 * GIB,
  'nvidia-tesla-v100': 8 * GIB,
  'nvidia-tesla-a100': 16 * GIB,
  'nvidia-h200-141gb': 32 * GIB,
};
const DEFAULT_WORKSPACE_BYTES = 4 * GIB;

export interface DimRange {
  min: number;
  opt: number;
  max: number;
}

/**
 * One TensorRT optimization profile, by the role of each input dimension: dimension 0 is the batch,
 * dimension 1 the sequence (when the plan has one). The builder refuses an input with a dynamic
 * dimension that no role covers.
 */
export interface BuildProfile {
  batch: DimRange;
  sequence: DimRange | null;
}

/** A Transformers QA model directory (from its archive) exported to ONNX before the build. */
export interface TransformersExport {
  exporter: 'torch.onnx.export';
  opset: number;
  inputs: string[];
  outputs: string[];
  /** The dynamic axes of every input and output. */
  dynamicAxes: { '0': 'batch'; '1': 'sequence' };
  /** Token ids, mask and segment ids as INT32, TensorRT's native integer type. */
  inputDtype: 'int32';
  /** The shape the exporter traces with (any batch, the engine's sequence length). */
  sampleShape: [number, number];
}

export type BuilderFlag = 'INT8' | 'FP16';

export interface CalibrationPlan {
  cache: string | null;
  data: string | null;
  /** The profile TensorRT calibrates at (at its opt shapes): the last, as the sample's builder did. */
  profile: number;
  /** Rows of the calibration data per batch: that profile's opt batch. */
  batchSize: number;
  /** A cache that does not fit the network: fail (no data to regenerate it) or calibrate on the data. */
  onCacheMismatch: 'fail' | 'recalibrate';
  algorithm: 'entropy2';
}

export interface EngineBuildPlan {
  version: typeof BUILD_PLAN_VERSION;
  model: string;
  gpu: string;
  source: { uri: string; format: ModelSpec['format'] };
  /** null: the source is ONNX already. */
  export: TransformersExport | null;
  profiles: BuildProfile[];
  precision: { mode: ModelSpec['precision']; builderFlags: BuilderFlag[] };
  calibration: CalibrationPlan | null;
  workspaceBytes: number;
}

export type EngineBuildModel = Pick<ModelSpec, 'name' | 'source' | 'format' | 'precision' | 'calibration' | 'sequenceLength' | 'optimizationProfiles'>;

/** Why a model cannot be planned: a permanent condition, stated with the field and the fix. */
export class EngineBuildPlanError extends Error {
  override name = 'EngineBuildPlanError';
}

/** INT8 implies FP16, so layers without an INT8 kernel fall back to FP16 rather than FP32. */
export function builderFlagsFor(precision: ModelSpec['precision']): BuilderFlag[] {
  switch (precision) {
    case 'int8':
      return ['INT8', 'FP16'];
    case 'fp16':
      return ['FP16'];
    case 'fp32':
      return [];
  }
}

function sequenceRange(model: EngineBuildModel): DimRange | null {
  const length = model.sequenceLength;
  if (length === undefined) {
    if (model.format === 'transformers') {
      throw new EngineBuildPlanError(`model "${model.name}": a Transformers model needs sequenceLength (the sample uses 384)`);
    }
    return null;
  }
  return { min: length, opt: length, max: length };
}

/**
 * null for fp16/fp32, and for an INT8 model without calibration: the spec's validation refuses that
 * (per target), and the builder refuses such a plan before it starts rather than guess scales.
 */
function calibrationPlan(model: EngineBuildModel, profiles: readonly BuildProfile[]): CalibrationPlan | null {
  const { calibration } = model;
  if (model.precision !== 'int8' || calibration === undefined || (calibration.cache === undefined && calibration.data === undefined)) return null;
  const profile = profiles.length - 1;
  return {
    cache: calibration.cache ?? null,
    data: calibration.data ?? null,
    profile,
    batchSize: profiles[profile]!.batch.opt,
    onCacheMismatch: calibration.data === undefined ? 'fail' : 'recalibrate',
    algorithm: 'entropy2',
  };
}

function profileOf(triple: OptimizationProfile, sequence: DimRange | null): BuildProfile {
  if (!(triple.min <= triple.opt && triple.opt <= triple.max)) {
    throw new EngineBuildPlanError(`optimization profile (${triple.min},${triple.opt},${triple.max}) needs min <= opt <= max`);
  }
  return { batch: { min: triple.min, opt: triple.opt, max: triple.max }, sequence };
}

/** The build plan of one model on one GPU type. */
export function planEngineBuild(model: EngineBuildModel, gpu: string): EngineBuildPlan {
  if (model.optimizationProfiles.length === 0) throw new EngineBuildPlanError(`model "${model.name}" has no optimization profile`);
  const sequence = sequenceRange(model);
  const profiles = model.optimizationProfiles.map((p) => profileOf(p, sequence));
  const exportStep: TransformersExport | null =
    model.format === 'transformers'
      ? {
          exporter: 'torch.onnx.export',
          opset: ONNX_OPSET,
          inputs: [...TRANSFORMERS_QA_INPUTS],
          outputs: [...TRANSFORMERS_QA_OUTPUTS],
          dynamicAxes: { '0': 'batch', '1': 'sequence' },
          inputDtype: 'int32',
          sampleShape: [Math.min(2, profiles[0]!.batch.max), sequence!.opt],
        }
      : null;
  return {
    version: BUILD_PLAN_VERSION,
    model: model.name,
    gpu,
    source: { uri: model.source, format: model.format },
    export: exportStep,
    profiles,
    precision: { mode: model.precision, builderFlags: builderFlagsFor(model.precision) },
    calibration: calibrationPlan(model, profiles),
    workspaceBytes: WORKSPACE_BYTES[gpu] ?? DEFAULT_WORKSPACE_BYTES,
  };
}

/** The plan's steps in words, for logs and dry runs. */
export function describeEngineBuild(plan: EngineBuildPlan): string[] {
  const range = (r: DimRange) => (r.min === r.max ? `${r.min}` : `${r.min}..${r.opt}..${r.max}`);
  const profiles = plan.profiles.map((p) => `(batch ${range(p.batch)}${p.sequence === null ? '' : `, sequence ${range(p.sequence)}`})`).join(' ');
  const steps = [`fetch ${plan.source.uri}`];
  if (plan.export !== null) steps.push(`export to ONNX (opset ${plan.export.opset}; inputs ${plan.export.inputs.join(', ')}; dynamic batch and sequence)`);
  const calibration = plan.calibration;
  if (calibration === null && plan.precision.mode === 'int8') steps.push('refuse: INT8 without calibration data or cache');
  if (calibration !== null) {
    const from = [calibration.cache === null ? null : `cache ${calibration.cache} (checked against the network)`, calibration.data === null ? null : `data ${calibration.data}`];
    steps.push(`calibrate INT8 from ${from.filter((x) => x !== null).join(', else ')} at profile ${calibration.profile}, batch ${calibration.batchSize}`);
  }
  steps.push(`build with ${plan.precision.builderFlags.join('+') || 'FP32'}, ${plan.profiles.length} profile(s) ${profiles}, workspace ${plan.workspaceBytes / GIB} GiB`);
  return steps;
}
