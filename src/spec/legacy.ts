/**
 * A spec written before engine builds became one ONNX builder, in today's form: a `tf-checkpoint`
 * model is a Transformers model, `calibrationCache` is `calibration.cache`. Runs started before the
 * change replay with their spec read this way (workflows/common.ts, behind patched()), and release
 * records written before it are read this way; a new spec must use today's fields, and the schema
 * says so. Anything else passes through untouched, for the schema to judge. Pure.
 */
import { isPlainObject } from './validate.js';

function currentModel(model: unknown): unknown {
  if (!isPlainObject(model)) return model;
  const { calibrationCache, ...rest } = model;
  return {
    ...rest,
    ...(rest['format'] === 'tf-checkpoint' ? { format: 'transformers' } : {}),
    ...(typeof calibrationCache === 'string' && rest['calibration'] === undefined ? { calibration: { cache: calibrationCache } } : {}),
  };
}

export function specInCurrentForm(spec: unknown): unknown {
  if (!isPlainObject(spec) || !Array.isArray(spec['models'])) return spec;
  return { ...spec, models: spec['models'].map(currentModel) };
}
