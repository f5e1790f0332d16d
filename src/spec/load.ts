/** Spec text (YAML, a superset of JSON) → validated spec; JSON Schema export for docs and the Web UI. */
import { parseDocument } from 'yaml';
import { z } from 'zod';
import { DeploymentSpecSchema } from './schema.js';
import { validateSpec, type SpecResult } from './validate.js';

/** Parses YAML (a superset of JSON) and validates it. */
export function parseSpecText(text: string): SpecResult {
  const document = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (document.errors.length > 0) {
    return {
      ok: false,
      errors: document.errors.map((e) => ({
        path: '(document)',
        message: `${e.message.split('\n')[0]}; fix the YAML/JSON syntax`,
      })),
    };
  }
  return validateSpec(document.toJS());
}

export function specJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(DeploymentSpecSchema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
}
