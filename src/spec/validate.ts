/**
 * Spec object → validated, typed spec, or a list of field-path errors that say what to fix.
 * Pure and deterministic: the CLI calls it before starting anything, and the workflow calls it
 * again on its input (runs started from the Web UI skip the CLI).
 */
import { z } from 'zod';
import { DeploymentSpecSchema, type DeploymentSpec } from './schema.js';

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
function knownKeysAt(path: readonly PropertyKey[]): string[] {
  let schema: z.ZodType = DeploymentSpecSchema;
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

function describeIssue(issue: z.core.$ZodIssue): SpecError[] {
  const path = formatPath(issue.path);
  switch (issue.code) {
    case 'unrecognized_keys': {
      const known = knownKeysAt(issue.path);
      return issue.keys.map((key) => {
        const suggestion = closest(key, known);
        return {
          path: formatPath([...issue.path, key]),
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
  return { ok: false, errors: result.error.issues.flatMap(describeIssue) };
}

export function formatSpecErrors(errors: readonly SpecError[]): string {
  return errors.map((e) => `  ${e.path}: ${e.message}`).join('\n');
}
