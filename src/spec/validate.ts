/**
 * Spec object → validated, typed spec, or a list of field-path errors that say what to fix.
 * Pure and deterministic: the CLI calls it before starting anything, and the workflow calls it
 * again on its input (runs started from the Web UI skip the CLI).
 */
import { z } from 'zod';
import { lazySchema } from './lazy-schema.js';
import { type DeploymentSpec, DeploymentSpecSchema, TargetSchema } from './schema.js';

export interface SpecError {
  /** Field path such as models[0].variants[1].instances ("(document)" for syntax errors). */
  path: string;
  message: string;
}

export type SpecResult = { ok: true; spec: DeploymentSpec } | { ok: false; errors: SpecError[] };

export function formatPath(path: readonly PropertyKey[]): string {
  if (path.length === 0) return '(spec)';
  return path
    .map((key, i) => (typeof key === 'number' ? `[${key}]` : i === 0 ? String(key) : `.${String(key)}`))
    .join('');
}

function closest(word: string, candidates: readonly string[]): string | undefined {
  const distance = (a: string, b: string): number => {
    const row = Array.from({ length: b.length + 1 }, (_, j) => j);
    for (let i = 1; i <= a.length; i++) {
      let previous = row[0]!;
      row[0] = i;
      for (let j = 1; j <= b.length; j++) {
        const current = row[j]!;
        row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, previous + (a[i - 1]!.toLowerCase() === b[j - 1]!.toLowerCase() ? 0 : 1));
        previous = current;
      }
    }
    return row[b.length]!;
  };
  const best = candidates
    .map((c) => ({ c, d: distance(word, c) }))
    .sort((x, y) => x.d - y.d)[0];
  return best !== undefined && best.d <= Math.max(2, Math.floor(word.length / 3)) ? best.c : undefined;
}

/** Keys the schema allows at a path, for "did you mean" hints on unknown keys. */
function knownKeysAt(path: readonly PropertyKey[], root: z.ZodType): string[] {
  let schema: z.ZodType = root;
  for (const key of path) {
    schema = unwrap(schema);
    if (schema instanceof z.ZodObject) {
      const next = (schema.shape as Record<string, z.ZodType>)[String(key)];
      if (next === undefined) return [];
      schema = next;
    } else if (schema instanceof z.ZodArray) {
      schema = schema.element as z.ZodType;
    } else {
      return [];
    }
  }
  schema = unwrap(schema);
  return schema instanceof z.ZodObject ? Object.keys(schema.shape) : [];
}

function unwrap(schema: z.ZodType): z.ZodType {
  let current: z.ZodType = schema;
  for (;;) {
    if (current instanceof z.ZodDefault || current instanceof z.ZodOptional || current instanceof z.ZodNullable) {
      current = current.unwrap() as z.ZodType;
    } else if (current instanceof z.ZodPipe) {
      current = current.in as z.ZodType;
    } else {
      return current;
    }
  }
}

/** `string "100"`, `number 1.5`, `array`, `object`, `null`: what a wrong-typed field holds. */
function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'object') return 'object';
  const text = typeof value === 'string' ? JSON.stringify(value) : String(value);
  return `${typeof value} ${text.length > 40 ? `${text.slice(0, 37)}...` : text}`;
}

/** An issue as a SpecError; `root` is the schema it came from, `prefix` where that schema's value sits. */
function describeIssue(issue: z.core.$ZodIssue, root: z.ZodType = DeploymentSpecSchema, prefix: readonly PropertyKey[] = []): SpecError[] {
  const path = formatPath([...prefix, ...issue.path]);
  switch (issue.code) {
    case 'unrecognized_keys': {
      const known = knownKeysAt(issue.path, root);
      return issue.keys.map((key) => {
        const suggestion = closest(key, known);
        return {
          path: formatPath([...prefix, ...issue.path, key]),
          message: `unknown field "${key}"; ${suggestion ? `did you mean "${suggestion}"?` : `remove it (allowed: ${known.join(', ')})`}`,
        };
      });
    }
    case 'invalid_value':
      return [{ path, message: `${issue.message}; use one of: ${issue.values.map((v) => JSON.stringify(v)).join(', ')}` }];
    case 'invalid_type': {
      if (issue.input === undefined) return [{ path, message: `is required (expected ${issue.expected})` }];
      const custom = issue.message.startsWith('Invalid input') ? '' : `${issue.message}: `;
      return [{ path, message: `${custom}expected ${issue.expected}, found ${describeValue(issue.input)}` }];
    }
    default:
      return [{ path, message: issue.message }];
  }
}

/** Validates an already-parsed object (CLI after YAML parsing, workflows on their JSON input). */
export function validateSpec(input: unknown): SpecResult {
  const result = DeploymentSpecSchema.safeParse(input, { reportInput: true });
  if (result.success) return { ok: true, spec: result.data };
  return { ok: false, errors: result.error.issues.flatMap((issue) => describeIssue(issue)) };
}

export function formatSpecErrors(errors: readonly SpecError[]): string {
  return errors.map((e) => `  ${e.path}: ${e.message}`).join('\n');
}

