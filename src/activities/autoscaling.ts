/**
 * Chapter "Test out auto scaling": an autoscaling/v2 HPA on a release-scoped metric, node-pool
 * autoscaling from the spec; and the chapter's load test as a drill that watches both act.
 */
import { createHash } from 'node:crypto';
import { Context } from '@temporalio/activity';
import { clusterMonitoringFor, METRIC_WINDOW_SECONDS, renderHpa, tritonDeploymentName } from '../plan/helm-values.js';
import { JOB_NAMESPACE } from '../plan/jobs.js';
import { type DrillBaseline, type DrillSample, drillVariant, hpaViewOf, type HpaStatusJson, loadHeldEnough, type LoadDrillResult, renderLoadJob, scaledBack, scaledUp, summarizeDrill } from '../plan/load-drill.js';
import type { DeploymentSpec } from '../spec/schema.js';
import type { ClusterScoped } from '../ports/run.js';
import { calling, FailureType, permanentFailure } from '../ports/errors.js';
import { callingWhenClusterIdle, ensureClusterMonitoring } from './cluster.js';
import type { ClusterRef, GkeApi, KubeApi, KubeObject, TritonProbe } from '../ports/systems.js';

export interface AutoscalingDeps {
  gke: GkeApi;
  kube(ref: ClusterRef): KubeApi;
  /** deploy/manifests/custom-metrics-adapter.yaml: serves the HPA's metric from Cloud Monitoring. */
  metricsAdapter: KubeObject[];
}

export interface AutoscalingResult {
  hpa: string | null;
  /** The GKE operation that turned on the monitoring the HPA's metric needs (managed DCGM); absent when it was on. */
  monitoringOperation?: string;
}

/** The least time the HPA must want no more pods before the load stops (two of GKE's 15 s syncs). */
const STEADY_SECONDS = 30;

/** What a drill's attempt has done so far: a retry (a worker restart) carries on from it. */
interface DrillProgress {
  job: string;
  startedAtMs: number;
  baseline: DrillBaseline;
  samples: DrillSample[];
  /** Seconds from the start at which the load was stopped. */
  loadSeconds?: number;
}

export interface LoadDrillRequest extends ClusterScoped {
  spec: DeploymentSpec;
  /** The live repository every serving pod must serve. */
  repositoryUri: string;
}

export function createAutoscalingActivities({ gke, kube, metricsAdapter }: AutoscalingDeps) {
  return {
    async enableAutoscaling({ cluster, spec }: ClusterScoped & { spec: DeploymentSpec }): Promise<AutoscalingResult> {
      const { nodePool } = spec;
      // Before the pool's update: GKE runs one operation at a time, so the pool's update is refused
      // (not ready yet, retried) while this one runs, and the retry finds the components on.
      const monitoring = clusterMonitoringFor(spec);
      const monitoringOperation = monitoring === null ? null : await ensureClusterMonitoring(gke, cluster, monitoring);
      await callingWhenClusterIdle('set node pool autoscaling', () =>
        gke.setNodePoolAutoscaling(cluster, nodePool.name, nodePool.minNodes, nodePool.maxNodes),
      );
      const operation = monitoringOperation === null ? {} : { monitoringOperation };
      if (!spec.autoscaling.enabled) return { hpa: null, ...operation };
      const api = kube(cluster);
      if (spec.autoscaling.installMetricsAdapter) {
        for (const object of metricsAdapter) await calling(`apply metrics adapter ${object.kind} ${object.metadata.name}`, () => api.apply(object));
      }
      const hpa = renderHpa(spec);
      await calling('apply HPA', () => api.apply(hpa));
      return { hpa: `${spec.release.namespace}/${hpa.metadata.name}`, ...operation };
    },
  };
}

export interface LoadDrillDeps {
  kube(ref: ClusterRef): KubeApi;
  triton(ref: ClusterRef): TritonProbe;
  /** How often the drill looks at the release, its HPA and its pool (2 s at the least). */
  pollIntervalMs: number;
}

