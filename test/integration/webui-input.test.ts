/**
 * Malformed input from the Web UI: every workflow type, started as the Web UI starts it (the type's
 * name and JSON arguments, or none), with input of the wrong shape must fail the run at once as
 * InvalidSpec. A TypeError in workflow code would instead fail the workflow task, retried forever:
 * the run would stay Running and hold its workflow ID (for a deployment, the release's).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { FailureType } from '../../src/ports/errors.js';
import { REOPTIMIZE_INPUT_SHAPE, REOPTIMIZE_REQUEST_SHAPE } from '../../src/spec/reoptimize-request.js';
import { CANDIDATE_INPUT_SHAPE, DEPLOY_INPUT_SHAPE, ENGINE_BUILD_INPUT_SHAPE, RECORD_INPUT_SHAPE } from '../../src/spec/validate.js';
import { env, TASK_QUEUE, useHarness } from '../helpers/harness.js';
import { unique } from '../helpers/temporal.js';

useHarness();

/** Well past a failing first workflow task, far below a task retried in a loop being noticed. */
const DEADLINE_MS = 10_000;

const NO_INPUT = Symbol('no input');
const MALFORMED: Array<[string, unknown]> = [
  ['no input', NO_INPUT],
  ['null', null],
  ['an empty string', ''],
  ['an empty array', []],
  ['a number', 42],
  ['an empty object', {}],
  ['a string spec', { spec: 'text' }],
  ['a null spec', { spec: null }],
];

/** Each workflow type and the shape its input must have. Those whose input is a wrapper reject any other shape in one line. */
const WORKFLOWS: Array<{ type: string; shape: string; wrapper: boolean }> = [
  { type: 'deployTriton', shape: DEPLOY_INPUT_SHAPE, wrapper: true },
  { type: 'reoptimizeTriton', shape: REOPTIMIZE_INPUT_SHAPE, wrapper: true },
  { type: 'reoptimizeRelease', shape: REOPTIMIZE_REQUEST_SHAPE, wrapper: false },
  { type: 'measureServingCandidate', shape: CANDIDATE_INPUT_SHAPE, wrapper: false },
  { type: 'buildModelEngine', shape: ENGINE_BUILD_INPUT_SHAPE, wrapper: false },
  { type: 'readReleaseRecord', shape: RECORD_INPUT_SHAPE, wrapper: false },
];

/** The run's outcome, or 'running' when it has none by the deadline (then it is terminated, with the workflow task's failure). */
async function outcomeWithin(handle: WorkflowHandle, ms: number): Promise<unknown> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<'running'>((resolve) => (timer = setTimeout(() => resolve('running'), ms)));
  try {
    return await Promise.race([handle.result().then((value: unknown) => ({ completed: value }), (error: unknown) => error), deadline]);
  } finally {
    clearTimeout(timer);
  }
}

async function workflowTaskFailure(handle: WorkflowHandle): Promise<string> {
  const history = await handle.fetchHistory();
  const failed = history.events?.filter((e) => e.workflowTaskFailedEventAttributes).at(-1);
  return failed?.workflowTaskFailedEventAttributes?.failure?.message ?? 'no workflow task failure recorded';
}

describe('malformed Web UI input', () => {
  for (const { type, shape, wrapper } of WORKFLOWS) {
    it(`fails ${type} at once as InvalidSpec for each malformed input`, async () => {
      const runs = await Promise.all(
        MALFORMED.map(async ([what, input]) => ({
          what,
          input,
          handle: await env.client.workflow.start(type, {
            workflowId: unique(`webui-${type}`),
            taskQueue: TASK_QUEUE,
            args: input === NO_INPUT ? [] : [input],
          }),
        })),
      );
      const problems: string[] = [];
      await Promise.all(
        runs.map(async ({ what, input, handle }) => {
          const outcome = await outcomeWithin(handle, DEADLINE_MS);
          if (outcome === 'running') {
            const cause = await workflowTaskFailure(handle);
            await handle.terminate('test: still running past its deadline');
            problems.push(`${what}: still running after ${DEADLINE_MS} ms; its workflow task fails with: ${cause}`);
            return;
          }
          if (!(outcome instanceof WorkflowFailedError)) return problems.push(`${what}: expected the run to fail, got ${JSON.stringify(outcome)}`);
          const failure = outcome.cause;
          if (!(failure instanceof ApplicationFailure)) return problems.push(`${what}: expected an ApplicationFailure, got ${String(failure)}`);
          if (failure.type !== FailureType.InvalidSpec || !failure.nonRetryable) problems.push(`${what}: expected a non-retryable InvalidSpec, got ${failure.type} (nonRetryable ${failure.nonRetryable})`);
          const plain = input === NO_INPUT || typeof input !== 'object' || input === null || Array.isArray(input);
          const expected = wrapper || plain ? `the input must be ${shape}: got ${JSON.stringify(input === NO_INPUT ? undefined : input) ?? 'undefined'}` : undefined;
          if (expected !== undefined && failure.message !== expected) problems.push(`${what}: message ${JSON.stringify(failure.message)}, expected ${JSON.stringify(expected)}`);
          if (expected === undefined && !/^invalid [a-z -]+:\n {2}\S/.test(failure.message)) problems.push(`${what}: message ${JSON.stringify(failure.message)} names no field`);
          return undefined;
        }),
      );
      assert.deepEqual(problems, []);
    });
  }
});
