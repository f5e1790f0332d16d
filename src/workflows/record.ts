/** Reads a release's record through its target's worker, which holds the bucket's credentials (CLI `status`). */
import { workflowInfo } from '@temporalio/workflow';
import type { ReleaseKey, ReleaseRecord } from '../release/record.js';
import type { Target } from '../spec/schema.js';
import { activitiesFor } from './activities.js';

export async function readReleaseRecord(input: { target: Target; bucket: string; key: ReleaseKey }): Promise<ReleaseRecord> {
  return activitiesFor(input.target).loadReleaseRecord({ run: { deploymentId: workflowInfo().workflowId }, bucket: input.bucket, key: input.key });
}
