/**
 * The local target's model sources: our own ONNX models (deploy/local/build_models.py: a small
 * ResNet-style CNN with fixed weights and a slower variant), built once under the state directory
 * and uploaded to the GCS emulator where a spec's models[].source points.
 */
import { access, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ObjectStore } from '../../ports/systems.js';
import { PROJECT_ROOT } from '../../assets.js';
import { exec } from '../../clients/exec.js';
import { joinUri } from '../../plan/layout.js';

export const LOCAL_MODELS = ['resnet-mini', 'resnet-mini-int8', 'resnet-mini-slow'] as const;

/** Builds the models into dir unless there, uploads each to <bucket>/sources/<name>.onnx unless there; returns their URIs. */
export async function ensureLocalModels(store: ObjectStore, bucket: string, dir: string): Promise<Record<(typeof LOCAL_MODELS)[number], string>> {
  const built = await Promise.all(LOCAL_MODELS.map((m) => access(join(dir, `${m}.onnx`)).then(() => true, () => false)));
  if (!built.every(Boolean)) {
    await exec(join(PROJECT_ROOT, '.tools/triton/venv/bin/python'), [join(PROJECT_ROOT, 'deploy/local/build_models.py'), dir]);
  }
  const uris = {} as Record<(typeof LOCAL_MODELS)[number], string>;
  for (const model of LOCAL_MODELS) {
    const uri = joinUri(bucket, 'sources', `${model}.onnx`);
    if ((await store.stat(uri)) === null) await store.write(uri, await readFile(join(dir, `${model}.onnx`)));
    uris[model] = uri;
  }
  return uris;
}
