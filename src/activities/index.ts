/** All pipeline activities over one target's clients. The worker picks the clients by target. */
import { createAutoscalingActivities, createLoadDrillActivities } from './autoscaling.js';
import { createClusterActivities } from './cluster.js';
import { createDriverActivities } from './driver.js';
import { createEngineActivities } from './engines.js';
import { createHelmActivities } from './helm.js';
import { createPerfActivities } from './perf.js';
import type { KubeObject, TargetClients } from '../ports/systems.js';
import { createReportActivities } from './report.js';
import { createReleaseRecordActivities } from './release-record.js';
import { createRepositoryActivities } from './repository.js';

export interface ActivityOptions {
  driverInstaller: KubeObject;
  jobScripts: KubeObject;
  metricsAdapter: KubeObject[];
  /** How often Job and readiness loops inside an activity look again. */
  pollIntervalMs: number;
}

export function createPipelineActivities(clients: TargetClients, options: ActivityOptions) {
  const { gke, kube, helm, triton, store } = clients;
  const { pollIntervalMs } = options;
  return {
    ...createClusterActivities({ gke }),
    ...createDriverActivities({ kube, driverInstaller: options.driverInstaller }),
    ...createEngineActivities({ kube, store, pollIntervalMs, jobScripts: options.jobScripts }),
    ...createRepositoryActivities({ store, ...(clients.modelSupportFiles ? { modelSupportFiles: clients.modelSupportFiles } : {}) }),
    ...createReleaseRecordActivities({ store }),
    ...createHelmActivities({ helm, triton, chart: clients.tritonChart, heartbeatIntervalMs: Math.max(pollIntervalMs, 1000) }),
    ...createPerfActivities({ kube, triton, pollIntervalMs }),
    ...createAutoscalingActivities({ gke, kube, metricsAdapter: options.metricsAdapter }),
    ...createLoadDrillActivities({ kube, triton, pollIntervalMs }),
    ...createReportActivities({ store, reportDir: clients.reportDir }),
  };
}

export type PipelineActivities = ReturnType<typeof createPipelineActivities>;
