/**
 * Running a Kubernetes Job from an activity: create it unless it exists (a retry after a crash or
 * a worker restart re-attaches), heartbeat its phase until it ends, delete it when the workflow
 * cancels the activity.
 */
import { Context } from '@temporalio/activity';
import type { ApplicationFailure } from '@temporalio/common';
import { calling } from '../ports/errors.js';
import { JOB_NAMESPACE } from '../plan/jobs.js';
import type { JobStatus, KubeApi, KubeObject } from '../ports/systems.js';

export interface JobRun {
  api: KubeApi;
  job: KubeObject;
  /** Objects the Job needs in its namespace (e.g. its scripts ConfigMap), applied before it. */
  prerequisites?: KubeObject[];
  pollIntervalMs: number;
  /** The failure to raise when the Job fails (or vanishes), given its status and log tail. */
  failure(status: JobStatus | null, logTail: string): ApplicationFailure;
}

/** Resolves when the Job succeeded; a failed Job left by an earlier attempt is replaced. */
export async function runJob({ api, job, prerequisites = [], pollIntervalMs, failure }: JobRun): Promise<void> {
  const context = Context.current();
  const name = job.metadata.name;
  const existing = await calling('read job', () => api.jobStatus(JOB_NAMESPACE, name));
  if (existing === null || existing.phase === 'failed') {
    if (existing !== null) await calling('delete failed job', () => api.delete('batch/v1', 'Job', JOB_NAMESPACE, name));
    await calling('create job namespace', () => api.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: JOB_NAMESPACE } }));
    for (const object of prerequisites) {
      await calling(`apply ${object.kind} ${object.metadata.name}`, () => api.apply({ ...object, metadata: { ...object.metadata, namespace: JOB_NAMESPACE } }));
    }
    await calling(`create job ${name}`, () => api.apply({ ...job, metadata: { ...job.metadata, namespace: JOB_NAMESPACE } }));
  }
  try {
    for (;;) {
      const status = await calling('read job', () => api.jobStatus(JOB_NAMESPACE, name));
      if (status?.phase === 'succeeded') return;
      if (status === null || status.phase === 'failed') {
        const logs = await api.jobLogs(JOB_NAMESPACE, name).catch(() => '(no logs)');
        throw failure(status, logs.slice(-4000));
      }
      // Only a Job still to wait for is news to the server (a heartbeat is one request).
      context.heartbeat({ job: name, phase: status.phase });
      await context.sleep(pollIntervalMs);
    }
  } catch (error) {
    // Only the workflow's cancellation ends the Job. A worker shutting down (SIGTERM: rolling
    // restart, node drain, Ctrl-C) also cancels its activities, with reason WORKER_SHUTDOWN, as do
    // timeouts (TIMED_OUT) and pauses: the Job keeps running and the next attempt re-attaches to it.
    if (context.cancellationDetails?.cancelRequested === true) await api.delete('batch/v1', 'Job', JOB_NAMESPACE, name).catch(() => undefined);
    throw error;
  }
}
