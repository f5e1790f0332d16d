/**
 * Activity proxies as a few named profiles: quick API calls, readiness polls (a benign NotReady
 * retried at a fixed interval), long heartbeated Jobs, and Helm waits. Timings depend on the
 * target: the simulator answers in seconds, GKE in minutes.
 */
import { proxyActivities } from '@temporalio/workflow';
import type { PipelineActivities } from '../activities/index.js';
import { NON_RETRYABLE_TYPES } from '../ports/errors.js';
import type { Target } from '../spec/schema.js';

const nonRetryableErrorTypes = [...NON_RETRYABLE_TYPES];

export function activitiesFor(target: Target) {
  // The simulator and the local cluster answer in seconds; GKE in minutes.
  const simulated = target !== 'gke';
  const quick = proxyActivities<PipelineActivities>({
    startToCloseTimeout: '2 minutes',
    retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s', maximumAttempts: 6, nonRetryableErrorTypes },
  });
  const poll = proxyActivities<PipelineActivities>({
    startToCloseTimeout: '1 minute',
    retry: {
      initialInterval: simulated ? '250ms' : '10s',
      backoffCoefficient: 1,
      // Bounded: 45 minutes of polling on GKE, enough for a cluster and a node pool.
      maximumAttempts: simulated ? 2400 : 270,
      nonRetryableErrorTypes,
    },
  });
  const job = proxyActivities<PipelineActivities>({
    startToCloseTimeout: '4 hours',
    heartbeatTimeout: simulated ? '5s' : '2 minutes',
    retry: { initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 4, nonRetryableErrorTypes },
  });
  // Above the longest `helm --wait` (plan/helm-wait.ts MAX_HELM_WAIT_SECONDS); heartbeats catch a lost worker.
  const helm = proxyActivities<PipelineActivities>({
    startToCloseTimeout: simulated ? '20 minutes' : '65 minutes',
    heartbeatTimeout: simulated ? '5s' : '1 minute',
    retry: { initialInterval: '5s', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 3, nonRetryableErrorTypes },
  });
  // GKE deletes take minutes each and one waits for the other's operation: heartbeated, long.
  const teardown = proxyActivities<PipelineActivities>({
    startToCloseTimeout: simulated ? '5 minutes' : '30 minutes',
    heartbeatTimeout: simulated ? '5s' : '2 minutes',
    retry: { initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 5, nonRetryableErrorTypes },
  });
  // A drill holds a load and watches for up to scaleUp + scaleDown timeouts; heartbeats carry its looks.
  const drill = proxyActivities<PipelineActivities>({
    startToCloseTimeout: '4 hours',
    heartbeatTimeout: simulated ? '30s' : '2 minutes',
    retry: { initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 4, nonRetryableErrorTypes },
  });
  return {
    // Polls: turning on an adopted cluster's monitoring waits out another GKE operation on it.
    ensureCluster: poll.ensureCluster,
    ensureNodePool: poll.ensureNodePool,
    ensureGpuDriver: quick.ensureGpuDriver,
    resolveEngine: quick.resolveEngine,
    publishRepository: quick.publishRepository,
    deleteRepositoryVersionIfUnserved: quick.deleteRepositoryVersionIfUnserved,
    loadBaseline: quick.loadBaseline,
    saveBaseline: quick.saveBaseline,
    loadReleaseRecord: quick.loadReleaseRecord,
    recordReleaseChange: quick.recordReleaseChange,
    describeRelease: quick.describeRelease,
    enableAutoscaling: poll.enableAutoscaling,
    uninstallRelease: quick.uninstallRelease,
    deleteNodePool: teardown.deleteNodePool,
    deleteCluster: teardown.deleteCluster,
    writeReport: quick.writeReport,
    awaitClusterRunning: poll.awaitClusterRunning,
    awaitNodePoolRunning: poll.awaitNodePoolRunning,
    awaitAllocatableGpus: poll.awaitAllocatableGpus,
    awaitReleaseServing: poll.awaitReleaseServing,
    buildEngine: job.buildEngine,
    measureVariant: job.measureVariant,
    runLoadDrill: drill.runLoadDrill,
    upgradeRelease: helm.upgradeRelease,
    rollbackRelease: helm.rollbackRelease,
    recoverRelease: helm.recoverRelease,
  };
}
