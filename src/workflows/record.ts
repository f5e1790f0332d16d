/** Reads a release's record through its target's worker, which holds the bucket's credentials (CLI `status`). */
import { workflowInfo } from '@temporalio/workflow';
import { FailureType, permanentFailure } from '../ports/errors.js';
import type { ReleaseKey, ReleaseRecord } from '../release/record.js';
import type { Target } from '../spec/schema.js';
import { invalidInputMessage, RECORD_INPUT_SHAPE, RecordInputSchema, validateWorkflowInput } from '../spec/validate.js';
import { activitiesFor } from './activity-profiles.js';

export async function readReleaseRecord(input: { target: Target; bucket: string; key: ReleaseKey }): Promise<ReleaseRecord> {
  const checked = validateWorkflowInput(RecordInputSchema, RECORD_INPUT_SHAPE, input);
  if (!checked.ok) throw permanentFailure(FailureType.InvalidSpec, invalidInputMessage('invalid release-record request', checked.errors), checked.errors);
  return activitiesFor(input.target).loadReleaseRecord({ run: { deploymentId: workflowInfo().workflowId }, bucket: input.bucket, key: input.key });
}
