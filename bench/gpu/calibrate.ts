/**
 * Fits the sim's performance model (src/sim/perf-model.ts) to the GPU recordings (test/fixtures/gpu):
 * ResNet50 on the chapters run, BERT-Large on its run with 4 s windows, per network both instance
 * counts at once, on throughput, p99 and the GPU's busy fraction (nv_gpu_utilization) at every
 * stable recorded point. Prints the parameters (the H200 profiles in perf-model.ts are these,
 * rounded) and a model-vs-measured table.
 *
 *   npx tsx bench/gpu/calibrate.ts
 *
 * Fixed: batchOverheadUs 300 µs (as the T4 profiles), computeShare 0.5 and the precision (fp16, what
 * ran). Fitted (Nelder–Mead with restarts): the request's fixed cost (overhead + transfer per
 * sample), the GPU time per sample, the instances' overlap, the instance's host work per batch, the
 * knee's sharpness and the tail terms. Loss: squared log error of throughput, absolute log error of
 * p99 and squared error of the busy fraction, each hinged hard beyond 10%.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../../src/assets.js';
import { gpuBusyFraction, type PerfProfileParams, simulateSweepWithParams } from '../../src/sim/perf-model.js';
import { parseModelConfig } from '../../src/triton/model-config.js';
import { nelderMead } from '../nelder-mead.js';
import { gaugesOf, type GpuRecording, perfPointOf, sweepPoints } from './recording.js';
import type { PerfPoint } from '../../src/triton/perf-types.js';

/** Each network's fit: ResNet50 on the chapters run, BERT-Large on its own run with 4 s windows. */
export const CALIBRATION_RECORDINGS = {
  resnet50: join(PROJECT_ROOT, 'test/fixtures/gpu/h200-chapters.json'),
  'bert-large-seq384': join(PROJECT_ROOT, 'test/fixtures/gpu/h200-bert-long.json'),
} as const;

/** perf_analyzer's -b per network in the recorded plans (the seed's SLA batch sizes). */
export const GPU_BATCH_SIZES: Readonly<Record<string, number>> = { resnet50: 32, 'bert-large-seq384': 16 };

export interface RecordedChapter {
  model: string;
  network: string;
  instances: number;
  maxBatchSize: number;
  preferredBatchSizes: number[];
  maxQueueDelayMicroseconds: number;
  batchSize: number;
  points: PerfPoint[];
  /** nv_gpu_utilization (median while the point ran, 0..1) at each of the points. */
  utilisation: number[];
}

/** The recording's sweeps with their serving configs (from the config.pbtxt in the recording's plan). */
export function recordedChapters(recording: GpuRecording, configs: ReadonlyMap<string, string>, batchSizes: Readonly<Record<string, number>>): RecordedChapter[] {
  return recording.sweeps.map((sweep) => {
    const config = parseModelConfig(configs.get(sweep.model)!);
    const network = config.parameters?.['network'] ?? '';
    return {
      model: sweep.model,
      network,
      instances: config.instances,
      maxBatchSize: config.maxBatchSize,
      preferredBatchSizes: config.dynamicBatching?.preferredBatchSizes ?? [],
      maxQueueDelayMicroseconds: config.dynamicBatching?.maxQueueDelayMicroseconds ?? 0,
      batchSize: batchSizes[network]!,
      points: sweepPoints(sweep),
      utilisation: sweep.points.filter((p) => perfPointOf(p) !== null).map((p) => gaugesOf(p).utilization!),
    };
  });
}

export function simulateChapter(params: PerfProfileParams, chapter: RecordedChapter): PerfPoint[] {
  return chapter.points.flatMap(
    (p) =>
      simulateSweepWithParams(params, {
        config: { ...chapter, gpus: 1 },
        batchSize: chapter.batchSize,
        concurrency: { start: p.concurrency, end: p.concurrency, step: 1 },
      }),
  );
}

