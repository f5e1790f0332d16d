/**
 * Simulated GCS: objects are real files under <stateDir>/gcs/<bucket>/<path>, written atomically
 * (temp file + rename; ifAbsent via link, which fails if the name exists). md5 is base64 like GCS.
 * Limitation of the file layout: an object name cannot also be a "directory" of other objects
 * ("a" and "a/b" cannot coexist), which GCS would allow.
 */
import { createHash, randomUUID } from 'node:crypto';
import { link, mkdir, readdir, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ApiError } from '../ports/errors.js';
import type { ObjectInfo, ObjectStore } from '../ports/systems.js';
import type { OperationLog } from './oplog.js';

const URI = /^gs:\/\/([a-z0-9][-a-z0-9_.]{1,61}[a-z0-9])(?:\/(.*))?$/;

interface Location {
  bucket: string;
  name: string;
}

/** An object URI, or with asPrefix a listing prefix (may be the bucket itself or end in "/"). */
function parse(uri: string, asPrefix: boolean): Location {
  const match = URI.exec(uri);
  const name = match?.[2] ?? '';
  const segments = name.split('/');
  const whole = asPrefix ? segments.slice(0, -1) : segments;
  if (match === null || whole.some((s) => s === '' || s === '.' || s === '..')) {
    throw new ApiError('INVALID_ARGUMENT', `not a gs://bucket/${asPrefix ? 'prefix' : 'object'} URI the simulated GCS accepts: "${uri}"`);
  }
  return { bucket: match[1] as string, name };
}

function md5Base64(data: Uint8Array): string {
  return createHash('md5').update(data).digest('base64');
}

export class SimObjectStore implements ObjectStore {
  private readonly root: string;
  private readonly tmpDir: string;

  constructor(
    stateDir: string,
    private readonly log: OperationLog,
  ) {
    this.root = path.join(stateDir, 'gcs');
    this.tmpDir = path.join(stateDir, 'tmp');
  }

  private file({ bucket, name }: Location): string {
    return path.join(this.root, bucket, ...name.split('/'));
  }

  private async readBytes(uri: string): Promise<Buffer | null> {
    return readFile(this.file(parse(uri, false))).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT' || error.code === 'ENOTDIR' || error.code === 'EISDIR') return null;
      throw error;
    });
  }

  async stat(uri: string): Promise<ObjectInfo | null> {
    const data = await this.readBytes(uri);
    return data === null ? null : { uri, md5: md5Base64(data), size: data.length };
  }

  async read(uri: string): Promise<Uint8Array | null> {
    return this.readBytes(uri);
  }

  async write(uri: string, data: Uint8Array | string, options: { ifAbsent?: boolean; contentType?: string } = {}): Promise<ObjectInfo> {
    const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : Buffer.from(data);
    await this.put(uri, bytes, options.ifAbsent === true);
    await this.log.record('gcs', 'gcs.write', uri, true);
    return { uri, md5: md5Base64(bytes), size: bytes.length };
  }

  async copy(source: string, destination: string): Promise<ObjectInfo> {
    const bytes = await this.readBytes(source);
    if (bytes === null) throw new ApiError('NOT_FOUND', `No such object: ${source}`);
    await this.put(destination, bytes, false);
    await this.log.record('gcs', 'gcs.copy', `${source} -> ${destination}`, true);
    return { uri: destination, md5: md5Base64(bytes), size: bytes.length };
  }

  private async put(uri: string, bytes: Buffer, ifAbsent: boolean): Promise<void> {
    const target = this.file(parse(uri, false));
    await mkdir(path.dirname(target), { recursive: true });
    await mkdir(this.tmpDir, { recursive: true });
    const tmp = path.join(this.tmpDir, randomUUID());
    await writeFile(tmp, bytes);
    if (!ifAbsent) {
      await rename(tmp, target);
      return;
    }
    try {
      await link(tmp, target);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') {
        throw new ApiError('FAILED_PRECONDITION', `412 precondition failed: ${uri} already exists`);
      }
      throw error;
    } finally {
      await unlink(tmp);
    }
  }

  /** Object URIs starting with the prefix (a plain string prefix, as in GCS), sorted. */
  async list(prefix: string): Promise<string[]> {
    const { bucket, name } = parse(prefix, true);
    const dirName = name.includes('/') ? name.slice(0, name.lastIndexOf('/')) : '';
    const names = await this.walk(bucket, dirName);
    return names
      .filter((n) => n.startsWith(name))
      .sort()
      .map((n) => `gs://${bucket}/${n}`);
  }

  /** Every object URI of every bucket (for snapshots), sorted. */
  async listAll(): Promise<string[]> {
    const buckets = await readdir(this.root).catch(() => [] as string[]);
    const all = await Promise.all(buckets.map(async (b) => (await this.walk(b, '')).map((n) => `gs://${b}/${n}`)));
    return all.flat().sort();
  }

  async delete(uri: string): Promise<void> {
    const existed = await unlink(this.file(parse(uri, false))).then(
      () => true,
      (error: NodeJS.ErrnoException) => {
        if (error.code === 'ENOENT' || error.code === 'ENOTDIR') return false;
        throw error;
      },
    );
    await this.log.record('gcs', 'gcs.delete', uri, existed);
  }

  /** Object names under a directory of a bucket ('' = the whole bucket). */
  private async walk(bucket: string, dirName: string): Promise<string[]> {
    const dir = path.join(this.root, bucket, ...(dirName === '' ? [] : dirName.split('/')));
    const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT' || error.code === 'ENOTDIR') return [];
      throw error;
    });
    return entries
      .filter((e) => e.isFile())
      .map((e) => path.relative(path.join(this.root, bucket), path.join(e.parentPath, e.name)).split(path.sep).join('/'));
  }
}
