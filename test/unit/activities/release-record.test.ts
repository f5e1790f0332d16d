import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import { createReleaseRecordActivities } from '../../../src/activities/release-record.js';
import type { ObjectStore } from '../../../src/ports/systems.js';
import type { ReleaseChange } from '../../../src/release/record.js';
import { createSimWorld } from '../../../src/sim/world.js';
import { validateSpec } from '../../../src/spec/validate.js';
import { exampleSpec } from '../../helpers/specs.js';
import { tempDir } from '../../helpers/temp-dir.js';

const key = { project: 'p', cluster: 'c', namespace: 'default', release: 'triton' };
const validated = validateSpec(exampleSpec());
assert.ok(validated.ok);

function promotion(runId: string): ReleaseChange {
  return {
    kind: 'promoted',
    at: '2026-12-01T00:00:00.000Z',
    entry: {
      spec: validated.ok ? validated.spec : assert.fail(),
      repositoryVersion: runId,
      repositoryUri: `gs://b/model_repository/versions/${runId}`,
      helmRevision: 1,
      workflowId: 'deploy/p/c/default/triton',
      runId,
      promotedAt: '2026-12-01T00:00:00.000Z',
      reason: 'deploy',
      baselines: [],
    },
  };
}

async function simStore(): Promise<ObjectStore> {
  return createSimWorld({ stateDir: await tempDir('record-store') }).clients().store;
}

describe('release record in the bucket (sim store)', () => {
  it('writes each change once as the next generation; a retry finds it recorded', async () => {
    const store = await simStore();
    const records = createReleaseRecordActivities({ store });
    const ref = { run: { deploymentId: 'deploy/p/c/default/triton' }, bucket: 'gs://records-test', key };
    assert.deepEqual(await records.recordReleaseChange({ ...ref, change: promotion('r1') }), { generation: 1 });
    assert.deepEqual(await records.recordReleaseChange({ ...ref, change: promotion('r1') }), { generation: 1 }, 'retried');
    assert.deepEqual(await records.recordReleaseChange({ ...ref, change: promotion('r2') }), { generation: 2 });
    assert.deepEqual(await store.list('gs://records-test/releases/'), [
      'gs://records-test/releases/p/c/default/triton/generation-00000001.json',
      'gs://records-test/releases/p/c/default/triton/generation-00000002.json',
    ]);
    const record = await records.loadReleaseRecord(ref);
    assert.equal(record.live?.runId, 'r2');
    assert.equal((await records.loadReleaseRecord({ ...ref, key: { ...key, cluster: 'other' } })).generation, 0, 'another cluster has its own');
  });

  it('never overwrites a generation another writer took: the write fails transiently and the retry decides', async () => {
    const store = await simStore();
    const ref = { run: { deploymentId: 'deploy/p/c/default/triton' }, bucket: 'gs://records-test', key };
    await createReleaseRecordActivities({ store }).recordReleaseChange({ ...ref, change: promotion('r1') });
    // A reader that lists before the other writer's generation 1 landed.
    const stale: ObjectStore = { ...store, list: async () => [], read: store.read.bind(store), write: store.write.bind(store), stat: store.stat.bind(store) };
    const error = await createReleaseRecordActivities({ store: stale }).recordReleaseChange({ ...ref, change: promotion('r2') }).catch((e: unknown) => e);
    assert.ok(error instanceof ApplicationFailure && !error.nonRetryable, String(error));
    assert.match(error.message, /generation 1 was written concurrently/);
    assert.deepEqual(await createReleaseRecordActivities({ store }).recordReleaseChange({ ...ref, change: promotion('r2') }), { generation: 2 });
  });
});
