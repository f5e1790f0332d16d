/**
 * The release record in the bucket: each change is written as the next generation with
 * create-only semantics (GCS ifGenerationMatch=0), so a lost reply, a retry or a second writer
 * can never overwrite a generation; the highest generation is the record.
 */
import { ApiError, calling, transientFailure, translateError } from '../ports/errors.js';
import { releaseRecordPrefix, releaseRecordUri } from '../plan/layout.js';
import { applyChange, emptyRecord, hasChange, type ReleaseChange, type ReleaseKey, type ReleaseRecord } from '../release/record.js';
import type { RunContext } from '../ports/run.js';
import type { ObjectStore } from '../ports/systems.js';

export interface ReleaseRecordRef {
  run: RunContext;
  bucket: string;
  key: ReleaseKey;
}

const GENERATION = /generation-(\d+)\.json$/;

export function createReleaseRecordActivities({ store }: { store: ObjectStore }) {
  async function load({ bucket, key }: ReleaseRecordRef): Promise<ReleaseRecord> {
    const uris = await calling('list release record', () => store.list(releaseRecordPrefix(bucket, key)));
    const latest = uris
      .map((uri) => ({ uri, generation: Number(GENERATION.exec(uri)?.[1] ?? Number.NaN) }))
      .filter((g) => Number.isInteger(g.generation))
      .sort((a, b) => b.generation - a.generation)[0];
    if (latest === undefined) return emptyRecord(key);
    const bytes = await calling('read release record', () => store.read(latest.uri));
    if (bytes === null) throw transientFailure(`release record ${latest.uri} vanished while being read`);
    return JSON.parse(Buffer.from(bytes).toString('utf8')) as ReleaseRecord;
  }

  return {
    loadReleaseRecord: load,

    /** Applies a promotion or rollback once: a retry finds its change already recorded. */
    async recordReleaseChange(request: ReleaseRecordRef & { change: ReleaseChange }): Promise<{ generation: number }> {
      const record = await load(request);
      if (hasChange(record, request.change)) return { generation: record.generation };
      const next = applyChange(record, request.change);
      const uri = releaseRecordUri(request.bucket, request.key, next.generation);
      try {
        await store.write(uri, JSON.stringify(next, null, 2), { ifAbsent: true, contentType: 'application/json' });
      } catch (error) {
        if (error instanceof ApiError && error.code === 'FAILED_PRECONDITION') {
          // Another write took this generation (or our own lost reply): the retry reloads and decides.
          throw transientFailure(`release record generation ${next.generation} was written concurrently; retrying on the new record`);
        }
        translateError(error, `write ${uri}`);
      }
      return { generation: next.generation };
    },
  };
}
