/**
 * The model repository on GCS: the real @google-cloud/storage client and the repository
 * activities against a real GCS emulator (fake-gcs-server): upload, checksums, manifest last,
 * idempotent re-runs, and no overwrite of a version a release serves.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import { createGcsStore, parseGsUri } from '../../src/clients/gcs.js';
import { createRepositoryActivities } from '../../src/activities/repository.js';
import { ApiError } from '../../src/ports/errors.js';
import type { ObjectStore } from '../../src/ports/systems.js';
import { runActivity } from '../helpers/activity-env.js';
import { type GcsEmulator, startGcsEmulator } from '../standins/gcs-emulator.js';

let emulator: GcsEmulator;
let store: ObjectStore;
const BUCKET = 'gs://models-test';

before(async () => {
  emulator = await startGcsEmulator();
  await emulator.storage.createBucket(parseGsUri(BUCKET).bucket);
  store = createGcsStore(emulator.storage);
});
after(() => emulator?.stop());

describe('GCS object store (fake-gcs-server)', () => {
  it('writes, stats with the md5 GCS computes, reads, lists, copies and deletes', async () => {
    const written = await store.write(`${BUCKET}/a/config.pbtxt`, 'name: "x"\n', { contentType: 'text/plain' });
    assert.equal(written.md5, createHash('md5').update('name: "x"\n').digest('base64'));
    assert.equal(written.size, 10);
    assert.deepEqual(await store.stat(`${BUCKET}/a/config.pbtxt`), written);
    assert.equal(Buffer.from((await store.read(`${BUCKET}/a/config.pbtxt`))!).toString(), 'name: "x"\n');
    assert.equal(await store.stat(`${BUCKET}/missing`), null);
    assert.equal(await store.read(`${BUCKET}/missing`), null);
    const copied = await store.copy(`${BUCKET}/a/config.pbtxt`, `${BUCKET}/b/config.pbtxt`);
    assert.equal(copied.md5, written.md5);
    assert.deepEqual(await store.list(`${BUCKET}/`), [`${BUCKET}/a/config.pbtxt`, `${BUCKET}/b/config.pbtxt`]);
    await store.delete(`${BUCKET}/b/config.pbtxt`);
    await store.delete(`${BUCKET}/b/config.pbtxt`);
    assert.deepEqual(await store.list(`${BUCKET}/b/`), []);
  });

  it('refuses to overwrite with ifAbsent (GCS ifGenerationMatch=0)', async () => {
    await store.write(`${BUCKET}/once`, 'first', { ifAbsent: true });
    await assert.rejects(store.write(`${BUCKET}/once`, 'second', { ifAbsent: true }), (e: unknown) => e instanceof ApiError && e.code === 'FAILED_PRECONDITION');
    assert.equal(Buffer.from((await store.read(`${BUCKET}/once`))!).toString(), 'first');
  });

  it('publishes a repository version: files with verified checksums, then the manifest; re-runs are idempotent', async () => {
    const plan = `${BUCKET}/engines/resnet50/key1/model.plan`;
    await store.write(plan, Buffer.alloc(4096, 7));
    const activities = createRepositoryActivities({ store });
    const request = {
      run: { deploymentId: 'deploy/p/c/default/triton' },
      bucket: BUCKET,
      prefix: 'model_repository',
      version: 'v1',
      variants: [
        { name: 'ResNet50-INT8', configPbtxt: 'name: "ResNet50-INT8"\n', planUri: plan },
        { name: 'ResNet50-INT8-2', configPbtxt: 'name: "ResNet50-INT8-2"\n', planUri: plan },
      ],
    };
    const published = await runActivity(activities.publishRepository, request);
    assert.deepEqual(published, {
      version: 'v1',
      repositoryUri: `${BUCKET}/model_repository/versions/v1`,
      manifestUri: `${BUCKET}/model_repository/manifests/v1.json`,
      files: 4,
    });
    const objects = await store.list(`${BUCKET}/model_repository/`);
    assert.deepEqual(objects, [
      `${BUCKET}/model_repository/manifests/v1.json`,
      `${BUCKET}/model_repository/versions/v1/ResNet50-INT8-2/1/model.plan`,
      `${BUCKET}/model_repository/versions/v1/ResNet50-INT8-2/config.pbtxt`,
      `${BUCKET}/model_repository/versions/v1/ResNet50-INT8/1/model.plan`,
      `${BUCKET}/model_repository/versions/v1/ResNet50-INT8/config.pbtxt`,
    ]);
    const manifest = JSON.parse(Buffer.from((await store.read(published.manifestUri))!).toString()) as { models: Array<{ files: Array<{ md5: string }> }> };
    const planMd5 = (await store.stat(plan))!.md5;
    assert.equal(manifest.models[0]!.files[1]!.md5, planMd5);
    assert.deepEqual(await runActivity(activities.publishRepository, request), published, 'a re-run finds the manifest and changes nothing');
  });

  it('never overwrites a version another deployment published', async () => {
    const activities = createRepositoryActivities({ store });
    const plan = `${BUCKET}/engines/resnet50/key2/model.plan`;
    await store.write(plan, 'plan');
    const base = { bucket: BUCKET, prefix: 'repo2', version: 'v1', variants: [{ name: 'm', configPbtxt: 'name: "m"\n', planUri: plan }] };
    await runActivity(activities.publishRepository, { ...base, run: { deploymentId: 'first' } });
    const error = await runActivity(activities.publishRepository, { ...base, run: { deploymentId: 'second' } })
      .then(() => undefined, (e: unknown) => e);
    assert.ok(error instanceof ApplicationFailure && error.type === 'ConfigMismatch' && error.nonRetryable, String(error));
    // A half-published version (files but no manifest) with other content is refused, not overwritten.
    await store.write(`${BUCKET}/repo2/versions/v2/m/config.pbtxt`, 'name: "other"\n');
    const half = await runActivity(activities.publishRepository, { ...base, version: 'v2', run: { deploymentId: 'third' } })
      .then(() => undefined, (e: unknown) => e);
    assert.ok(half instanceof ApplicationFailure && /immutable/.test(half.message), String(half));
    assert.equal(await store.stat(`${BUCKET}/repo2/manifests/v2.json`), null, 'no manifest for a refused version');
  });

  it('deletes an unserved version, manifest first, and keeps a served one', async () => {
    const activities = createRepositoryActivities({ store });
    const plan = `${BUCKET}/engines/x/k/model.plan`;
    await store.write(plan, 'plan');
    const run = { deploymentId: 'd' };
    const base = { run, bucket: BUCKET, prefix: 'repo3', variants: [{ name: 'm', configPbtxt: 'name: "m"\n', planUri: plan }] };
    const served = await runActivity(activities.publishRepository, { ...base, version: 'live' });
    await runActivity(activities.publishRepository, { ...base, version: 'new' });
    const kept = await runActivity(activities.deleteRepositoryVersionIfUnserved, { run, bucket: BUCKET, prefix: 'repo3', version: 'live', servedRepositoryUri: served.repositoryUri });
    assert.equal(kept.deleted, 0);
    const removed = await runActivity(activities.deleteRepositoryVersionIfUnserved, { run, bucket: BUCKET, prefix: 'repo3', version: 'new', servedRepositoryUri: served.repositoryUri });
    assert.equal(removed.deleted, 2);
    assert.deepEqual(await store.list(`${BUCKET}/repo3/`), [
      `${BUCKET}/repo3/manifests/live.json`,
      `${BUCKET}/repo3/versions/live/m/1/model.plan`,
      `${BUCKET}/repo3/versions/live/m/config.pbtxt`,
    ]);
  });
});
