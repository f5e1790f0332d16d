/**
 * A failed (or aborted) run undoes what it changed, newest first and beyond cancellation, writes
 * its report, and fails with the real cause; a gate failure carries the evidence as its details.
 */
import { ApplicationFailure, CancellationScope, isCancellation, log } from '@temporalio/workflow';
import { FailureType } from '../ports/errors.js';
import type { Outcome, SlaEvidence } from '../ports/results.js';
import { type DeployRun, finish, writeReport } from './deploy-run.js';

/** A failure of the SLA gate (regression or SLA not met), whose details carry the evidence. */
function isGateFailure(cause: unknown): cause is ApplicationFailure & { type: string } {
  return cause instanceof ApplicationFailure && (cause.type === FailureType.SlaRegression || cause.type === FailureType.SlaNotMet);
}

/** A preview-strategy run that failed its gate before the live release was touched. */
function rejectedOnPreview(deploy: DeployRun, cause: unknown): boolean {
  return deploy.strategy === 'preview' && deploy.revision === undefined && isGateFailure(cause);
}

export async function undoAndFail(deploy: DeployRun, error: unknown): Promise<never> {
  deploy.compensating = true;
  const abort = deploy.operator.abort;
  const expired = error instanceof ApplicationFailure && error.type === FailureType.ApprovalExpired;
  const aborted = abort !== null && isCancellation(error);
  const cause = aborted
    ? ApplicationFailure.create({
        type: FailureType.Aborted,
        message: `aborted${abort.by ? ` by ${abort.by}` : ''}${abort.reason ? `: ${abort.reason}` : ''}`,
        nonRetryable: true,
      })
    : error;
  deploy.failureCause = cause instanceof Error ? cause.message : String(cause);
  await CancellationScope.nonCancellable(async () => {
    for (const step of deploy.compensations.reverse()) {
      try {
        await step.undo();
      } catch (undoError) {
        log.error('compensation failed; continuing', { step: step.name, error: String(undoError) });
      }
    }
    const outcome: Outcome = aborted || expired ? 'aborted' : deploy.rollback?.verified ? 'rolled-back' : rejectedOnPreview(deploy, cause) ? 'rejected' : 'failed';
    finish(deploy, outcome);
    await writeReport(deploy, outcome, cause instanceof Error ? cause.message : String(cause)).catch((reportError) =>
      log.warn('report not written', { error: String(reportError) }),
    );
  });
  if (isGateFailure(cause)) {
    const { variants, rollback, bake } = deploy;
    const evidence: SlaEvidence = { variants, rollback, ...(bake.length > 0 ? { bake } : {}) };
    const untouched = rejectedOnPreview(deploy, cause) ? '; validated on the preview, which was removed: the live release never changed' : '';
    throw ApplicationFailure.create({
      type: cause.type,
      message: `${cause.message}${rollback ? `; rolled back to revision ${rollback.toRevision}${rollback.verified ? ` (verified serving ${rollback.servingRepository})` : ' (NOT verified)'}` : untouched}`,
      nonRetryable: true,
      details: [evidence],
    });
  }
  throw cause;
}
