/**
 * The stages that make what a release serves on: the cluster and its GPU node pool, the driver,
 * the engines, the model repository; and, once promoted, autoscaling. Each registers the inverse
 * of what it creates before creating it.
 */
import { clusterMonitoringFor } from '../plan/helm-values.js';
import { describeReading } from '../triton/metrics.js';
import { modelConfigFromVariant, renderModelConfig } from '../triton/model-config.js';
import { servingTargetFor } from '../triton/serving-target.js';
import { ensureEngine, placementGpus } from './common.js';
import { type DeployRun, stage } from './deploy-run.js';

export async function ensureCluster(deploy: DeployRun): Promise<void> {
  const { act, run, cluster, spec, compensations } = deploy;
  await stage(deploy, 'cluster', async () => {
    const monitoring = clusterMonitoringFor(spec);
    const created = await act.ensureCluster({ run, cluster, spec: spec.cluster, ...(monitoring !== null ? { monitoring } : {}) });
    if (created.outcome === 'created' && spec.cluster.deleteOnFailure) {
      compensations.push({ name: 'delete the new cluster', undo: () => act.deleteCluster({ run, cluster }) });
    }
    await act.awaitClusterRunning({ run, cluster });
    const pool = await act.ensureNodePool({ run, cluster, spec: spec.nodePool });
    if (pool.outcome === 'created' && spec.cluster.deleteOnFailure) {
      compensations.push({ name: 'delete the new node pool', undo: () => act.deleteNodePool({ run, cluster, nodePool: spec.nodePool.name }) });
    }
    await act.awaitNodePoolRunning({ run, cluster, nodePool: spec.nodePool.name });
    return `cluster ${created.outcome}, node pool ${pool.outcome}`;
  });
}

export async function ensureDriver(deploy: DeployRun): Promise<void> {
  const { act, run, cluster, spec } = deploy;
  await stage(deploy, 'driver', async () => {
    const driver = await act.ensureGpuDriver({ run, cluster, nodePool: spec.nodePool });
    const gpus = await act.awaitAllocatableGpus({ run, cluster, nodePool: spec.nodePool });
    return `${driver.applied ? 'installer DaemonSet applied' : 'driver managed by GKE'}; ${gpus.gpus} GPUs on ${gpus.nodes} nodes`;
  });
}

export async function buildEngines(deploy: DeployRun): Promise<void> {
  const { spec, run } = deploy;
  deploy.engines = await stage(deploy, 'engines', () => Promise.all(spec.models.map((model) => ensureEngine(spec, run, model))),
    (built) => built.map((e) => `${e.model}: ${e.cached ? 'cached' : 'built'} ${e.engineKey.slice(0, 12)}`).join(', '),
  );
}

/** A new immutable repository version: config.pbtxt per variant beside its model's engine. */
export async function publishRepository(deploy: DeployRun): Promise<string> {
  const { act, run, spec, releaseRef, repositoryVersion } = deploy;
  const published = await stage(deploy, 'repository', async () => {
    const serving = servingTargetFor(spec.target);
    const podGpus = placementGpus(spec);
    const variantsToPublish = spec.models.flatMap((model) => {
      const engine = deploy.engines.find((e) => e.model === model.name)!;
      return model.variants.map((variant) => ({
        name: variant.name,
        configPbtxt: renderModelConfig(modelConfigFromVariant(model, variant, serving, podGpus)),
        planUri: engine.planUri,
        modelFile: serving.modelFile,
      }));
    });
    deploy.compensations.push({
      name: 'delete unserved repository version',
      undo: async () => {
        const live = await act.describeRelease(releaseRef);
        await act.deleteRepositoryVersionIfUnserved({
          run,
          bucket: spec.bucket,
          prefix: spec.repositoryPrefix,
          version: repositoryVersion,
          servedRepositoryUri: live?.repositoryUri ?? null,
        });
      },
    });
    return act.publishRepository({ run, bucket: spec.bucket, prefix: spec.repositoryPrefix, version: repositoryVersion, variants: variantsToPublish });
  }, (p) => `${p.repositoryUri} (${p.files} files)`);
  deploy.repositoryUri = published.repositoryUri;
  return published.repositoryUri;
}

export async function enableAutoscaling(deploy: DeployRun): Promise<void> {
  const { act, run, cluster, spec } = deploy;
  await stage(deploy, 'autoscaling', () => act.enableAutoscaling({ run, cluster, spec }), (r) => {
    if (r.hpa === null) return 'HPA disabled by spec';
    // The busiest variant's reading under the validation load, scraped from Triton's /metrics.
    const reading = deploy.variants.flatMap((v) => (v.autoscaling ? [v.autoscaling] : [])).sort((a, b) => (b.desiredReplicas ?? 0) - (a.desiredReplicas ?? 0))[0];
    return `HPA ${r.hpa}${reading ? `; at the SLA load ${describeReading(reading)}` : ''}`;
  });
}

/** The chapter's load test as a drill: a held load scales the release and its pool up, then back. */
export async function runLoadDrill(deploy: DeployRun): Promise<void> {
  const { act, run, cluster, spec } = deploy;
  if (spec.autoscaling.loadDrill === undefined) return;
  deploy.loadDrill = await stage(deploy, 'load-drill', () => act.runLoadDrill({ run, cluster, spec, repositoryUri: deploy.repositoryUri! }), (r) => r.message);
}
