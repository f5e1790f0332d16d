/**
 * What the local cluster's nodes do that kwok does not. The GPU device plugin: a GPU node reports
 * nvidia.com/gpu once the driver installer's pod on it is Ready (at once where GKE manages the
 * driver). The containers of the pipeline's Jobs, run for real on this machine's CPU from the same
 * environment variables the GKE containers read: the engine build prepares the ONNX model for
 * Triton's python backend (INT8 by ONNX Runtime quantization; TensorRT needs a GPU), the perf Job
 * runs the GKE container's own script (perfJobScript) with the real perf_analyzer against the
 * release's real Triton (serving.ts). A container's output is served as its pod's log (a kwok
 * Logs object) and its exit code ends the pod (kwok stage pod-exit). Both advance when the
 * pipeline looks (listing nodes, reading a Job).
 */
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import type { CoreV1Api, V1Node, V1Pod } from '@kubernetes/client-node';
import type { KubeApi, ObjectStore } from '../../ports/systems.js';
import { PROJECT_ROOT } from '../../assets.js';
import { exec, ExecError } from '../../clients/exec.js';
import { ENGINE_BUILD_COMPONENT, PERF_COMPONENT, perfJobScript, PIPELINE_LABEL, SWEEP_WINDOW_MS } from '../../plan/jobs.js';
import { LOAD_COMPONENT } from '../../plan/load-drill.js';
import type { EngineBuildRecord } from '../../ports/run.js';
import { buildPerfAnalyzerArgs, PERF_STABILITY_EXIT_CODE, type PerfAnalyzerArgsInput } from '../../triton/perf-output.js';
import { annotationPatch, criLog, EXIT_CODE_ANNOTATION, EXIT_MESSAGE_ANNOTATION, GPU_COUNT_ANNOTATION, GPU_DRIVER_ANNOTATION, GPU_STARTUP_TAINT, gpuStatusPatch } from './nodes.js';
import { PERF_ANALYZER, runPerfAnalyzer } from './perf-analyzer.js';
import { isReady } from '../../clients/triton-probe.js';
import type { LocalServing } from './serving.js';

export interface LocalKubeletDeps {
  cluster: string;
  core: CoreV1Api;
  kube: KubeApi;
  store: ObjectStore;
  serving: LocalServing;
  /** Where pod log files are written (kwok reads them). */
  logDir: string;
  /** The executable the perf Job's script runs as perf_analyzer (default: the real one, PERF_ANALYZER). */
  perfAnalyzer?: string;
}

const DRIVER_POD_SELECTOR = 'name=nvidia-driver-installer';
const PYTHON = join(PROJECT_ROOT, '.tools/triton/venv/bin/python');

/** A container's failure: the pod exits with `exitCode` and this message; its log is `log`, where the container printed one. */
export class ContainerFailure extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
    readonly log?: string,
  ) {
    super(message);
    this.name = 'ContainerFailure';
  }
}

/** A pod log from a container's two streams (the perf script writes all of its output to stdout; bash's own errors go to stderr). */
function podLog(stderr: string, stdout: string): string {
  return [stderr, stdout].filter((s) => s !== '').map((s) => `${s}\n`).join('');
}

/**
 * The perf Job's container as GKE runs it: perfJobScript by bash, with `perfAnalyzer` on PATH as
 * perf_analyzer, so the script's handling of perf_analyzer's exits is the one under test here too
 * (a sweep cut short at its first concurrency ends the container successfully with an empty CSV
 * block). Returns the container's log: perf_analyzer's output, then the CSV
 * between PERF_CSV_BEGIN/END; any other failure throws a ContainerFailure with the script's status.
 */
