/**
 * Determinism: recorded histories of real runs (test/fixtures/histories: workflow ID + base64 protobuf history, recorded by running the
 * integration tests with RECORD_HISTORIES=1) replay against today's workflow code.
 */
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import proto from '@temporalio/proto';
import { Worker, type WorkflowBundle } from '@temporalio/worker';
import { bundleWorkflows, HISTORY_FIXTURES } from '../helpers/temporal.js';

describe('workflow replay', () => {
  let bundle: WorkflowBundle;
  before(async () => {
    bundle = await bundleWorkflows();
  });

  it('replays every committed history without nondeterminism', async () => {
    const files = (await readdir(HISTORY_FIXTURES)).filter((f) => f.endsWith('.json')).sort();
    assert.ok(files.length >= 3, `expected recorded histories in ${HISTORY_FIXTURES}`);
    for (const file of files) {
      const fixture = JSON.parse(await readFile(join(HISTORY_FIXTURES, file), 'utf8')) as { workflowId: string; history: string };
      const history = proto.temporal.api.history.v1.History.decode(Buffer.from(fixture.history, 'base64'));
      await Worker.runReplayHistory({ workflowBundle: bundle }, history, fixture.workflowId);
    }
  });
});
