/** Files shipped in deploy/, read at start-up by the worker and the CLI. */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, parseAllDocuments } from 'yaml';
import type { V1ConfigMap, V1DaemonSet } from '@kubernetes/client-node';
import type { KubeObject, Manifest } from './ports/systems.js';

export const PROJECT_ROOT = fileURLToPath(new URL('..', import.meta.url));

export async function loadDriverInstaller(): Promise<Manifest<V1DaemonSet>> {
  const text = await readFile(join(PROJECT_ROOT, 'deploy/manifests/nvidia-driver-installer.yaml'), 'utf8');
  return parse(text) as Manifest<V1DaemonSet>;
}

export const JOB_SCRIPTS_CONFIGMAP = 'triton-pipeline-job-scripts';

/** deploy/jobs/* as the ConfigMap the engine-build Job mounts at /scripts. */
export async function loadJobScripts(namespace: string): Promise<Manifest<V1ConfigMap>> {
  const dir = join(PROJECT_ROOT, 'deploy/jobs');
  const names = (await readdir(dir)).filter((name) => /\.(sh|py)$/.test(name)).sort();
  const data = Object.fromEntries(await Promise.all(names.map(async (name) => [name, await readFile(join(dir, name), 'utf8')] as const)));
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: JOB_SCRIPTS_CONFIGMAP, namespace }, data };
}

/** deploy/manifests/custom-metrics-adapter.yaml, one object per document. */
export async function loadMetricsAdapter(): Promise<KubeObject[]> {
  const text = await readFile(join(PROJECT_ROOT, 'deploy/manifests/custom-metrics-adapter.yaml'), 'utf8');
  return parseAllDocuments(text).map((doc) => doc.toJS() as KubeObject);
}
