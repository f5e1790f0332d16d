/** Translation of port errors (GCP/Kubernetes/Helm/GCS codes) into the shared typed failures. */
import { ApplicationFailure } from '@temporalio/common';
import { FailureType, permanentFailure, transientFailure } from '../errors.js';
import { ApiError } from './ports.js';

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
