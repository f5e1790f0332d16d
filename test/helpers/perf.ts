/** measureVariant against a cluster whose perf Job has already succeeded with `log`. */
import type { JobStatus, KubeApi } from '../../src/ports/systems.js';
import { createPerfActivities, type MeasureRequest } from '../../src/activities/perf.js';
import { runActivity } from './activity-env.js';

export function measureWithLog(log: string) {
  const kube: KubeApi = {
    apply: async () => undefined,
    get: async () => null,
    delete: async () => undefined,
    listNodes: async () => [],
    jobStatus: async (): Promise<JobStatus> => ({ phase: 'succeeded' }),
    jobLogs: async () => log,
  };
  const { measureVariant } = createPerfActivities({ kube: () => kube, triton: () => ({ ready: async () => ({ ready: true, models: [] }) }), pollIntervalMs: 1 });
  const request: MeasureRequest = {
    run: { deploymentId: 'deploy/p/c/r' },
    cluster: { project: 'p', zone: 'z', cluster: 'c' },
    release: 'triton',
    namespace: 'serving',
    variant: 'mini',
    tritonImage: 'nvcr.io/nvidia/tritonserver:24.08-py3',
    gpuNodePool: 'accel',
    sla: { latencyMs: 10, percentile: 99, minThroughput: 1, concurrency: { start: 1, end: 4, step: 1 }, batchSize: 1, regressionTolerance: 0.1, repeats: 1, falseRollbackRate: 0.01 },
    shapes: [],
  };
  return runActivity(measureVariant, request);
}
