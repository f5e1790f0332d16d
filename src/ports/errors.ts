/**
 * Every error of the pipeline: ApiError, what the ports throw (close to gRPC/GCP codes), and the
 * small shared set of typed failures. Activities translate library errors, exit codes and
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

/** Error codes the ports throw, close to gRPC/GCP codes so real clients map onto them directly. */
export type ApiErrorCode =
  | 'NOT_FOUND'
  | 'ALREADY_EXISTS'
  | 'RESOURCE_EXHAUSTED'
  | 'PERMISSION_DENIED'
  | 'INVALID_ARGUMENT'
  | 'FAILED_PRECONDITION'
  | 'UNAVAILABLE'
  | 'ABORTED'
  | 'DEADLINE_EXCEEDED'
  | 'INTERNAL';

export class ApiError extends Error {
  constructor(
    readonly code: ApiErrorCode,
    message: string,
    readonly output?: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** Translation of port errors (GCP/Kubernetes/Helm/GCS codes) into the shared typed failures. */
export function translateError(error: unknown, action: string): never {
  if (error instanceof ApplicationFailure) throw error;
  if (error instanceof ApiError) {
    const message = `${action}: ${error.message}`;
    const details = error.output === undefined ? [] : [{ output: error.output.slice(-4000) }];
    switch (error.code) {
      case 'RESOURCE_EXHAUSTED':
        throw permanentFailure(FailureType.QuotaExceeded, message, ...details);
      case 'PERMISSION_DENIED':
        throw permanentFailure(FailureType.PermissionDenied, message, ...details);
      case 'INVALID_ARGUMENT':
      case 'NOT_FOUND':
        throw permanentFailure(FailureType.InvalidArgument, message, ...details);
      case 'ALREADY_EXISTS':
      case 'FAILED_PRECONDITION':
        throw permanentFailure(FailureType.ConfigMismatch, message, ...details);
      default:
        throw transientFailure(message, ...details);
    }
  }
  throw transientFailure(`${action}: ${error instanceof Error ? error.message : String(error)}`);
}

/** Runs a port call and translates what it throws. */
export async function calling<T>(action: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    translateError(error, action);
  }
}
