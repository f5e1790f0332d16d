/** Spec text (YAML, a superset of JSON) → validated spec; JSON Schema export for docs and the Web UI. */
import { parseDocument } from 'yaml';
import { z } from 'zod';
import { DeploymentSpecSchema } from './schema.js';
import { type SpecResult, validateSpec } from './validate.js';

/** Larger spec files are refused before parsing (a spec is a few KiB). */
export const MAX_SPEC_BYTES = 1024 * 1024;

function documentErrors(...messages: string[]): SpecResult {
  return { ok: false, errors: messages.map((message) => ({ path: '(document)', message })) };
}

export function specTooLarge(bytes: number): SpecResult {
  return documentErrors(`the file is ${bytes} bytes; a spec is at most ${MAX_SPEC_BYTES} bytes`);
}

/** Parses YAML (a superset of JSON) and validates it. */
export function parseSpecText(text: string): SpecResult {
  const bytes = new TextEncoder().encode(text).byteLength;
  if (bytes > MAX_SPEC_BYTES) return specTooLarge(bytes);
  const document = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (document.errors.length > 0) {
    return documentErrors(...document.errors.map((e) => `${e.message.split('\n')[0]}; fix the YAML/JSON syntax`));
  }
  let value: unknown;
  try {
    value = document.toJS(); // throws on excessive alias expansion (maxAliasCount, default 100): billion laughs
  } catch (error) {
    if (!(error instanceof ReferenceError)) throw error;
    return documentErrors(
      error.message.startsWith('Excessive alias count')
        ? 'too many YAML aliases (a resource exhaustion attack?); expand them'
        : `${error.message}; fix the YAML/JSON syntax`,
    );
  }
  return validateSpec(value);
}

export function specJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(DeploymentSpecSchema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
}
