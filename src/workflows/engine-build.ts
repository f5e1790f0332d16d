/** Child workflow: one model's TensorRT engine, skipped when an engine with the same content hash exists. */
import type { EngineRequest } from '../ports/run.js';
import { FailureType, permanentFailure } from '../ports/errors.js';
import type { Target } from '../spec/schema.js';
import { ENGINE_BUILD_INPUT_SHAPE, EngineBuildInputSchema, invalidInputMessage, validateWorkflowInput } from '../spec/validate.js';
import { activitiesFor } from './activity-profiles.js';
import type { EngineResult } from '../ports/results.js';

export interface BuildModelEngineInput {
  target: Target;
  request: EngineRequest;
}

export async function buildModelEngine(input: BuildModelEngineInput): Promise<EngineResult> {
  const checked = validateWorkflowInput(EngineBuildInputSchema, ENGINE_BUILD_INPUT_SHAPE, input);
  if (!checked.ok) throw permanentFailure(FailureType.InvalidSpec, invalidInputMessage('invalid engine-build input', checked.errors), checked.errors);
  const { target, request } = input;
  const { resolveEngine, buildEngine } = activitiesFor(target);
  const resolved = await resolveEngine(request);
  if (resolved.cached) return { ...resolved, model: request.model.name };
  const built = await buildEngine({ ...request, engineKey: resolved.engineKey });
  return { ...built, model: request.model.name };
}
