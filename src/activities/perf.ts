/**
 * Chapter "Demonstrate Triton multi instance performance": a perf_analyzer Job off the GPU pool
 * sweeps concurrency against the release; its CSV (collected from the pod log, unlike the sample,
 * which left results in the client pod) is parsed by the pure parser. The serving pods' Triton
 * metrics are scraped before and after the sweep: the autoscaling metric under that load.
 */
import { createHash } from 'node:crypto';
import { Context, log } from '@temporalio/activity';
import { calling, FailureType, permanentFailure, transientFailure } from '../ports/errors.js';
import { extractPerfCsv, JOB_NAMESPACE, renderSweepJob, type SweepWindow } from '../plan/jobs.js';
import type { SlaSpec } from '../spec/schema.js';
import { type LoadMetrics, loadMetricsBetween, type PodScrape } from '../triton/metrics.js';
import { findUnstableConcurrency, parsePerfCsv } from '../triton/perf-output.js';
import type { PerfCutShort, PerfPoint } from '../triton/perf-types.js';
import type { ReleaseRef } from '../ports/run.js';
import { runJob } from './jobs.js';
import type { ClusterRef, KubeApi, TritonProbe } from '../ports/systems.js';

export interface MeasureRequest extends ReleaseRef {
  variant: string;
  tritonImage: string;
  gpuNodePool: string;
  sla: SlaSpec;
  shapes: Array<{ name: string; dims: number[] }>;
  /** perf_analyzer's windows: full (the gate's) unless a screen asks for short ones. */
  window?: SweepWindow;
}

export interface Measurement {
  variant: string;
  points: PerfPoint[];
  job: string;
  /** Triton's own metrics over the sweep (absent where none are exported or a scrape failed). */
  serverMetrics?: LoadMetrics;
  /**
   * perf_analyzer gave up the sweep at this concurrency (no stable measurement within its trials):
   * `points` holds only the lower concurrencies (none when it was the first), so the sweep is
   * inconclusive, not a measurement of the whole range.
   */
  cutShort?: PerfCutShort;
}

const SCRAPE_TIMEOUT_MS = 10_000;

export function createPerfActivities({ kube, triton, pollIntervalMs }: { kube(ref: ClusterRef): KubeApi; triton(ref: ClusterRef): TritonProbe; pollIntervalMs: number }) {
  /** The serving pods' metrics; a failed scrape costs the reading, never the measurement. */
  const scrape = async (request: MeasureRequest): Promise<PodScrape[] | null> => {
    const probe = triton(request.cluster);
    if (probe.scrapeMetrics === undefined) return null;
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        probe.scrapeMetrics({ release: request.release, namespace: request.namespace }),
        new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer within ${SCRAPE_TIMEOUT_MS} ms`)), SCRAPE_TIMEOUT_MS))),
      ]);
    } catch (error) {
      log.warn('Triton metrics scrape failed', { release: request.release, error: (error as Error).message });
      return null;
    } finally {
      clearTimeout(timer);
    }
  };
  return {
    async measureVariant(request: MeasureRequest): Promise<Measurement> {
      const context = Context.current();
      const api = kube(request.cluster);
      const { sla } = request;
      // Named per measurement (run + activity): a retry after a crash re-attaches to the running
      // Job; a retry after a failed sweep replaces it (runJob).
      const execution = context.info.workflowExecution;
      const runKey = execution === undefined ? request.run.deploymentId : `${execution.workflowId}/${execution.runId}`;
      const name = `perf-${createHash('sha256').update(`${runKey}/${context.info.activityId}/${request.variant}`).digest('hex').slice(0, 12)}`;
      const before = await scrape(request);
      await runJob({
        api,
        job: renderSweepJob({
          name,
          namespace: JOB_NAMESPACE,
          release: { name: request.release, namespace: request.namespace },
          variant: request.variant,
          sla,
          shapes: request.shapes,
          tritonImage: request.tritonImage,
          gpuNodePool: request.gpuNodePool,
          window: request.window ?? 'full',
        }),
        pollIntervalMs,
        // A failed sweep is usually the server or the network; another attempt (a new Job) may pass.
        failure: (status, logTail) => transientFailure(`perf_analyzer job ${name} failed${status?.message ? `: ${status.message}` : ''}`, { logTail }),
      });
      const after = before && (await scrape(request));
      const serverMetrics = before && after ? loadMetricsBetween(before, after, request.variant) : null;
      const logs = await calling('read perf job logs', () => api.jobLogs(JOB_NAMESPACE, name));
      try {
        const cutShort = findUnstableConcurrency(logs);
        const csv = extractPerfCsv(logs);
        // Cut short at the first concurrency, perf_analyzer writes no CSV: the Job prints an empty block.
        const points = cutShort !== null && csv === '' ? [] : parsePerfCsv(csv);
        if (cutShort !== null) log.warn('perf_analyzer sweep cut short', { job: name, variant: request.variant, concurrency: cutShort.concurrency, measured: points.length });
        return {
          variant: request.variant,
          points,
          job: name,
          ...(serverMetrics === null ? {} : { serverMetrics }),
          ...(cutShort === null ? {} : { cutShort }),
        };
      } catch (error) {
        throw permanentFailure(FailureType.InvalidArgument, `cannot read perf_analyzer output of ${name}: ${(error as Error).message}`, {
          logTail: logs.slice(-4000),
        });
      }
    },
  };
}