export async function runPerfJobScript(input: Omit<PerfAnalyzerArgsInput, 'csvPath'>, perfAnalyzer: string = PERF_ANALYZER): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'perf-job-'));
  try {
    const bin = join(dir, 'bin');
    await mkdir(bin);
    await symlink(perfAnalyzer, join(bin, 'perf_analyzer'));
    const csvPath = join(dir, 'perf.csv');
    const script = perfJobScript(buildPerfAnalyzerArgs({ ...input, csvPath }), csvPath);
    try {
      const { stdout, stderr } = await exec('bash', ['-c', script], { env: { PATH: `${bin}${delimiter}${process.env['PATH'] ?? ''}` } });
      return podLog(stderr, stdout);
    } catch (error) {
      if (!(error instanceof ExecError)) throw error;
      const code = error.exitCode ?? 1;
      const log = podLog(error.stderr, error.stdout);
      const tail = log.trim().split('\n').slice(-3).join(' | ');
      throw new ContainerFailure(`perf_analyzer exited with status ${code}${tail === '' ? '' : `: ${tail}`}`, code, log);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function required(env: Record<string, string>, name: string): string {
  const value = env[name];
  if (value === undefined || value === '') throw new ContainerFailure(`environment variable ${name} is not set`);
  return value;
}

export function createLocalKubelet(deps: LocalKubeletDeps) {
  const { core, kube, store } = deps;
  /** Containers running now, by pod: they run in the background while the pipeline polls the Job; a deleted pod stops its own. */
  const running = new Map<string, AbortController>();

  async function buildEngine(env: Record<string, string>): Promise<string> {
    const source = required(env, 'MODEL_SOURCE');
    if (!source.startsWith('gs://')) throw new ContainerFailure(`the local target reads model sources from its GCS emulator (gs://…), got ${source}`);
    if (required(env, 'MODEL_FORMAT') !== 'onnx') throw new ContainerFailure(`the local target builds ONNX models only, got MODEL_FORMAT=${env['MODEL_FORMAT']}`);
    const precision = required(env, 'PRECISION');
    const bytes = await store.read(source);
    if (bytes === null) throw new ContainerFailure(`model source ${source} does not exist`);
    const dir = await mkdtemp(join(tmpdir(), 'cpu-engine-'));
    try {
      await writeFile(join(dir, 'source.onnx'), bytes);
      const { stdout } = await exec(PYTHON, [join(PROJECT_ROOT, 'deploy/local/build_cpu_engine.py'), join(dir, 'source.onnx'), join(dir, 'model.onnx'), precision]).catch((error: Error) => {
        throw new ContainerFailure(error.message);
      });
      const planUri = required(env, 'PLAN_URI');
      const plan = await store.write(planUri, await readFile(join(dir, 'model.onnx')));
      const record: EngineBuildRecord = {
        engineKey: required(env, 'ENGINE_KEY'),
        model: required(env, 'MODEL_NAME'),
        planUri,
        planMd5: plan.md5,
        tensorrtImage: required(env, 'TENSORRT_IMAGE'),
        gpu: 'cpu (local target)',
        flags: [precision === 'int8' ? 'onnxruntime quantize_dynamic QInt8' : 'onnx as is'],
        profiles: required(env, 'PROFILES'),
        builtAt: new Date().toISOString(),
      };
      await store.write(required(env, 'RECORD_URI'), JSON.stringify(record, null, 2));
      return `[local] ONNX model ${source} prepared for Triton's python backend on the CPU (TensorRT needs a GPU)\n${stdout}\n[I] Wrote ${planUri} (md5 ${plan.md5}, ${plan.size} bytes)\n`;
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  async function runPerf(env: Record<string, string>): Promise<string> {
    const namespace = required(env, 'PERF_NAMESPACE');
    const release = required(env, 'PERF_RELEASE');
    const [start, end, step] = required(env, 'PERF_CONCURRENCY').split(':').map(Number);
    const servers = await deps.serving.started(namespace, release);
    const target = servers[0];
    if (target === undefined) throw new ContainerFailure(`failed to get model metadata: no Triton of release ${release} in namespace ${namespace} is running`);
    const log = await runPerfJobScript(
      {
        model: required(env, 'PERF_MODEL'),
        url: target.server.grpcUrl,
        protocol: 'grpc',
        batchSize: Number(required(env, 'PERF_BATCH')),
        concurrency: { start: start!, end: end!, step: step! },
        percentile: Number(required(env, 'PERF_PERCENTILE')),
        // Triton on this CPU is stable in half the GKE Job's window (2 s full, 1 s screens).
        measurementIntervalMs: Number(env['PERF_INTERVAL_MS'] ?? SWEEP_WINDOW_MS.full) / 2,
        shapes: [],
        maxTrials: 10,
        stabilityPercentage: 50,
      },
      deps.perfAnalyzer,
    ).catch((error: Error) => {
      throw error instanceof ContainerFailure ? error : new ContainerFailure(error.message);
    });
    return `[local] perf_analyzer 2.51 against the Triton of pod ${target.pod} (CPU), ${servers.length} replica(s) running\n${log}`;
  }

  /**
   * The drill's load: perf_analyzer itself (the GKE container's script would outlive a SIGTERM to
   * bash), at one concurrency for the hold, against the release's first Triton (its connections
   * stay with the pod they opened to, as through a Service), until the pod is deleted.
   */
  async function runLoad(env: Record<string, string>, signal: AbortSignal): Promise<string> {
    const namespace = required(env, 'PERF_NAMESPACE');
    const release = required(env, 'PERF_RELEASE');
    const [concurrency] = required(env, 'PERF_CONCURRENCY').split(':').map(Number);
    const target = (await deps.serving.started(namespace, release))[0];
    if (target === undefined) throw new ContainerFailure(`failed to get model metadata: no Triton of release ${release} in namespace ${namespace} is running`);
    const run = runPerfAnalyzer(
      { model: required(env, 'PERF_MODEL'), url: target.server.grpcUrl, protocol: 'grpc', batchSize: 1, concurrency: { start: concurrency!, end: concurrency!, step: 1 }, percentile: 99, measurementIntervalMs: Number(required(env, 'LOAD_HOLD_SECONDS')) * 1000, shapes: [], maxTrials: 1 },
      signal,
    );
    const output = await run.then(
      (r) => r.stdout,
      (error: Error) => {
        if (signal.aborted) return '';
        if (error instanceof ExecError && error.exitCode === PERF_STABILITY_EXIT_CODE) return error.stdout;
        throw new ContainerFailure(error.message);
      },
    );
    return `[local] perf_analyzer 2.51 holding concurrency ${concurrency} against the Triton of pod ${target.pod}\n${output}\n`;
  }

  async function runContainer(pod: V1Pod, signal: AbortSignal): Promise<void> {
    const namespace = pod.metadata!.namespace!;
    const name = pod.metadata!.name!;
    const container = pod.spec!.containers[0]!;
    const env = Object.fromEntries((container.env ?? []).filter((e) => e.value !== undefined).map((e) => [e.name, e.value!]));
    const component = pod.metadata?.labels?.[PIPELINE_LABEL] ?? '';
    let logs: string;
    let exit: Record<string, string>;
    try {
      logs =
        component === ENGINE_BUILD_COMPONENT ? await buildEngine(env) : component === PERF_COMPONENT ? await runPerf(env) : component === LOAD_COMPONENT ? await runLoad(env, signal) : '';
      if (signal.aborted) return;
      exit = { [EXIT_CODE_ANNOTATION]: '0' };
    } catch (error) {
      if (!(error instanceof ContainerFailure)) throw error;
      // The container's own output where it printed some (as the GKE pod's log), else the reason.
      logs = error.log ?? `error: ${error.message}\n`;
      exit = { [EXIT_CODE_ANNOTATION]: String(error.exitCode), [EXIT_MESSAGE_ANNOTATION]: error.message.slice(0, 1000) };
    }
    const logFile = join(deps.logDir, `${namespace}_${name}.log`);
    await mkdir(deps.logDir, { recursive: true });
    await writeFile(logFile, criLog(logs, new Date()));
    await kube.apply({
      apiVersion: 'kwok.x-k8s.io/v1alpha1',
      kind: 'Logs',
      metadata: { name, namespace },
      spec: { logs: [{ containers: [container.name], logsFile: logFile }] },
    });
    await core.patchNamespacedPod({ name, namespace, body: annotationPatch(pod, exit) });
  }

  return {
    /**
     * The device plugin's part: report GPUs on nodes whose driver is up. A node the autoscaler
     * added comes with its GPUs counted (Karpenter's kwok provider writes the instance type's) and
     * a startup taint instead, lifted once its driver is up.
     */
    async reportGpus(): Promise<void> {
      const nodes = await core.listNode({});
      const tainted = (n: V1Node) => (n.spec?.taints ?? []).some((t) => t.key === GPU_STARTUP_TAINT.key);
      const waiting = nodes.items.filter((n) => {
        const wanted = Number(n.metadata?.annotations?.[GPU_COUNT_ANNOTATION] ?? 0);
        return wanted > 0 && (Number(n.status?.allocatable?.['nvidia.com/gpu'] ?? 0) < wanted || tainted(n));
      });
      if (waiting.length === 0) return;
      const drivers = await core.listNamespacedPod({ namespace: 'kube-system', labelSelector: DRIVER_POD_SELECTOR });
      for (const node of waiting) {
        const name = node.metadata!.name!;
        const managedByGke = node.metadata?.annotations?.[GPU_DRIVER_ANNOTATION] !== 'installer-daemonset';
        const driverUp = managedByGke || drivers.items.some((p) => p.spec?.nodeName === name && isReady(p));
        if (!driverUp) continue;
        const wanted = Number(node.metadata!.annotations![GPU_COUNT_ANNOTATION]);
        if (Number(node.status?.allocatable?.['nvidia.com/gpu'] ?? 0) < wanted) await core.patchNodeStatus({ name, body: gpuStatusPatch(wanted) });
        if (tainted(node)) {
          const taints = node.spec!.taints!.filter((t) => t.key !== GPU_STARTUP_TAINT.key);
          // Tested against the taints read: a taint Karpenter changed since is not overwritten.
          await core.patchNode({ name, body: [{ op: 'test', path: '/spec/taints', value: node.spec!.taints }, { op: 'replace', path: '/spec/taints', value: taints }] });
        }
      }
    },

    /** Stops the containers whose pod is being deleted or gone (a deleted Job's). */
    async stopDeletedContainers(): Promise<void> {
      for (const [key, stop] of running) {
        const [, namespace, name] = key.split('/') as [string, string, string];
        const pod = await core.readNamespacedPod({ namespace, name }).catch((error: { code?: number }) => {
          if (error.code === 404) return null;
          throw error;
        });
        if (pod === null || pod.metadata?.deletionTimestamp !== undefined) stop.abort();
      }
    },

    /** The containers' part: start each running pod of the Job that has not exited and is not running yet. */
    async runJobPods(namespace: string, job: string): Promise<void> {
      const pods = await core.listNamespacedPod({ namespace, labelSelector: `job-name=${job}` });
      for (const pod of pods.items) {
        const key = `${deps.cluster}/${namespace}/${pod.metadata!.name!}`;
        if (pod.status?.phase !== 'Running' || pod.metadata?.annotations?.[EXIT_CODE_ANNOTATION] !== undefined || running.has(key)) continue;
        const stop = new AbortController();
        running.set(key, stop);
        // A container the kubelet could not run (API unreachable) is tried again on the next look.
        void runContainer(pod, stop.signal)
          .catch((error: unknown) => console.error(`local kubelet: pod ${namespace}/${pod.metadata!.name!}: ${(error as Error).message}`))
          .finally(() => running.delete(key));
      }
    },
  };
}
