/**
 * Fits the sim's performance model (src/sim/perf-model.ts) to the GPU recordings of the sample's
 * chapters (test/fixtures/gpu/h200-chapters.json): per network both instance counts at once, on
 * throughput and p99 at every recorded concurrency. Prints the parameters and a model-vs-measured
 * table. Not yet a profile: the T4 model's overlap term cannot follow ResNet50 on the H200, where one
 * python-backend instance is bound by its own host work (flat at about 2,200 infer/s, GPU 19% busy)
 * and four reach 8,000 (errors up to 34%); the model needs a per-instance host cost first.
 *
 *   npx tsx bench/gpu/calibrate.ts
 *
 * Fixed: batchOverheadUs 300 µs (as the T4 profiles), the precision (fp16, what ran). Fitted (Nelder–
 * Mead with restarts): the request's fixed cost (overhead + transfer per sample), the GPU time per
 * sample, the instances' overlap, the knee's sharpness and the tail terms. Loss: squared log error
 * of throughput plus absolute log error of p99, both hinged hard beyond 10%.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../../src/assets.js';
import { type PerfProfileParams, simulateSweepWithParams } from '../../src/sim/perf-model.js';
import { parseModelConfig } from '../../src/triton/model-config.js';
import { nelderMead } from '../nelder-mead.js';
import { type GpuRecording, sweepPoints } from './recording.js';
import type { PerfPoint } from '../../src/triton/perf-types.js';

export const CHAPTERS_RECORDING = join(PROJECT_ROOT, 'test/fixtures/gpu/h200-chapters.json');

export interface RecordedChapter {
  model: string;
  network: string;
  instances: number;
  maxBatchSize: number;
  preferredBatchSizes: number[];
  maxQueueDelayMicroseconds: number;
  batchSize: number;
  points: PerfPoint[];
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

const FREE = ['requestOverheadUs', 'transferUsPerSample', 'gpuUsPerSample', 'overlap', 'sharpness', 'sharpnessGrowth', 'cvBase', 'cvUtilisation', 'utilisationExponent'] as const;

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
    });
  }
  return total;
}

const round = (v: number, digits = 3) => Number(v.toPrecision(digits));

export function fitChapters(chapters: readonly RecordedChapter[]): PerfProfileParams {
  const c1 = chapters[0]!.points[0]!;
  const batch = chapters[0]!.batchSize;
  const idleUs = (1e6 * batch) / c1.throughput;
  let x = [idleUs * 0.1, (idleUs * 0.2) / batch, (idleUs * 0.6) / batch, 0.3, 3, 0.6, 0.1, 0.5, 1];
  for (let restart = 0; restart < 4; restart++) x = nelderMead((v) => loss(v, chapters), x);
  return toParams(x.map((v) => round(v)));
}

async function main(): Promise<void> {
  const recording = JSON.parse(await readFile(CHAPTERS_RECORDING, 'utf8')) as GpuRecording;
  const chapters = recordedChapters(recording, new Map(Object.entries(recording.configs)), { resnet50: 32, 'bert-large-seq384': 16 });
  for (const network of [...new Set(chapters.map((c) => c.network))]) {
    const mine = chapters.filter((c) => c.network === network);
    const params = fitChapters(mine);
    console.log(`${network}-fp16-h200`, JSON.stringify(params));
    for (const chapter of mine) {
      console.log(`\n${chapter.model}: c | infer/s model measured err | p99 ms model measured err`);
      simulateChapter(params, chapter).forEach((p, i) => {
        const m = chapter.points[i]!;
        const err = (a: number, b: number) => `${((a / b - 1) * 100).toFixed(1)}%`.padStart(7);
        console.log(
          `${String(p.concurrency).padStart(2)} | ${p.throughput.toFixed(0).padStart(7)} ${m.throughput.toFixed(0).padStart(7)} ${err(p.throughput, m.throughput)}` +
            ` | ${(p.latencyUs.p99 / 1000).toFixed(1).padStart(7)} ${(m.latencyUs.p99 / 1000).toFixed(1).padStart(7)} ${err(p.latencyUs.p99, m.latencyUs.p99)}`,
        );
      });
    }
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
