/**
 * What a re-optimization is asked to do: which release (its live spec comes from the release
 * record, never from the request) and, optionally, the search settings. Schedules store this,
 * so a promotion never deploys a spec frozen when the schedule was created. Pure.
 */
import { z } from 'zod';
import type { ReleaseKey } from '../release/record.js';
import { lazySchema } from './lazy-schema.js';
import { type DeploymentSpec, DeploymentSpecSchema, ReoptimizationSchema } from './schema.js';
import { inputShapeError, isPlainObject, type SpecError, validateSpec, validateWorkflowInput } from './validate.js';

export const ReoptimizeRequestSchema = lazySchema('ReoptimizeRequestSchema', () =>
  z
    .object({
      target: DeploymentSpecSchema.shape.target,
      bucket: DeploymentSpecSchema.shape.bucket,
      project: DeploymentSpecSchema.shape.project,
      cluster: z.string().min(1),
      namespace: z.string().min(1),
      release: z.string().min(1),
      /** Absent: the live spec's `reoptimize` settings. */
      search: ReoptimizationSchema.optional(),
    })
    .strict(),
);

export type ReoptimizeRequest = z.output<typeof ReoptimizeRequestSchema>;
export type ReoptimizeRequestInput = z.input<typeof ReoptimizeRequestSchema>;

export function reoptimizeRequestOf(spec: DeploymentSpec, search = spec.reoptimize): ReoptimizeRequest {
  return {
    target: spec.target,
    bucket: spec.bucket,
    project: spec.project,
    cluster: spec.cluster.name,
    namespace: spec.release.namespace,
    release: spec.release.name,
    ...(search === undefined ? {} : { search }),
  };
}

export function requestKey(request: ReoptimizeRequest): ReleaseKey {
  return { project: request.project, cluster: request.cluster, namespace: request.namespace, release: request.release };
}

/** reoptimizeRelease's argument: the request (the keys of ReoptimizeRequestSchema; "search" optional). */
export const REOPTIMIZE_REQUEST_SHAPE = '{"target", "bucket", "project", "cluster", "namespace", "release"}';
/** reoptimizeTriton's argument, as Schedules and the Web UI give it. */
export const REOPTIMIZE_INPUT_SHAPE = `{"release": ${REOPTIMIZE_REQUEST_SHAPE}} or {"spec": {...}}`;

/**
 * `{ release: request }`, or `{ spec }` as Schedules created before release records hold it: of
 * that spec only the release key and the search settings are used. Anything else (no input, a
 * string, `{}`) is one error naming the shape.
 */
export function validateReoptimizeInput(input: unknown): { ok: true; request: ReoptimizeRequest } | { ok: false; errors: SpecError[] } {
  const legacy = isPlainObject(input) && input['release'] === undefined;
  if (!isPlainObject(input) || !isPlainObject(legacy ? input['spec'] : input['release'])) {
    return { ok: false, errors: [inputShapeError(REOPTIMIZE_INPUT_SHAPE, input)] };
  }
  if (legacy) {
    const spec = validateSpec(input['spec']);
    return spec.ok ? { ok: true, request: reoptimizeRequestOf(spec.spec) } : spec;
  }
  return validateReoptimizeRequest(input['release']);
}

/** The request itself, as reoptimizeTriton hands it to reoptimizeRelease. */
export function validateReoptimizeRequest(request: unknown, path: readonly PropertyKey[] = ['release']): { ok: true; request: ReoptimizeRequest } | { ok: false; errors: SpecError[] } {
  const result = validateWorkflowInput(ReoptimizeRequestSchema, REOPTIMIZE_REQUEST_SHAPE, request, path);
  return result.ok ? { ok: true, request: result.value } : result;
}
