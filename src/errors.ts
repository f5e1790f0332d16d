/**
 * The small shared set of typed failures. Activities translate library errors, exit codes and
 * HTTP statuses into these at their boundary; workflows and clients match on the type names.
 */
import { ApplicationFailure, ApplicationFailureCategory } from '@temporalio/common';

export const FailureType = {
  InvalidSpec: 'InvalidSpec',
  QuotaExceeded: 'QuotaExceeded',
  PermissionDenied: 'PermissionDenied',
  InvalidArgument: 'InvalidArgument',
  ConfigMismatch: 'ConfigMismatch',
  EngineBuildFailed: 'EngineBuildFailed',
  ReleaseFailed: 'ReleaseFailed',
  SlaNotMet: 'SlaNotMet',
  SlaRegression: 'SlaRegression',
  Aborted: 'Aborted',
  ApprovalExpired: 'ApprovalExpired',
  NotReady: 'NotReady',
  Transient: 'TransientFailure',
} as const;
export type FailureTypeName = (typeof FailureType)[keyof typeof FailureType];

/** Types Temporal must not retry: retrying cannot fix them. */
export const NON_RETRYABLE_TYPES: readonly FailureTypeName[] = [
  FailureType.InvalidSpec,
  FailureType.QuotaExceeded,
  FailureType.PermissionDenied,
  FailureType.InvalidArgument,
  FailureType.ConfigMismatch,
  FailureType.EngineBuildFailed,
  FailureType.SlaNotMet,
  FailureType.SlaRegression,
  FailureType.Aborted,
  FailureType.ApprovalExpired,
];

export function permanentFailure(type: FailureTypeName, message: string, ...details: unknown[]): ApplicationFailure {
  return ApplicationFailure.create({ type, message, nonRetryable: true, details });
}

export function transientFailure(message: string, ...details: unknown[]): ApplicationFailure {
  return ApplicationFailure.create({ type: FailureType.Transient, message, nonRetryable: false, details });
}

/** A readiness poll that is not there yet: retried at a fixed interval, not an error worth logging. */
export function notReady(message: string): ApplicationFailure {
  return ApplicationFailure.create({
    type: FailureType.NotReady,
    message,
    nonRetryable: false,
    category: ApplicationFailureCategory.BENIGN,
  });
}

/** The first ApplicationFailure in a failure's cause chain (a workflow failure wraps activity failures). */
export function applicationFailureIn(error: unknown): ApplicationFailure | undefined {
  for (let current = error; current instanceof Error; current = current.cause) {
    if (current instanceof ApplicationFailure) return current;
  }
  return undefined;
}
