/**
 * Chapter "Demonstrate Triton multi instance performance": a perf_analyzer Job off the GPU pool
 * sweeps concurrency against the release; its CSV (collected from the pod log, unlike the sample,
 * which left results in the client pod) is parsed by the pure parser.
 */
import { createHash } from 'node:crypto';
import { Context } from '@temporalio/activity';
import { FailureType, permanentFailure, transientFailure } from '../errors.js';
import { extractPerfCsv, renderPerfJob, tritonSdkImageFor } from '../plan/jobs.js';
import type { SlaSpec } from '../spec/schema.js';
import { buildPerfAnalyzerArgs, parsePerfCsv } from '../triton/perf-output.js';
import type { PerfPoint } from '../triton/perf-types.js';
import type { ReleaseRef } from './helm.js';
import { JOB_NAMESPACE } from './engines.js';
import { calling } from './errors.js';
import type { ClusterRef, KubeApi } from './ports.js';

export interface MeasureRequest extends ReleaseRef {
  variant: string;
  tritonImage: string;
  gpuNodePool: string;
  sla: SlaSpec;
  shapes: Array<{ name: string; dims: number[] }>;
}

export interface Measurement {
  variant: string;
  points: PerfPoint[];
  job: string;
}

export function createPerfActivities({ kube, pollIntervalMs }: { kube(ref: ClusterRef): KubeApi; pollIntervalMs: number }) {
  return {
    async measureVariant(request: MeasureRequest): Promise<Measurement> {
      const context = Context.current();
      const api = kube(request.cluster);
      const { sla } = request;
      const { concurrency } = sla;
      // One Job per attempt: a retry after a failed sweep must not read the failed run's log,
      // but a retry after a worker crash re-attaches to the Job it heartbeated.
      const resumed = (context.info.heartbeatDetails as { job?: string } | undefined)?.job;
      const execution = context.info.workflowExecution;
      // Unique per measurement (run + activity), stable across this activity's retries.
      const runKey = execution === undefined ? request.run.deploymentId : `${execution.workflowId}/${execution.runId}`;
      const digest = createHash('sha256').update(`${runKey}/${context.info.activityId}/${request.variant}`).digest('hex').slice(0, 10);
      const name = resumed ?? `perf-${digest}-${context.info.attempt}`;
      if ((await calling('read perf job', () => api.jobStatus(JOB_NAMESPACE, name))) === null) {
        const args = buildPerfAnalyzerArgs({
          model: request.variant,
          url: `${request.release}.${request.namespace}.svc.cluster.local:8001`,
          protocol: 'grpc',
          batchSize: sla.batchSize,
          concurrency,
          percentile: sla.percentile,
          measurementIntervalMs: 2000,
          shapes: request.shapes,
          csvPath: '/tmp/perf.csv',
          maxTrials: 10,
        });
        const job = renderPerfJob({
          name,
          namespace: JOB_NAMESPACE,
          image: tritonSdkImageFor(request.tritonImage),
          args,
          csvPath: '/tmp/perf.csv',
          avoidNodePool: request.gpuNodePool,
          env: {
            PERF_RELEASE: request.release,
            PERF_NAMESPACE: request.namespace,
            PERF_MODEL: request.variant,
            PERF_BATCH: String(sla.batchSize),
            PERF_CONCURRENCY: `${concurrency.start}:${concurrency.end}:${concurrency.step}`,
            PERF_PERCENTILE: String(sla.percentile),
          },
        });
        await calling('create job namespace', () => api.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: JOB_NAMESPACE } }));
        await calling('create perf job', () => api.apply(job));
      }
      try {
        for (;;) {
          const status = await calling('read perf job', () => api.jobStatus(JOB_NAMESPACE, name));
          context.heartbeat({ job: name, phase: status?.phase ?? 'missing' });
          if (status?.phase === 'succeeded') break;
          if (status === null || status.phase === 'failed') {
            const logs = await api.jobLogs(JOB_NAMESPACE, name).catch(() => '');
            // A failed sweep is usually the server or network; another attempt (a new Job) may pass.
            throw transientFailure(`perf_analyzer job ${name} failed${status?.message ? `: ${status.message}` : ''}`, { logTail: logs.slice(-4000) });
          }
          await context.sleep(pollIntervalMs);
        }
      } catch (error) {
        if (context.cancellationSignal.aborted) await api.delete('batch/v1', 'Job', JOB_NAMESPACE, name).catch(() => undefined);
        throw error;
      }
      const logs = await calling('read perf job logs', () => api.jobLogs(JOB_NAMESPACE, name));
      try {
        return { variant: request.variant, points: parsePerfCsv(extractPerfCsv(logs)), job: name };
      } catch (error) {
        throw permanentFailure(FailureType.InvalidArgument, `cannot read perf_analyzer output of ${name}: ${(error as Error).message}`, {
          logTail: logs.slice(-4000),
        });
      }
    },
  };
}