// Workflow inputs. A run started from the Web UI (or a hand-written Schedule) hands the workflow
// whatever JSON was typed, or nothing: each workflow checks its argument's shape here first, so
// a wrong one fails the run at once as InvalidSpec instead of a TypeError that fails (and
// retries) the workflow task forever.

/** The path of an error about the input as a whole: it is not the documented object at all. */
export const INPUT_PATH = '(input)';

/** The documented input of deployTriton: the deployment spec as JSON under "spec". */
export const DEPLOY_INPUT_SHAPE = '{"spec": {...}}';

/** The input exactly as it came, shortened: `undefined`, `null`, `""`, `[]`, `{"spec":"text"}`. */
export function describeInput(input: unknown): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(input);
  } catch {
    text = undefined;
  }
  text ??= String(input);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function inputShapeError(shape: string, input: unknown, hint = ''): SpecError {
  return { path: INPUT_PATH, message: `the input must be ${shape}: got ${describeInput(input)}${hint}` };
}

/** A failure message: a wrong shape in one line, field errors under a heading. */
export function invalidInputMessage(heading: string, errors: readonly SpecError[]): string {
  const [first] = errors;
  if (errors.length === 1 && first!.path === INPUT_PATH) return first!.message;
  return `${heading}:\n${formatSpecErrors(errors)}`;
}

/** deployTriton's argument, `{"spec": <DeploymentSpec JSON>}`, validated down to the spec's fields. */
export function validateDeployInput(input: unknown): SpecResult {
  if (!isPlainObject(input) || !isPlainObject(input['spec'])) {
    const hint = isPlainObject(input) && 'apiVersion' in input ? ' (a spec itself: wrap it as {"spec": <the spec>})' : '';
    return { ok: false, errors: [inputShapeError(DEPLOY_INPUT_SHAPE, input, hint)] };
  }
  return validateSpec(input['spec']);
}

/**
 * A workflow's argument (or a part of it, at `path`) checked against a schema: for child workflows,
 * of the fields the workflow itself reads. The pipeline builds those inputs; the check stops a
 * hand-made one (a Web UI start) before it reaches the code.
 */
export function validateWorkflowInput<S extends z.ZodType>(
  schema: S,
  shape: string,
  input: unknown,
  path: readonly PropertyKey[] = [],
): { ok: true; value: z.output<S> } | { ok: false; errors: SpecError[] } {
  if (!isPlainObject(input)) return { ok: false, errors: [inputShapeError(shape, input)] };
  const result = schema.safeParse(input, { reportInput: true });
  if (result.success) return { ok: true, value: result.data };
  return { ok: false, errors: result.error.issues.flatMap((issue) => describeIssue(issue, schema, path)) };
}

const text = z.string().min(1);
const runField = z.looseObject({ deploymentId: text });
const clusterField = z.looseObject({ project: text, zone: text, cluster: text });
const releaseRefField = z.looseObject({ run: runField, cluster: clusterField, release: text, namespace: text });

export const ENGINE_BUILD_INPUT_SHAPE = '{"target": ..., "request": {"run", "cluster", "bucket", "model", "tensorrtImage", "nodePool", "acceleratorType"}} (deployTriton starts it per model)';
export const EngineBuildInputSchema = lazySchema('EngineBuildInputSchema', () =>
  z.looseObject({
    target: TargetSchema,
    request: z.looseObject({
      run: runField,
      cluster: clusterField,
      bucket: text,
      model: z.looseObject({ name: text }),
      tensorrtImage: text,
      nodePool: text,
      acceleratorType: text,
    }),
  }),
);

export const RECORD_INPUT_SHAPE = '{"target": ..., "bucket": "gs://...", "key": {"project", "cluster", "namespace", "release"}}';
export const RecordInputSchema = lazySchema('RecordInputSchema', () =>
  z.looseObject({
    target: TargetSchema,
    bucket: text,
    key: z.looseObject({ project: text, cluster: text, namespace: text, release: text }),
  }),
);

export const CANDIDATE_INPUT_SHAPE = '{"spec": {...}, "canary": {...}, "model", "variant", "version", "planUri"} (re-optimization starts it per candidate)';
/** The spec is a validated one (re-optimization's); validated again, it must name the model and variant. */
export const CandidateInputSchema = lazySchema('CandidateInputSchema', () =>
  z
    .looseObject({
      spec: DeploymentSpecSchema,
      canary: releaseRefField,
      model: text,
      variant: text,
      candidate: z.looseObject({}).optional(),
      version: text,
      planUri: text,
      sweeps: z.number().int().min(1).optional(),
      window: z.enum(['full', 'screen']).optional(),
      span: z.enum(['whole', 'upper']).optional(),
    })
    .superRefine((input, ctx) => {
      const model = input.spec.models.find((m) => m.name === input.model);
      if (model === undefined) ctx.addIssue({ code: 'custom', path: ['model'], message: `model "${input.model}" is not in spec.models` });
      else if (!model.variants.some((v) => v.name === input.variant)) ctx.addIssue({ code: 'custom', path: ['variant'], message: `variant "${input.variant}" is not a variant of model "${input.model}"` });
    }),
);
