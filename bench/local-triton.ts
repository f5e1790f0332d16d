/**
 * The benchmarks' lab: one real Triton on this machine's CPU serving our ONNX model, whose
 * config.pbtxt is rewritten and reloaded per serving config, measured by the real perf_analyzer
 * and judged by the pipeline's own SLA code. Needs scripts/setup-triton.sh.
 */
import { copyFile, mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { PROJECT_ROOT } from '../src/assets.js';
import type { ServingCandidate } from '../src/search/config-search.js';
import { evaluateSla, type SlaBound, throughputAtBound } from '../src/sla/evaluate.js';
import { servingTargetFor } from '../src/triton/serving-target.js';
import { runPerfAnalyzer } from '../src/targets/local/perf-analyzer.js';
import { freePort } from '../src/targets/local/free-port.js';
import { startTritonServer, type TritonServer } from '../src/targets/local/triton-server.js';
import { renderModelConfig } from '../src/triton/model-config.js';
import type { PerfPoint } from '../src/triton/perf-types.js';
import { pointsOf, type SweepSpan, sweepSpan } from '../src/sla/sweep-span.js';

export const MODEL = 'resnet-mini';
export type ModelFile = 'resnet-mini' | 'resnet-mini-slow';

/** perf_analyzer's settings for every sweep the benchmarks take (its -p, -r and -s). */
export const SWEEP_SETTINGS = { measurementIntervalMs: 1000, maxTrials: 10, stabilityPercentage: 50 } as const;

export interface Measurement {
  points: PerfPoint[];
  /** SLA-bounded throughput (null: no point within the bound). */
  score: number | null;
  /** Wall time of the measurement, the reload included. */
  seconds: number;
  /** Time perf_analyzer ran. */
  perfSeconds: number;
}

export interface MeasureOptions {
  modelFile?: ModelFile;
  /** perf_analyzer's window (-p); SWEEP_SETTINGS' by default. */
  measurementIntervalMs?: number;
  /** The score: the gate's (best point within the bound, the default) or the throughput at the bound, interpolated. */
  score?: 'best-point' | 'at-bound';
  /** How much of the concurrency range the sweep measures (the whole by default). */
  span?: SweepSpan;
}

export interface Lab {
  dir: string;
  triton: TritonServer;
  /** Serve `candidate` (config.pbtxt rewritten, model reloaded), then sweep it with perf_analyzer. */
  measure(candidate: ServingCandidate, options?: MeasureOptions): Promise<Measurement>;
  stop(): Promise<void>;
}

export interface LabOptions {
  sla: SlaBound;
  concurrency: { start: number; end: number; step: number };
}

export async function startLab({ sla, concurrency }: LabOptions): Promise<Lab> {
  const dir = await mkdtemp(join(tmpdir(), 'bench-triton-'));
  await execa(join(PROJECT_ROOT, '.tools/triton/venv/bin/python'), [join(PROJECT_ROOT, 'deploy/local/build_models.py'), join(dir, 'onnx')]);
  const repository = join(dir, 'repository');
  const versionDir = join(repository, MODEL, '1');
  await mkdir(versionDir, { recursive: true });
  await copyFile(join(PROJECT_ROOT, 'deploy/local/triton_onnx_model.py'), join(versionDir, 'model.py'));
  const serving = servingTargetFor('local');

  /** Writes the files of `candidate`; returns what identifies them. */
  const writeServing = async (candidate: ServingCandidate, modelFile: ModelFile) => {
    const config = renderModelConfig({
      name: MODEL,
      platform: serving.platform,
      kind: serving.kind,
      instances: candidate.instances,
      maxBatchSize: candidate.maxBatchSize,
      dynamicBatching: { preferredBatchSizes: candidate.preferredBatchSizes, maxQueueDelayMicroseconds: candidate.maxQueueDelayMicroseconds },
    });
    await writeFile(join(repository, MODEL, 'config.pbtxt'), config);
    await copyFile(join(dir, 'onnx', `${modelFile}.onnx`), join(versionDir, 'model.onnx'));
    return `${modelFile}\n${config}`;
  };

  // Triton starts on a first config; later ones are reloaded in place (explicit model control).
  let served = await writeServing({ instances: 1, maxBatchSize: 8, preferredBatchSizes: [8], maxQueueDelayMicroseconds: 0 }, 'resnet-mini');
  const triton = await startTritonServer({
    repository,
    models: [MODEL],
    ports: { http: await freePort(), grpc: await freePort(), metrics: await freePort() },
    logFile: join(dir, 'triton.log'),
  });

  return {
    dir,
    triton,
    async measure(candidate, { modelFile = 'resnet-mini', measurementIntervalMs, score = 'best-point', span = 'whole' } = {}) {
      const started = performance.now();
      const wanted = await writeServing(candidate, modelFile);
      if (wanted !== served) {
        await triton.load(MODEL);
        served = wanted;
      }
      const perfStarted = performance.now();
      const parts = await sweepSpan(concurrency, span, sla, (range) =>
        runPerfAnalyzer({
          model: MODEL,
          url: triton.grpcUrl,
          protocol: 'grpc',
          batchSize: 1,
          concurrency: range,
          percentile: sla.percentile,
          shapes: [],
          ...SWEEP_SETTINGS,
          ...(measurementIntervalMs === undefined ? {} : { measurementIntervalMs }),
        }),
      );
      const points = pointsOf(parts);
      const ended = performance.now();
      const verdict = evaluateSla(points, sla);
      const scored = verdict.passed ? (score === 'at-bound' ? throughputAtBound(points, sla) : verdict.bestThroughput) : null;
      return { points, score: scored, seconds: (ended - started) / 1000, perfSeconds: (ended - perfStarted) / 1000 };
    },
    stop: () => triton.stop(),
  };
}