const FREE = ['requestOverheadUs', 'transferUsPerSample', 'gpuUsPerSample', 'overlap', 'instanceHostUs', 'sharpness', 'sharpnessGrowth', 'cvBase', 'cvUtilisation', 'utilisationExponent'] as const;

const toParams = (x: readonly number[]): PerfProfileParams => {
  const p: Record<string, number | string> = { batchOverheadUs: 300, computeShare: 0.5, precision: 'fp16' };
  FREE.forEach((name, i) => (p[name] = x[i]!));
  return p as unknown as PerfProfileParams;
};

function loss(x: readonly number[], chapters: readonly RecordedChapter[]): number {
  if (x.some((v) => !(v > 0)) || x[3]! >= 0.95) return 1e9;
  const params = toParams(x);
  let total = 0;
  for (const chapter of chapters) {
    simulateChapter(params, chapter).forEach((p, i) => {
      const measured = chapter.points[i]!;
      const et = Math.log(p.throughput / measured.throughput);
      const el = Math.log(p.latencyUs.p99 / measured.latencyUs.p99);
      total += 4 * et * et + 1e3 * Math.max(0, Math.abs(et) - 0.1) ** 2;
      total += 0.3 * Math.abs(el) + 1e2 * Math.max(0, Math.abs(el) - 0.1) ** 2;
      const eu = gpuBusyFraction(params, { config: { ...chapter, gpus: 1 }, batchSize: chapter.batchSize }, measured.throughput) - chapter.utilisation[i]!;
      total += 10 * eu * eu + 1e3 * Math.max(0, Math.abs(eu) - 0.1) ** 2;
    });
  }
  return total;
}

const round = (v: number, digits = 3) => Number(v.toPrecision(digits));

export function fitChapters(chapters: readonly RecordedChapter[]): PerfProfileParams {
  const c1 = chapters[0]!.points[0]!;
  const batch = chapters[0]!.batchSize;
  const idleUs = (1e6 * batch) / c1.throughput;
  let x = [idleUs * 0.1, (idleUs * 0.1) / batch, (idleUs * 0.3) / batch, 0.3, idleUs * 0.5, 3, 0.6, 0.1, 0.5, 1];
  for (let restart = 0; restart < 4; restart++) x = nelderMead((v) => loss(v, chapters), x);
  return toParams(x.map((v) => round(v)));
}

async function main(): Promise<void> {
  for (const [network, path] of Object.entries(CALIBRATION_RECORDINGS)) {
    const recording = JSON.parse(await readFile(path, 'utf8')) as GpuRecording;
    const mine = recordedChapters(recording, new Map(Object.entries(recording.configs)), GPU_BATCH_SIZES).filter((c) => c.network === network);
    const params = fitChapters(mine);
    console.log(`${network}-fp16-h200`, JSON.stringify(params));
    for (const chapter of mine) {
      console.log(`\n${chapter.model}: c | infer/s model measured err | p99 ms model measured err | GPU busy model measured`);
      simulateChapter(params, chapter).forEach((p, i) => {
        const m = chapter.points[i]!;
        const err = (a: number, b: number) => `${((a / b - 1) * 100).toFixed(1)}%`.padStart(7);
        console.log(
          `${String(p.concurrency).padStart(2)} | ${p.throughput.toFixed(0).padStart(7)} ${m.throughput.toFixed(0).padStart(7)} ${err(p.throughput, m.throughput)}` +
            ` | ${(p.latencyUs.p99 / 1000).toFixed(1).padStart(7)} ${(m.latencyUs.p99 / 1000).toFixed(1).padStart(7)} ${err(p.latencyUs.p99, m.latencyUs.p99)}` +
            ` | ${gpuBusyFraction(params, { config: { ...chapter, gpus: 1 }, batchSize: chapter.batchSize }, m.throughput).toFixed(2)} ${chapter.utilisation[i]!.toFixed(2)}`,
        );
      });
    }
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
