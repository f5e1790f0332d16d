/**
 * Chapter "Setup Triton Model repository": each run publishes a new immutable version (config.pbtxt
 * and model.plan per variant, checksums verified), then its manifest last, so a half-upload is
 * never served. Also the per-revision performance baselines the SLA gate compares against.
 */
import { createHash } from 'node:crypto';
import { calling, FailureType, permanentFailure } from '../ports/errors.js';
import { baselineUri, joinUri, type RepositoryManifest, repositoryManifestUri, repositoryVersionUri } from '../plan/layout.js';
import type { Baseline, RunContext } from '../ports/run.js';
import type { ObjectInfo, ObjectStore } from '../ports/systems.js';

export interface PublishRequest {
  run: RunContext;
  bucket: string;
  prefix: string;
  version: string;
  /** modelFile: the name in <variant>/1/ (default model.plan, a TensorRT engine). */
  variants: Array<{ name: string; configPbtxt: string; planUri: string; modelFile?: string }>;
}

export interface PublishedRepository {
  version: string;
  repositoryUri: string;
  manifestUri: string;
  files: number;
}

export interface BaselineRef {
  run: RunContext;
  bucket: string;
  namespace: string;
  release: string;
  revision: number;
}

function decode(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('utf8');
}

export interface RepositoryDeps {
  store: ObjectStore;
  /** Files written beside each model file (the local target's python-backend model.py), by name. */
  modelSupportFiles?: Record<string, string>;
}

export function createRepositoryActivities({ store, modelSupportFiles = {} }: RepositoryDeps) {
  /** Writes an object unless an identical one is there (idempotent re-runs); never overwrites a different one. */
  async function putOnce(uri: string, write: () => Promise<ObjectInfo>, expectedMd5: string | null): Promise<ObjectInfo> {
    const existing = await calling(`stat ${uri}`, () => store.stat(uri));
    if (existing !== null) {
      if (expectedMd5 !== null && existing.md5 !== expectedMd5) {
        throw permanentFailure(FailureType.ConfigMismatch, `${uri} already exists with other content; repository versions are immutable`);
      }
      return existing;
    }
    const written = await calling(`write ${uri}`, write);
    if (expectedMd5 !== null && written.md5 !== expectedMd5) {
      throw permanentFailure(FailureType.ConfigMismatch, `checksum mismatch after writing ${uri}: ${written.md5} != ${expectedMd5}`);
    }
    return written;
  }

  return {
    async publishRepository(request: PublishRequest): Promise<PublishedRepository> {
      const repositoryUri = repositoryVersionUri(request.bucket, request.prefix, request.version);
      const manifestUri = repositoryManifestUri(request.bucket, request.prefix, request.version);
      const existingManifest = await calling('read manifest', () => store.read(manifestUri));
      if (existingManifest !== null) {
        const manifest = JSON.parse(decode(existingManifest)) as RepositoryManifest;
        if (manifest.deploymentId !== request.run.deploymentId) {
          throw permanentFailure(FailureType.ConfigMismatch, `repository version ${request.version} was published by ${manifest.deploymentId}`);
        }
        return { version: request.version, repositoryUri, manifestUri, files: manifest.models.flatMap((m) => m.files).length };
      }
      const models: RepositoryManifest['models'] = [];
      for (const variant of request.variants) {
        const configUri = joinUri(repositoryUri, variant.name, 'config.pbtxt');
        const modelFile = variant.modelFile ?? 'model.plan';
        const planUri = joinUri(repositoryUri, variant.name, '1', modelFile);
        const configMd5 = createHash('md5').update(variant.configPbtxt).digest('base64');
        const config = await putOnce(configUri, () => store.write(configUri, variant.configPbtxt, { ifAbsent: true, contentType: 'text/plain' }), configMd5);
        const source = await calling('stat engine plan', () => store.stat(variant.planUri));
        if (source === null) {
          throw permanentFailure(FailureType.InvalidArgument, `engine plan ${variant.planUri} is missing; rebuild the engine`);
        }
        const plan = await putOnce(planUri, () => store.copy(variant.planUri, planUri), source.md5);
        const files = [
          { path: `${variant.name}/config.pbtxt`, md5: config.md5, size: config.size },
          { path: `${variant.name}/1/${modelFile}`, md5: plan.md5, size: plan.size },
        ];
        for (const [name, content] of Object.entries(modelSupportFiles)) {
          const uri = joinUri(repositoryUri, variant.name, '1', name);
          const md5 = createHash('md5').update(content).digest('base64');
          const written = await putOnce(uri, () => store.write(uri, content, { ifAbsent: true, contentType: 'text/plain' }), md5);
          files.push({ path: `${variant.name}/1/${name}`, md5: written.md5, size: written.size });
        }
        models.push({ name: variant.name, files });
      }
      const manifest: RepositoryManifest = { version: request.version, deploymentId: request.run.deploymentId, models };
      await calling('write manifest', () =>
        store.write(manifestUri, JSON.stringify(manifest, null, 2), { ifAbsent: true, contentType: 'application/json' }),
      );
      return { version: request.version, repositoryUri, manifestUri, files: models.flatMap((m) => m.files).length };
    },

    /** Saga inverse of publishRepository; refuses to delete the version a release serves. */
    async deleteRepositoryVersionIfUnserved(request: {
      run: RunContext;
      bucket: string;
      prefix: string;
      version: string;
      servedRepositoryUri: string | null;
    }): Promise<{ deleted: number }> {
      const repositoryUri = repositoryVersionUri(request.bucket, request.prefix, request.version);
      if (request.servedRepositoryUri === repositoryUri) return { deleted: 0 };
      const manifestUri = repositoryManifestUri(request.bucket, request.prefix, request.version);
      // Manifest first: from then on the version is never considered complete.
      await calling('delete manifest', () => store.delete(manifestUri));
      const objects = await calling('list repository version', () => store.list(`${repositoryUri}/`));
      for (const uri of objects) await calling(`delete ${uri}`, () => store.delete(uri));
      return { deleted: objects.length };
    },

    async loadBaseline(ref: BaselineRef): Promise<Baseline | null> {
      const bytes = await calling('read baseline', () => store.read(baselineUri(ref.bucket, ref.namespace, ref.release, ref.revision)));
      return bytes === null ? null : (JSON.parse(decode(bytes)) as Baseline);
    },

    async saveBaseline(ref: BaselineRef & { baseline: Baseline }): Promise<void> {
      const uri = baselineUri(ref.bucket, ref.namespace, ref.release, ref.revision);
      const existing = await calling('stat baseline', () => store.stat(uri));
      if (existing !== null) return;
      await calling('write baseline', () => store.write(uri, JSON.stringify(ref.baseline, null, 2), { ifAbsent: true, contentType: 'application/json' }));
    },
  };
}
