/**
 * Determinism: recorded histories of real runs (test/fixtures/histories: workflow ID + base64 protobuf history) replay against
 * today's workflow code, there is one of every workflow type, and a change shipped without patched() is caught.
 * New fixture: add `await recordHistory('<name>', handle)` (test/helpers/harness.ts) after the run in its integration test, run
 * only that test with RECORD_HISTORIES=1 (`RECORD_HISTORIES=1 node --import tsx --test --test-name-pattern '<its name>' <its file>`)
 * and commit the new file; never re-record an existing one: old histories must keep replaying.
 */
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import proto from '@temporalio/proto';
import { Worker, type WorkflowBundle } from '@temporalio/worker';
import { DeterminismViolationError } from '@temporalio/workflow';
import * as workflows from '../../src/workflows/index.js';
import { bundleWorkflows, HISTORY_FIXTURES, PROJECT_ROOT } from '../helpers/temporal.js';

interface Fixture {
  file: string;
  workflowId: string;
  history: proto.temporal.api.history.v1.History;
  /** The workflow type; for buildModelEngine, whether the engine was `cached` or `built`. */
  kind: string;
}

async function loadFixtures(): Promise<Fixture[]> {
  const files = (await readdir(HISTORY_FIXTURES)).filter((f) => f.endsWith('.json')).sort();
  return Promise.all(
    files.map(async (file) => {
      const fixture = JSON.parse(await readFile(join(HISTORY_FIXTURES, file), 'utf8')) as { workflowId: string; history: string };
      const history = proto.temporal.api.history.v1.History.decode(Buffer.from(fixture.history, 'base64'));
      const type = history.events[0]?.workflowExecutionStartedEventAttributes?.workflowType?.name;
      assert.ok(type, `${file}: the history does not start with WorkflowExecutionStarted`);
      const built = history.events.some((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'buildEngine');
      return { file, workflowId: fixture.workflowId, history, kind: type === 'buildModelEngine' ? `${type} (${built ? 'built' : 'cached'})` : type };
    }),
  );
}

async function replay(bundle: WorkflowBundle, fixture: Fixture): Promise<void> {
  try {
    await Worker.runReplayHistory({ workflowBundle: bundle }, fixture.history, fixture.workflowId);
  } catch (error) {
    if (error instanceof Error) error.message = `${fixture.file}: ${error.message}`;
    throw error;
  }
}

describe('workflow replay', () => {
  let fixtures: Fixture[];
  let bundle: WorkflowBundle;
  let unpatched: WorkflowBundle;
  let patched: WorkflowBundle;
  before(async () => {
    [fixtures, bundle, unpatched, patched] = await Promise.all([
      loadFixtures(),
      bundleWorkflows(),
      bundleWorkflows(join(PROJECT_ROOT, 'test/fixtures/unpatched/workflows.ts')),
      bundleWorkflows(join(PROJECT_ROOT, 'test/fixtures/unpatched/patched-workflows.ts')),
    ]);
  });

  it('has a recorded history of every workflow type, and of a cached and a built engine', () => {
    const types = Object.keys(workflows).flatMap((type) => (type === 'buildModelEngine' ? [`${type} (cached)`, `${type} (built)`] : [type]));
    assert.ok(types.length >= 7, `workflow types exported: ${types.join(', ')}`);
    const recorded = new Set(fixtures.map((f) => f.kind));
    assert.deepEqual(types.filter((type) => !recorded.has(type)), [], 'record the missing ones (see the comment at the top)');
  });

  it('replays every committed history without nondeterminism', async () => {
    for (const fixture of fixtures) await replay(bundle, fixture);
  });

  it('fails the replay of a change shipped without patched(), and passes it behind patched()', async () => {
    const deployments = fixtures.filter((f) => f.kind === 'deployTriton');
    assert.ok(deployments.length > 0);
    for (const fixture of deployments) {
      await assert.rejects(replay(unpatched, fixture), (error: unknown) => {
        assert.ok(error instanceof DeterminismViolationError, `${fixture.file}: expected a DeterminismViolationError, got ${String(error)}`);
        assert.match(error.message, /Nondeterminism error/);
        return true;
      });
      await replay(patched, fixture);
    }
  });
});
