/**
 * The operator's side of a deployment: the progress query, approve and abort (Updates that name
 * their run; signals for runs started before them), and the wait for an approval.
 */
import { ApplicationFailure, condition, log, setHandler } from '@temporalio/workflow';
import { FailureType } from '../ports/errors.js';
import type { OperatorAnswer } from '../ports/results.js';
import { requireThisRun } from './common.js';
import { abortSignal, abortUpdate, approveSignal, approveUpdate, progressQuery } from './definitions.js';
import type { DeployRun } from './deploy-run.js';

export function handleOperator(deploy: DeployRun): void {
  const { spec, info, progress, operator, repositoryVersion } = deploy;
  setHandler(progressQuery, () => progress);
  if (!deploy.validatesBeforeTraffic) {
    // Runs started before approvals became Updates answer the signals, unchecked.
    setHandler(approveSignal, (request) => {
      operator.approval = request ?? {};
    });
    setHandler(abortSignal, (request) => {
      operator.abort = request ?? {};
      deploy.main.cancel();
    });
    return;
  }
  const answer = (): OperatorAnswer => ({ runId: info.runId, repositoryVersion, stage: progress.stage });
  const thisRun = `workflow ${info.workflowId} is running ${info.runId} (repository version ${repositoryVersion})`;
  setHandler(
    approveUpdate,
    (request) => {
      operator.approval = request;
      return answer();
    },
    {
      validator: (request) => {
        requireThisRun(request, thisRun);
        if (!spec.approval.required) throw new Error(`nothing to approve: run ${info.runId} does not ask for approval (approval.required: false)`);
        if (!progress.awaitingApproval || deploy.compensating || operator.abort !== null) {
          throw new Error(`nothing to approve: run ${info.runId} is ${progress.outcome === 'running' ? `at stage ${progress.stage ?? 'start'}; approval is asked once validation has passed` : progress.outcome}`);
        }
      },
    },
  );
  setHandler(
    abortUpdate,
    (request) => {
      operator.abort = request;
      deploy.main.cancel();
      return answer();
    },
    {
      validator: (request) => {
        requireThisRun(request, thisRun);
        if (progress.outcome !== 'running' || deploy.compensating || operator.abort !== null) {
          throw new Error(`nothing to abort: run ${info.runId} is ${progress.outcome === 'running' ? 'already undoing its work' : progress.outcome}`);
        }
        if (deploy.promoted) throw new Error(`nothing to abort: run ${info.runId} has promoted ${repositoryVersion}; deploy the previous spec to go back`);
      },
    },
  );
}

/** A validated run waits here for an approval that names it; unapproved, it expires and aborts. */
export async function awaitApproval({ spec, info, progress, operator, repositoryVersion, strategy, validatesBeforeTraffic }: DeployRun): Promise<void> {
  if (!spec.approval.required) return;
  progress.awaitingApproval = true;
  if (validatesBeforeTraffic) {
    const timeoutMs = spec.approval.timeoutSeconds * 1000;
    progress.approval = { runId: info.runId, repositoryVersion, expiresAt: new Date(Date.now() + timeoutMs).toISOString() };
    let approved: boolean;
    try {
      approved = await condition(() => operator.approval !== null, timeoutMs);
    } finally {
      progress.awaitingApproval = false;
      delete progress.approval;
    }
    if (!approved) {
      throw ApplicationFailure.create({
        type: FailureType.ApprovalExpired,
        message: `not approved within ${spec.approval.timeoutSeconds} s (approval.timeoutSeconds); aborted, ${strategy === 'preview' ? 'the preview removed and the live release unchanged' : 'what the run changed undone'}`,
        nonRetryable: true,
      });
    }
  } else {
    await condition(() => operator.approval !== null);
    progress.awaitingApproval = false;
  }
  log.info('promotion approved', { by: operator.approval?.by });
}
