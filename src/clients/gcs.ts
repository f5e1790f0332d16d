/**
 * ObjectStore over Cloud Storage (@google-cloud/storage 7). The library's own retries are kept
 * short so they do not multiply Temporal's; HTTP statuses become ApiError codes.
 */
import { Storage, type StorageOptions } from '@google-cloud/storage';
import { ApiError, type ApiErrorCode } from '../ports/errors.js';
import type { ObjectInfo, ObjectStore } from '../ports/systems.js';

export function parseGsUri(uri: string): { bucket: string; path: string } {
  const match = /^gs:\/\/([^/]+)\/?(.*)$/.exec(uri);
  if (match === null) throw new ApiError('INVALID_ARGUMENT', `not a gs:// URI: ${uri}`);
  return { bucket: match[1]!, path: match[2]! };
}

function codeFor(status: number | undefined): ApiErrorCode {
  switch (status) {
    case 400:
      return 'INVALID_ARGUMENT';
    case 401:
    case 403:
      return 'PERMISSION_DENIED';
    case 404:
      return 'NOT_FOUND';
    case 409:
      return 'ALREADY_EXISTS';
    case 412:
      return 'FAILED_PRECONDITION';
    case 429:
      return 'RESOURCE_EXHAUSTED';
    default:
      return status !== undefined && status < 500 ? 'INVALID_ARGUMENT' : 'UNAVAILABLE';
  }
}

function statusOf(error: unknown): number | undefined {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'number' ? code : undefined;
}

async function translated<T>(what: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (error instanceof ApiError) throw error;
    const status = statusOf(error);
    // 429 from GCS is rate limiting, worth retrying (unlike a quota on GPUs).
    const code = status === 429 ? 'UNAVAILABLE' : codeFor(status);
    throw new ApiError(code, `${what}: ${error instanceof Error ? error.message : String(error)}`);
  }
}

export function createStorage(options: StorageOptions = {}): Storage {
  return new Storage({
    ...options,
    retryOptions: { autoRetry: true, maxRetries: 2, totalTimeout: 60, maxRetryDelay: 5, ...options.retryOptions },
  });
}

export function createGcsStore(storage: Storage): ObjectStore {
  const fileOf = (uri: string) => {
    const { bucket, path } = parseGsUri(uri);
    if (path === '') throw new ApiError('INVALID_ARGUMENT', `${uri} names a bucket, not an object`);
    return storage.bucket(bucket).file(path);
  };
  const infoOf = (uri: string, metadata: { md5Hash?: string; size?: string | number }): ObjectInfo => ({
    uri,
    md5: metadata.md5Hash ?? '',
    size: Number(metadata.size ?? 0),
  });

  return {
    async stat(uri) {
      return translated(`stat ${uri}`, async () => {
        try {
          const [metadata] = await fileOf(uri).getMetadata();
          return infoOf(uri, metadata);
        } catch (error) {
          if (statusOf(error) === 404) return null;
          throw error;
        }
      });
    },

    async read(uri) {
      return translated(`read ${uri}`, async () => {
        try {
          const [contents] = await fileOf(uri).download();
          return new Uint8Array(contents);
        } catch (error) {
          if (statusOf(error) === 404) return null;
          throw error;
        }
      });
    },

    async write(uri, data, options = {}) {
      return translated(`write ${uri}`, async () => {
        const file = fileOf(uri);
        await file.save(typeof data === 'string' ? data : Buffer.from(data), {
          resumable: false,
          validation: 'md5',
          ...(options.contentType === undefined ? {} : { contentType: options.contentType }),
          ...(options.ifAbsent ? { preconditionOpts: { ifGenerationMatch: 0 } } : {}),
        });
        const [metadata] = await file.getMetadata();
        return infoOf(uri, metadata);
      });
    },

    async copy(source, destination) {
      return translated(`copy ${source} to ${destination}`, async () => {
        const target = fileOf(destination);
        await fileOf(source).copy(target);
        const [metadata] = await target.getMetadata();
        return infoOf(destination, metadata);
      });
    },

    async list(prefix) {
      return translated(`list ${prefix}`, async () => {
        const { bucket, path } = parseGsUri(prefix);
        const [files] = await storage.bucket(bucket).getFiles({ prefix: path, autoPaginate: true });
        return files.map((f) => `gs://${bucket}/${f.name}`).sort();
      });
    },

    async delete(uri) {
      await translated(`delete ${uri}`, () => fileOf(uri).delete({ ignoreNotFound: true }));
    },
  };
}
