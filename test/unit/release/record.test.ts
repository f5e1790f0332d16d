import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { applyChange, emptyRecord, hasChange, KEPT_ENTRIES, type ReleaseChange, type ReleaseRecord, sampleHistory, servingEntry } from '../../../src/release/record.js';
import { validateSpec } from '../../../src/spec/validate.js';
import { exampleSpec } from '../../helpers/specs.js';

const key = { project: 'p', cluster: 'c', namespace: 'default', release: 'triton' };
const validated = validateSpec(exampleSpec());
assert.ok(validated.ok);
const spec = validated.spec;

function promoted(run: string, repo: string, revision: number, samples: number[] = [100, 104, 98]): ReleaseChange {
  return {
    kind: 'promoted',
    at: '2026-12-01T00:00:00.000Z',
    entry: {
      spec,
      repositoryVersion: repo,
      repositoryUri: `gs://b/model_repository/versions/${repo}`,
      helmRevision: revision,
      workflowId: 'deploy/p/c/default/triton',
      runId: run,
      promotedAt: '2026-12-01T00:00:00.000Z',
      reason: 'deploy',
      baselines: [{ variant: 'v', bestThroughput: samples.reduce((a, b) => a + b, 0) / samples.length, latencyMsAtBest: 10, samples }],
    },
  };
}

function rolledBack(run: string, helmRevision: number | null, servingRepo: string | null): ReleaseChange {
  return {
    kind: 'rolled-back',
    at: '2026-12-02T00:00:00.000Z',
    workflowId: 'deploy/p/c/default/triton',
    runId: run,
    attemptedRepositoryVersion: `attempt-${run}`,
    helmRevision,
    servingRepositoryUri: servingRepo === null ? null : `gs://b/model_repository/versions/${servingRepo}`,
    cause: 'performance regressed',
  };
}

const apply = (record: ReleaseRecord, ...changes: ReleaseChange[]) => changes.reduce(applyChange, record);

describe('release record', () => {
  it('a promotion makes its entry live and keeps the one before', () => {
    const record = apply(emptyRecord(key), promoted('r1', 'v1', 1), promoted('r2', 'v2', 2));
    assert.equal(record.generation, 2);
    assert.equal(record.live?.repositoryVersion, 'v2');
    assert.equal(record.live?.generation, 2);
    assert.deepEqual(record.previous.map((e) => e.repositoryVersion), ['v1']);
    assert.deepEqual(record.events.map((e) => e.kind), ['promoted', 'promoted']);
  });

  it('a rollback keeps what serves live, at the revision the rollback made', () => {
    const record = apply(emptyRecord(key), promoted('r1', 'v1', 1), rolledBack('r2', 3, 'v1'), rolledBack('r3', 5, 'v1'));
    assert.equal(record.live?.repositoryVersion, 'v1');
    assert.equal(record.live?.helmRevision, 5);
    assert.equal(record.previous.length, 0);
    assert.equal(record.generation, 3);
  });

  it('a rollback to an earlier entry makes that entry live again', () => {
    const record = apply(emptyRecord(key), promoted('r1', 'v1', 1), promoted('r2', 'v2', 2), rolledBack('r3', 3, 'v1'));
    assert.equal(record.live?.repositoryVersion, 'v1');
    assert.equal(record.live?.helmRevision, 3);
    assert.deepEqual(record.previous.map((e) => e.repositoryVersion), ['v2']);
  });

  it('an uninstall leaves nothing live', () => {
    const record = apply(emptyRecord(key), promoted('r1', 'v1', 1), rolledBack('r2', null, null));
    assert.equal(record.live, null);
    assert.deepEqual(record.previous.map((e) => e.repositoryVersion), ['v1']);
  });

  it('recognises a change it already holds (a retried write)', () => {
    const change = promoted('r1', 'v1', 1);
    const record = apply(emptyRecord(key), change);
    assert.equal(hasChange(record, change), true);
    assert.equal(hasChange(record, promoted('r2', 'v1', 1)), false);
    assert.equal(hasChange(record, rolledBack('r1', 2, 'v1')), false, 'a run may promote and later roll back');
  });

  it('trusts only an entry that serves: none for a re-created cluster or a release changed by hand', () => {
    const record = apply(emptyRecord(key), promoted('r1', 'v1', 1), promoted('r2', 'v2', 2));
    assert.equal(servingEntry(record, 'gs://b/model_repository/versions/v2')?.repositoryVersion, 'v2');
    assert.equal(servingEntry(record, 'gs://b/model_repository/versions/v1')?.repositoryVersion, 'v1', 'rolled back outside the pipeline');
    assert.equal(servingEntry(record, null), null, 'nothing installed (a re-created cluster)');
    assert.equal(servingEntry(record, 'gs://b/elsewhere'), null);
  });

  it('bounds what it keeps, and gives the noise history newest first', () => {
    let record = emptyRecord(key);
    for (let i = 1; i <= KEPT_ENTRIES + 5; i++) record = applyChange(record, promoted(`r${i}`, `v${i}`, i, [i, i + 1]));
    assert.equal(record.previous.length, KEPT_ENTRIES);
    const history = sampleHistory(record, 'v');
    assert.equal(history.length, KEPT_ENTRIES + 1);
    assert.deepEqual(history[0], [KEPT_ENTRIES + 5, KEPT_ENTRIES + 6]);
    assert.deepEqual(sampleHistory(record, 'other'), []);
  });
});
