/**
 * Simulated GCS: objects are real files under <stateDir>/gcs/<bucket>/<path>, written atomically
 * (temp file + rename; ifAbsent via link, which fails if the name exists). md5 is base64 like GCS.
 * Limitation of the file layout: an object name cannot also be a "directory" of other objects
 * ("a" and "a/b" cannot coexist), which GCS would allow. As in the project store (src/sim/state.ts),
 * the file calls are synchronous except those that create a file or name one into place (the
 * temporary file's write, rename, link), which at load wait on the file system's journal and would
 * block every other call meanwhile.
 */
import { createHash, randomUUID } from 'node:crypto';
import { type Dirent, mkdirSync, readdirSync, readFileSync, unlinkSync } from 'node:fs';
import { link, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ApiError } from '../ports/errors.js';
import type { ObjectInfo, ObjectStore } from '../ports/systems.js';
import type { OperationLog } from './oplog.js';

const URI = /^gs:\/\/([a-z0-9][-a-z0-9_.]{1,61}[a-z0-9])(?:\/(.*))?$/;

interface Location {
  bucket: string;
  name: string;
}

/** Runs a file call, making `dir` first if the call finds it missing (most calls go to existing directories). */
async function inDirectory(dir: string, call: () => unknown): Promise<void> {
  try {
    await call();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    mkdirSync(dir, { recursive: true });
    await call();
  }
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

  private readBytes(uri: string): Buffer | null {
    try {
      return readFileSync(this.file(parse(uri, false)));
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR') return null;
      throw error;
    }
  }

  async stat(uri: string): Promise<ObjectInfo | null> {
    const data = this.readBytes(uri);
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
    const bytes = this.readBytes(source);
    if (bytes === null) throw new ApiError('NOT_FOUND', `No such object: ${source}`);
    await this.put(destination, bytes, false);
    await this.log.record('gcs', 'gcs.copy', `${source} -> ${destination}`, true);
    return { uri: destination, md5: md5Base64(bytes), size: bytes.length };
  }

  private async put(uri: string, bytes: Buffer, ifAbsent: boolean): Promise<void> {
    const target = this.file(parse(uri, false));
    const tmp = path.join(this.tmpDir, randomUUID());
    await inDirectory(this.tmpDir, () => writeFile(tmp, bytes));
    const place = () => (ifAbsent ? link(tmp, target) : rename(tmp, target));
    if (!ifAbsent) {
      await inDirectory(path.dirname(target), place);
      return;
    }
    try {
      await inDirectory(path.dirname(target), place);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') {
        throw new ApiError('FAILED_PRECONDITION', `412 precondition failed: ${uri} already exists`);
      }
      throw error;
    } finally {
      unlinkSync(tmp);
    }
  }

  /** Object URIs starting with the prefix (a plain string prefix, as in GCS), sorted. */
  async list(prefix: string): Promise<string[]> {
    const { bucket, name } = parse(prefix, true);
    const dirName = name.includes('/') ? name.slice(0, name.lastIndexOf('/')) : '';
    const names = this.walk(bucket, dirName);
    return names
      .filter((n) => n.startsWith(name))
      .sort()
      .map((n) => `gs://${bucket}/${n}`);
  }

  /** Every object URI of every bucket (for snapshots), sorted. */
  async listAll(): Promise<string[]> {
    let buckets: string[] = [];
    try {
      buckets = readdirSync(this.root);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    return buckets.flatMap((b) => this.walk(b, '').map((n) => `gs://${b}/${n}`)).sort();
  }

  async delete(uri: string): Promise<void> {
    let existed = true;
    try {
      unlinkSync(this.file(parse(uri, false)));
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR') throw error;
      existed = false;
    }
    await this.log.record('gcs', 'gcs.delete', uri, existed);
  }

  /** Object names under a directory of a bucket ('' = the whole bucket). */
  private walk(bucket: string, dirName: string): string[] {
    const dir = path.join(this.root, bucket, ...(dirName === '' ? [] : dirName.split('/')));
    let entries: Dirent[];
    try {
      entries = readdirSync(dir, { recursive: true, withFileTypes: true });
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR') throw error;
      entries = [];
    }
    return entries
      .filter((e) => e.isFile())
      .map((e) => path.relative(path.join(this.root, bucket), path.join(e.parentPath, e.name)).split(path.sep).join('/'));
  }
}
