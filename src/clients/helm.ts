/**
 * HelmApi over the helm CLI (execa). Values go in on stdin as JSON (never on the command line);
 * upgrade and rollback wait for readiness (--wait), so "deployed" means Triton is serving.
 */
import { ApiError, type ApiErrorCode } from '../ports/errors.js';
import type { HelmApi, HelmRevision, HelmUpgradeRequest } from '../ports/systems.js';
import { type Exec, ExecError } from './exec.js';

export interface HelmCliOptions {
  exec: Exec;
  helm?: string;
  kubeconfig: string;
  kubeContext?: string;
}

export function helmErrorCode(stderr: string): ApiErrorCode {
  if (/release: not found|not found/i.test(stderr) && !/UPGRADE FAILED|INSTALLATION FAILED/.test(stderr)) return 'NOT_FOUND';
  if (/another operation \(install\/upgrade\/rollback\) is in progress/i.test(stderr)) return 'ABORTED';
  if (/forbidden|unauthorized/i.test(stderr)) return 'PERMISSION_DENIED';
  if (/cluster unreachable|connection refused|i\/o timeout|TLS handshake/i.test(stderr)) return 'UNAVAILABLE';
  if (/UPGRADE FAILED|INSTALLATION FAILED|ROLLBACK FAILED|timed out waiting for the condition|context deadline exceeded/i.test(stderr)) return 'FAILED_PRECONDITION';
  if (/values don't meet the specifications|validation|invalid/i.test(stderr)) return 'INVALID_ARGUMENT';
  return 'UNAVAILABLE';
}

export function upgradeArgs(request: HelmUpgradeRequest): string[] {
  return [
    'upgrade', '--install', request.release, request.chart,
    '--namespace', request.namespace, '--create-namespace',
    '--values', '-',
    '--wait', '--timeout', `${request.timeoutSeconds}s`,
    '--history-max', '20',
    '--output', 'json',
  ];
}

const STATUSES: readonly HelmRevision['status'][] = ['deployed', 'superseded', 'failed', 'pending-install', 'pending-upgrade', 'pending-rollback'];

export function parseHistory(json: string): HelmRevision[] {
  const rows = JSON.parse(json) as Array<{ revision: number; status: string; description: string }>;
  return rows.map((r) => ({
    revision: r.revision,
    status: STATUSES.includes(r.status as HelmRevision['status']) ? (r.status as HelmRevision['status']) : 'failed',
    description: r.description,
  }));
}

export function createHelmCli({ exec, helm = 'helm', kubeconfig, kubeContext }: HelmCliOptions): HelmApi {
  const target = ['--kubeconfig', kubeconfig, ...(kubeContext ? ['--kube-context', kubeContext] : [])];

  async function run(args: string[], options: { input?: string; signal?: AbortSignal } = {}): Promise<string> {
    try {
      return (await exec(helm, [...args, ...target], options)).stdout;
    } catch (error) {
      if (error instanceof ExecError) throw new ApiError(helmErrorCode(error.stderr), error.message, error.stderr);
      throw error;
    }
  }

  return {
    async upgradeInstall(request, signal) {
      const out = await run(upgradeArgs(request), { input: JSON.stringify(request.values), ...(signal ? { signal } : {}) });
      return { revision: (JSON.parse(out) as { version: number }).version };
    },

    async history(release, namespace) {
      try {
        return parseHistory(await run(['history', release, '--namespace', namespace, '--max', '256', '--output', 'json']));
      } catch (error) {
        if (error instanceof ApiError && error.code === 'NOT_FOUND') return [];
        throw error;
      }
    },

    async values(release, namespace, revision) {
      const out = await run(['get', 'values', release, '--namespace', namespace, '--revision', String(revision), '--output', 'json']);
      return (JSON.parse(out) as Record<string, unknown> | null) ?? {};
    },

    async rollback(release, namespace, revision, timeoutSeconds, signal) {
      await run(['rollback', release, String(revision), '--namespace', namespace, '--wait', '--timeout', `${timeoutSeconds}s`], signal ? { signal } : {});
    },

    async uninstall(release, namespace) {
      try {
        await run(['uninstall', release, '--namespace', namespace, '--wait']);
      } catch (error) {
        if (!(error instanceof ApiError && error.code === 'NOT_FOUND')) throw error;
      }
    },
  };
}
