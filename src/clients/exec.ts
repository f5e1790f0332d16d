/**
 * The one seam around execa: arguments as arrays (never shell strings), output captured and
 * attached to failures, the caller's AbortSignal passed to the child process, secrets redacted.
 */
import { execa } from 'execa';

export class ExecError extends Error {
  constructor(
    message: string,
    readonly exitCode: number | undefined,
    readonly stdout: string,
    readonly stderr: string,
  ) {
    super(message);
    this.name = 'ExecError';
  }
}

export interface ExecOptions {
  input?: string;
  env?: Record<string, string>;
  signal?: AbortSignal;
  timeoutMs?: number;
  /** Values that must never appear in errors or logs (tokens, keys). */
  secrets?: string[];
}

export type Exec = (command: string, args: readonly string[], options?: ExecOptions) => Promise<{ stdout: string; stderr: string }>;

function redact(text: string, secrets: readonly string[]): string {
  return secrets.filter((s) => s.length > 0).reduce((out, secret) => out.split(secret).join('<redacted>'), text);
}

export const exec: Exec = async (command, args, options = {}) => {
  const secrets = options.secrets ?? [];
  const result = await execa(command, [...args], {
    ...(options.input === undefined ? {} : { input: options.input }),
    ...(options.env === undefined ? {} : { env: options.env }),
    ...(options.signal === undefined ? {} : { cancelSignal: options.signal }),
    ...(options.timeoutMs === undefined ? {} : { timeout: options.timeoutMs }),
    reject: false,
    stripFinalNewline: true,
  });
  if (result.failed) {
    const stderr = redact(result.stderr, secrets);
    const shown = redact([command, ...args].join(' '), secrets);
    const reason = result.isCanceled ? 'cancelled' : result.timedOut ? 'timed out' : `exit code ${result.exitCode ?? 'none'}`;
    throw new ExecError(`${shown}: ${reason}: ${stderr.split('\n').slice(-5).join(' | ')}`, result.exitCode, redact(result.stdout, secrets), stderr);
  }
  return { stdout: result.stdout, stderr: result.stderr };
};
