/**
 * The GPU recordings as tables, side by side with the seed's T4 figures: per concurrency the
 * throughput and p99 that the pipeline's perf parser reads from perf_analyzer's CSV, the GPU
 * utilization, memory and power Triton exported while the point ran, and the batch the dynamic
 * batcher formed (Triton's statistics).
 *
 *   npx tsx bench/gpu/report.ts [RECORDING.json ...]   (default: test/fixtures/gpu/h200-*.json)
 *
 * Writes bench/results/gpu.md and prints it.
 */
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../../src/assets.js';
import { BERT_LARGE_TARGET, RESNET50_INT8_1_INSTANCE, RESNET50_INT8_4_INSTANCES, type MeasuredSweep } from '../../src/sim/calibration-data.js';
import { executionOf, gaugesOf, type GpuRecording, perfPointOf } from './recording.js';

const FIXTURES = join(PROJECT_ROOT, 'test/fixtures/gpu');

const T4_BY_MODEL: Record<string, MeasuredSweep | undefined> = {
  'resnet50-i1': RESNET50_INT8_1_INSTANCE,
  'resnet50-i4': RESNET50_INT8_4_INSTANCES,
};

const f0 = (v: number | null | undefined) => (v === null || v === undefined ? '–' : v.toFixed(0));
const f1 = (v: number | null | undefined) => (v === null || v === undefined ? '–' : v.toFixed(1));

export function chapterTables(recording: GpuRecording): string {
  const out: string[] = [];
  for (const sweep of recording.sweeps) {
    const t4 = T4_BY_MODEL[sweep.model];
    const bert = sweep.model.startsWith('bert') && BERT_LARGE_TARGET.instances === Number(sweep.model.split('-i')[1]);
    out.push(`### ${sweep.model}`, '');
    out.push('| c | infer/s | p99 ms | GPU util % | GPU memory GiB | power W | mean batch | T4 INT8 infer/s | T4 p90 ms |');
    out.push('|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
    for (const point of sweep.points) {
      const perf = perfPointOf(point);
      const gauges = gaugesOf(point);
      const exec = executionOf(sweep, point);
      const row = t4?.rows.find((r) => r.concurrency === point.concurrency);
      const seed = row ?? (bert && point.concurrency === 1 ? { throughput: BERT_LARGE_TARGET.throughput, p90Us: BERT_LARGE_TARGET.p90Us } : undefined);
      out.push(
        `| ${point.concurrency} | ${perf === null ? `not stable (exit ${point.exitCode})` : f0(perf.throughput)} | ${f1(perf === null ? null : perf.latencyUs.p99 / 1000)} ` +
          `| ${f0(gauges.utilization === null ? null : gauges.utilization * 100)} | ${f1(gauges.memoryUsedBytes === null ? null : gauges.memoryUsedBytes / 2 ** 30)} | ${f0(gauges.powerWatts)} ` +
          `| ${f1(exec.meanBatch)} | ${f0(seed?.throughput)} | ${f1(seed === undefined ? null : seed.p90Us / 1000)} |`,
      );
    }
    out.push('');
  }
  return out.join('\n');
}

async function main(): Promise<void> {
  const paths = process.argv.length > 2 ? process.argv.slice(2) : (await readdir(FIXTURES)).filter((f) => f.startsWith('h200-') && f.endsWith('.json')).map((f) => join(FIXTURES, f));
  const parts: string[] = ['# GPU recordings', ''];
  for (const path of paths.sort()) {
    const recording = JSON.parse(await readFile(path, 'utf8')) as GpuRecording;
    if (recording.plan !== 'chapters' && recording.plan !== 'bert-long') continue; // the search's grid: bench/gpu/search.ts
    parts.push(`## ${recording.plan} (${recording.gpu}; Triton up ${recording.startSeconds} s, models loaded in ${recording.loadSeconds} s, ${recording.elapsedSeconds} s in all)`, '');
    parts.push(chapterTables(recording));
  }
  const text = parts.join('\n');
  await writeFile(join(PROJECT_ROOT, 'bench/results/gpu.md'), text);
  console.log(text);
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
