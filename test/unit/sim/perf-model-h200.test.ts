/**
 * The sim's H200 profiles against the GPU recordings they were fitted on (bench/gpu/calibrate.ts):
 * throughput, p99 and nv_gpu_utilization at every stable recorded point.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { CALIBRATION_RECORDINGS, GPU_BATCH_SIZES, type RecordedChapter, recordedChapters, simulateChapter } from '../../../bench/gpu/calibrate.js';
import type { GpuRecording } from '../../../bench/gpu/recording.js';
import { gpuBusyFraction, PERF_PROFILES, perfProfileFor, simulateSweepWithParams } from '../../../src/sim/perf-model.js';

function chaptersOf(network: keyof typeof CALIBRATION_RECORDINGS): RecordedChapter[] {
  const recording = JSON.parse(readFileSync(CALIBRATION_RECORDINGS[network], 'utf8')) as GpuRecording;
  return recordedChapters(recording, new Map(Object.entries(recording.configs)), GPU_BATCH_SIZES).filter((c) => c.network === network);
}

interface Fit {
  throughput: number[];
  p99: number[];
  busy: number[];
}

/** Relative errors of throughput and p99, absolute error of the GPU's busy fraction, per point. */
function fitOf(profile: keyof typeof PERF_PROFILES, chapters: readonly RecordedChapter[]): Fit {
  const params = PERF_PROFILES[profile];
  const fit: Fit = { throughput: [], p99: [], busy: [] };
  for (const chapter of chapters) {
    simulateChapter(params, chapter).forEach((model, i) => {
      const measured = chapter.points[i]!;
      fit.throughput.push(model.throughput / measured.throughput - 1);
      fit.p99.push(model.latencyUs.p99 / measured.latencyUs.p99 - 1);
      const busy = gpuBusyFraction(params, { config: { ...chapter, gpus: 1 }, batchSize: chapter.batchSize }, measured.throughput);
      fit.busy.push(busy - chapter.utilisation[i]!);
    });
  }
  return fit;
}

const meanAbs = (xs: number[]) => xs.reduce((a, x) => a + Math.abs(x), 0) / xs.length;
const maxAbs = (xs: number[]) => Math.max(...xs.map(Math.abs));

test('resnet50-fp16-h200 follows both ResNet50 sweeps: throughput within 9% on average, GPU busy fraction within 0.13', () => {
  const chapters = chaptersOf('resnet50');
  assert.deepEqual(chapters.map((c) => c.instances), [1, 4]);
  const fit = fitOf('resnet50-fp16-h200', chapters);
  assert.equal(fit.throughput.length, 20);
  assert.ok(meanAbs(fit.throughput) < 0.09, `throughput mean |error| ${meanAbs(fit.throughput)}`);
  // The recording's own scatter bounds the worst point: the same config at c = 1 measured 2,532
  // infer/s in one sweep and 1,954 in the other.
  assert.ok(maxAbs(fit.throughput) < 0.22, `throughput max |error| ${maxAbs(fit.throughput)}`);
  assert.ok(meanAbs(fit.p99) < 0.14, `p99 mean |error| ${meanAbs(fit.p99)}`);
  assert.ok(maxAbs(fit.busy) < 0.13, `busy max |error| ${maxAbs(fit.busy)}`);
});

test('bert-large-seq384-fp16-h200 follows both BERT-Large sweeps: throughput within 9% on average, GPU busy fraction within 0.12', () => {
  const chapters = chaptersOf('bert-large-seq384');
  assert.deepEqual(chapters.map((c) => c.instances), [1, 2]);
  const fit = fitOf('bert-large-seq384-fp16-h200', chapters);
  assert.equal(fit.throughput.length, 16, '6 stable one-instance points and 10 two-instance ones');
  assert.ok(meanAbs(fit.throughput) < 0.09, `throughput mean |error| ${meanAbs(fit.throughput)}`);
  assert.ok(maxAbs(fit.throughput) < 0.3, `throughput max |error| ${maxAbs(fit.throughput)}`);
  assert.ok(meanAbs(fit.p99) < 0.14, `p99 mean |error| ${meanAbs(fit.p99)}`);
  assert.ok(maxAbs(fit.busy) < 0.12, `busy max |error| ${maxAbs(fit.busy)}`);
});

test('the H200 profiles keep what the GPU showed: one python instance host-bound for ResNet50, BERT-Large GPU-bound', () => {
  const sweep = (profile: 'resnet50-fp16-h200' | 'bert-large-seq384-fp16-h200', instances: number, batch: number, c: number) => {
    const input = { config: { instances, maxBatchSize: batch, preferredBatchSizes: [batch], maxQueueDelayMicroseconds: 0, gpus: 1 }, batchSize: batch };
    const [point] = simulateSweepWithParams(PERF_PROFILES[profile], { ...input, concurrency: { start: c, end: c, step: 1 } });
    return { throughput: point!.throughput, busy: gpuBusyFraction(PERF_PROFILES[profile], input, point!.throughput) };
  };
  const one = sweep('resnet50-fp16-h200', 1, 32, 10);
  const four = sweep('resnet50-fp16-h200', 4, 32, 10);
  assert.ok(one.busy < 0.3 && four.throughput > 3 * one.throughput);
  const bert = sweep('bert-large-seq384-fp16-h200', 2, 16, 10);
  assert.ok(bert.busy > 0.85);
});

test('the sim picks the H200 profiles for nodes with H200s and the T4 ones for every other GPU', () => {
  assert.equal(perfProfileFor({ format: 'onnx' }, 'nvidia-h200-141gb'), 'resnet50-fp16-h200');
  assert.equal(perfProfileFor({ format: 'transformers' }, 'nvidia-h200-141gb'), 'bert-large-seq384-fp16-h200');
  assert.equal(perfProfileFor({ format: 'onnx' }, 'nvidia-l4'), 'resnet50-int8-t4');
});
