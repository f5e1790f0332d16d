/** Spec fixtures for tests: the shipped example, adjusted per test. */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import type { DeploymentSpecInput } from '../../src/spec/schema.js';

export const PROJECT_ROOT = fileURLToPath(new URL('../..', import.meta.url));

export function exampleSpec(name = 'sim-seed'): DeploymentSpecInput {
  const path = `${PROJECT_ROOT}/examples/${name}.yaml`;
  return parse(readFileSync(path, 'utf8')) as DeploymentSpecInput;
}

/** A deep copy of the example with changes applied by a function (tests never share objects). */
export function specWith(change: (spec: DeploymentSpecInput) => void, name?: string): DeploymentSpecInput {
  const spec = structuredClone(exampleSpec(name));
  change(spec);
  return spec;
}