export function createLoadDrillActivities({ kube, triton, pollIntervalMs }: LoadDrillDeps) {
  /** One look at the release, its HPA and its GPU pool. */
  async function look(api: KubeApi, probe: TritonProbe, { spec, repositoryUri }: LoadDrillRequest, at: number, phase: DrillSample['phase']): Promise<DrillSample> {
    const { name, namespace } = spec.release;
    const [deployment, nodes, hpa, serving] = await Promise.all([
      calling('read the Triton Deployment', () => api.get('apps/v1', 'Deployment', namespace, tritonDeploymentName(name))),
      calling('list the GPU pool\'s nodes', () => api.listNodes({ 'cloud.google.com/gke-nodepool': spec.nodePool.name })),
      calling('read the HPA', () => api.get('autoscaling/v2', 'HorizontalPodAutoscaler', namespace, name)),
      calling('probe Triton', () => probe.ready({ release: name, namespace })),
    ]);
    const replicas = (deployment?.['spec'] as { replicas?: number } | undefined)?.replicas ?? 0;
    const readyReplicas = (deployment?.['status'] as { readyReplicas?: number } | undefined)?.readyReplicas ?? 0;
    return {
      at,
      phase,
      replicas,
      readyReplicas,
      nodes: nodes.filter((n) => n.ready).length,
      serving: serving.ready && serving.modelRepository === repositoryUri,
      hpa: hpaViewOf(hpa as { status?: HpaStatusJson } | null),
    };
  }

  return {
    /**
     * The load drill: a perf_analyzer Job holds the load until the HPA has what it wants and every
     * pod serves the live repository (the pool growing where the pods need GPUs), then it is
     * deleted and the drill watches the release and the pool go back. Heartbeats carry the looks,
     * so a retry on another worker goes on from the last one.
     */
    async runLoadDrill(request: LoadDrillRequest): Promise<LoadDrillResult> {
      const context = Context.current();
      const { spec, cluster } = request;
      const drill = spec.autoscaling.loadDrill;
      if (drill === undefined) throw permanentFailure(FailureType.InvalidSpec, 'the spec asks for no load drill (autoscaling.loadDrill)');
      const api = kube(cluster);
      const probe = triton(cluster);
      const interval = Math.max(pollIntervalMs, 2000);
      const execution = context.info.workflowExecution;
      const runKey = execution === undefined ? request.run.deploymentId : `${execution.workflowId}/${execution.runId}`;
      const job = `load-${createHash('sha256').update(`${runKey}/${context.info.activityId}`).digest('hex').slice(0, 12)}`;
      const resumed = context.info.heartbeatDetails as DrillProgress | undefined;
      let progress: DrillProgress;
      if (resumed?.job === job) progress = resumed;
      else {
        const first = await look(api, probe, request, 0, 'load');
        progress = { job, startedAtMs: Date.now(), baseline: { replicas: first.replicas, nodes: first.nodes }, samples: [] };
      }
      const now = () => (Date.now() - progress.startedAtMs) / 1000;
      const hold = { steadySeconds: Math.max(STEADY_SECONDS, METRIC_WINDOW_SECONDS[spec.autoscaling.metric]), maxReplicas: spec.autoscaling.maxReplicas };
      const record = async (phase: DrillSample['phase']) => {
        const sample = await look(api, probe, request, now(), phase);
        progress.samples.push(sample);
        context.heartbeat(progress);
        return sample;
      };

      if (progress.loadSeconds === undefined) {
        if ((await calling('read the load job', () => api.jobStatus(JOB_NAMESPACE, job))) === null) {
          await calling('create job namespace', () => api.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: JOB_NAMESPACE } }));
          const manifest = renderLoadJob({
            name: job,
            namespace: JOB_NAMESPACE,
            release: { name: spec.release.name, namespace: spec.release.namespace },
            variant: drillVariant(spec),
            concurrency: drill.concurrency,
            holdSeconds: drill.scaleUpTimeoutSeconds,
            tritonImage: spec.release.image,
            gpuNodePool: spec.nodePool.name,
          });
          await calling(`create load job ${job}`, () => api.apply(manifest));
        }
        for (;;) {
          const sample = await record('load');
          if (loadHeldEnough(progress.baseline, progress.samples, hold)) break;
          if (sample.at >= drill.scaleUpTimeoutSeconds) break;
          const status = await calling('read the load job', () => api.jobStatus(JOB_NAMESPACE, job));
          if (status?.phase === 'failed') {
            const logs = await api.jobLogs(JOB_NAMESPACE, job).catch(() => '(no logs)');
            throw permanentFailure(FailureType.InvalidArgument, `the drill's load job ${job} failed${status.message ? `: ${status.message}` : ''}`, { logTail: logs.slice(-4000) });
          }
          if (status === null || status.phase === 'succeeded') break;
          await context.sleep(interval);
        }
        await calling(`delete load job ${job}`, () => api.delete('batch/v1', 'Job', JOB_NAMESPACE, job));
        progress.loadSeconds = now();
        context.heartbeat(progress);
      }
      const loadSeconds = progress.loadSeconds;
      // Without a scale-up there is nothing to come back from.
      if (progress.samples.some((s) => s.phase === 'load' && scaledUp(progress.baseline, s))) {
        for (;;) {
          const sample = await record('cooldown');
          if (scaledBack(progress.baseline, spec.autoscaling.minReplicas, sample) || sample.at - loadSeconds >= drill.scaleDownTimeoutSeconds) break;
          await context.sleep(interval);
        }
      }
      return summarizeDrill({ spec, baseline: progress.baseline, samples: progress.samples, loadSeconds });
    },
  };
}
