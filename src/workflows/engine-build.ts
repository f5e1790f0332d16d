/** Child workflow: one model's TensorRT engine, skipped when an engine with the same content hash exists. */
import type { EngineRequest } from '../activities/engines.js';
import type { Target } from '../spec/schema.js';
import { activitiesFor } from './activities.js';
import type { EngineResult } from './definitions.js';

export interface BuildModelEngineInput {
  target: Target;
  request: EngineRequest;
}

export async function buildModelEngine({ target, request }: BuildModelEngineInput): Promise<EngineResult> {
  const { resolveEngine, buildEngine } = activitiesFor(target);
  const resolved = await resolveEngine(request);
  if (resolved.cached) return { ...resolved, model: request.model.name };
  const built = await buildEngine({ ...request, engineKey: resolved.engineKey });
  return { ...built, model: request.model.name };
}
