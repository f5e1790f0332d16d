/**
 * What a re-optimization is asked to do: which release (its live spec comes from the release
 * record, never from the request) and, optionally, the search settings. Schedules store this,
 * so a promotion never deploys a spec frozen when the schedule was created. Pure.
 */
import { z } from 'zod';
import type { ReleaseKey } from '../release/record.js';
import { DeploymentSpecSchema, ReoptimizationSchema, type DeploymentSpec } from './schema.js';
import { formatPath, validateSpec, type SpecError } from './validate.js';

const shape = DeploymentSpecSchema.shape;

export const ReoptimizeRequestSchema = z
  .object({
    target: shape.target,
    bucket: shape.bucket,
    project: shape.project,
    cluster: z.string().min(1),
    namespace: z.string().min(1),
    release: z.string().min(1),
    /** Absent: the live spec's `reoptimize` settings. */
    search: ReoptimizationSchema.optional(),
  })
  .strict();

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

/**
 * `{ release: request }`, or `{ spec }` as Schedules created before release records hold it: of
 * that spec only the release key and the search settings are used.
 */
export function validateReoptimizeInput(input: { release?: unknown; spec?: unknown }): { ok: true; request: ReoptimizeRequest } | { ok: false; errors: SpecError[] } {
  if (input.release === undefined && input.spec !== undefined) {
    const legacy = validateSpec(input.spec);
    return legacy.ok ? { ok: true, request: reoptimizeRequestOf(legacy.spec) } : legacy;
  }
  const result = ReoptimizeRequestSchema.safeParse(input.release);
  if (result.success) return { ok: true, request: result.data };
  return { ok: false, errors: result.error.issues.map((issue) => ({ path: formatPath(['release', ...issue.path]), message: issue.message })) };
}
