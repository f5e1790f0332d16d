/**
 * Chapter "Build BERT and Resnet50 model with TensorRT": one Kubernetes Job per engine (not the
 * sample's looping Deployment), cached by a content hash, heartbeated while it runs.
 */
import { createHash } from 'node:crypto';
import { Context } from '@temporalio/activity';
import { calling, FailureType, permanentFailure } from '../ports/errors.js';
import { engineUris } from '../plan/layout.js';
import type { BuiltEngine, EngineBuildRecord, EngineRequest, ResolvedEngine } from '../ports/run.js';
import { type EngineBuildPlan, EngineBuildPlanError, planEngineBuild } from '../plan/engine-build.js';
import { JOB_NAMESPACE, renderEngineBuildJob } from '../plan/jobs.js';
import { runJob } from './jobs.js';
import type { ClusterRef, KubeApi, KubeObject, ObjectStore } from '../ports/systems.js';

export interface EngineDeps {
  kube(ref: ClusterRef): KubeApi;
  store: ObjectStore;
  pollIntervalMs: number;
  /** deploy/jobs as a ConfigMap (the build script the Job runs). */
  jobScripts: KubeObject;
}

function jobName(model: string, engineKey: string): string {
  const slug = model.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 40);
  return `trt-${slug}-${engineKey.slice(0, 12)}`;
}

async function readRecord(store: ObjectStore, uri: string): Promise<EngineBuildRecord | null> {
  const bytes = await calling('read engine build record', () => store.read(uri));
  return bytes === null ? null : (JSON.parse(Buffer.from(bytes).toString('utf8')) as EngineBuildRecord);
}

export function createEngineActivities({ kube, store, pollIntervalMs, jobScripts }: EngineDeps) {
  /**
   * The engine's identity: model content + build plan (profiles, flags, calibration content,
   * workspace) + builder image + GPU (engines are not portable across builders or GPUs).
   */
  async function engineKey(request: EngineRequest): Promise<string> {
    const { model } = request;
    const contentOf = async (uri: string | null) =>
      uri === null ? null : uri.startsWith('gs://') ? ((await calling('stat model source', () => store.stat(uri)))?.md5 ?? null) : uri;
    const source = await contentOf(model.source);
    if (source === null) {
      throw permanentFailure(FailureType.InvalidArgument, `model source ${model.source} does not exist; upload it or fix models[].source`);
    }
    let plan: EngineBuildPlan;
    try {
      plan = planEngineBuild(model, request.acceleratorType);
    } catch (error) {
      if (error instanceof EngineBuildPlanError) throw permanentFailure(FailureType.InvalidSpec, error.message);
      throw error;
    }
    const { calibration } = plan;
    const identity = {
      source,
      plan: {
        ...plan,
        source: { format: plan.source.format },
        calibration: calibration === null ? null : { ...calibration, cache: await contentOf(calibration.cache), data: await contentOf(calibration.data) },
      },
      builder: request.tensorrtImage,
      gpu: request.acceleratorType,
    };
    return createHash('sha256').update(JSON.stringify(identity)).digest('hex');
  }

  return {
    async resolveEngine(request: EngineRequest): Promise<ResolvedEngine> {
      const key = await engineKey(request);
      const uris = engineUris(request.bucket, request.model.name, key);
      const record = await readRecord(store, uris.record);
      return { engineKey: key, planUri: uris.plan, recordUri: uris.record, cached: record !== null };
    },

    /**
     * Runs (or re-attaches to) the build Job. The Job name derives from the engine key, so a retry
     * after a worker crash finds the running Job instead of starting a second build.
     */
    async buildEngine(request: EngineRequest & { engineKey: string }): Promise<BuiltEngine> {
      const uris = engineUris(request.bucket, request.model.name, request.engineKey);
      const name = jobName(request.model.name, request.engineKey);
      const existing = await readRecord(store, uris.record);
      if (existing !== null) {
        // A retry whose earlier attempt ran the build (its reply lost) finds the record and the
        // finished Job: this run built the engine. On a first attempt the record is another build's.
        const builtHere = Context.current().info.attempt > 1 && (await calling('read job', () => kube(request.cluster).jobStatus(JOB_NAMESPACE, name)))?.phase === 'succeeded';
        return { engineKey: request.engineKey, planUri: uris.plan, recordUri: uris.record, cached: !builtHere, record: existing };
      }
      await runJob({
        api: kube(request.cluster),
        prerequisites: [jobScripts],
        job: renderEngineBuildJob({
          name,
          namespace: JOB_NAMESPACE,
          model: request.model,
          engineKey: request.engineKey,
          planUri: uris.plan,
          recordUri: uris.record,
          tensorrtImage: request.tensorrtImage,
          nodePool: request.nodePool,
          acceleratorType: request.acceleratorType,
          scriptsConfigMap: jobScripts.metadata.name,
        }),
        pollIntervalMs,
        failure: (status, logTail) =>
          permanentFailure(
            FailureType.EngineBuildFailed,
            `engine build job ${name} ${status === null ? 'disappeared' : 'failed'}${status?.message ? `: ${status.message}` : ''}`,
            { job: name, logTail },
          ),
      });
      const record = await readRecord(store, uris.record);
      if (record === null) {
        throw permanentFailure(FailureType.EngineBuildFailed, `engine build job ${name} succeeded but wrote no build record at ${uris.record}`);
      }
      return { engineKey: request.engineKey, planUri: uris.plan, recordUri: uris.record, cached: false, record };
    },
  };
}
