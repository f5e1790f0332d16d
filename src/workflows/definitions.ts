/** Messages and shared shapes of the workflows (clients import these too). */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { ApprovalRequest, DeployProgress, OperatorAnswer, OperatorRequest } from '../ports/results.js';

export const progressQuery = defineQuery<DeployProgress>('progress');
/** Approves the validated release for promotion; refused unless this run awaits approval. */
export const approveUpdate = defineUpdate<OperatorAnswer, [OperatorRequest]>('approveRelease');
/** Aborts the run (the preview is removed, an upgraded release rolled back); refused once it has ended. */
export const abortUpdate = defineUpdate<OperatorAnswer, [OperatorRequest]>('abortRun');
/** Runs started before approvals became Updates still answer these signals. */
export const approveSignal = defineSignal<[ApprovalRequest?]>('approve');
export const abortSignal = defineSignal<[ApprovalRequest?]>('abort');
