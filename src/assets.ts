/** Files shipped in deploy/, read at start-up by the worker and the CLI. */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import type { KubeObject } from './activities/ports.js';

export const PROJECT_ROOT = fileURLToPath(new URL('..', import.meta.url));

export async function loadDriverInstaller(): Promise<KubeObject> {
  const text = await readFile(join(PROJECT_ROOT, 'deploy/manifests/nvidia-driver-installer.yaml'), 'utf8');
  return parse(text) as KubeObject;
}
