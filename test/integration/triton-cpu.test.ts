/**
 * A real Triton (2.51, CPU, python backend running ONNX Runtime) serving our ONNX model from a
 * repository whose config.pbtxt comes from the pipeline's pure renderer, measured by the real
 * perf_analyzer whose CSV the pipeline's parser reads. Shows that max_batch_size, instance count
 * and dynamic batching take effect.
 */
import assert from 'node:assert/strict';
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { execa } from 'execa';
import { runPerfAnalyzer } from '../../src/targets/local/perf-analyzer.js';
import { startTritonServer, type TritonServer } from '../../src/targets/local/triton-server.js';
import { type ModelConfigInput, renderModelConfig } from '../../src/triton/model-config.js';
import { PROJECT_ROOT } from '../helpers/specs.js';
import { tempDir } from '../helpers/temp-dir.js';
import { freePort } from '../standins/gcs-emulator.js';

let triton: TritonServer;

const batched: ModelConfigInput = { name: 'mini-batched', platform: 'python', maxBatchSize: 8, instances: 2, kind: 'KIND_CPU', dynamicBatching: { preferredBatchSizes: [4, 8], maxQueueDelayMicroseconds: 2000 } };
const single: ModelConfigInput = { name: 'mini-single', platform: 'python', maxBatchSize: 8, instances: 1, kind: 'KIND_CPU' };

before(async () => {
  const dir = await tempDir('triton-cpu');
  await execa(join(PROJECT_ROOT, '.tools/triton/venv/bin/python'), [join(PROJECT_ROOT, 'deploy/local/build_models.py'), join(dir, 'onnx')]);
  const repository = join(dir, 'repository');
  for (const config of [batched, single]) {
    await mkdir(join(repository, config.name, '1'), { recursive: true });
    await writeFile(join(repository, config.name, 'config.pbtxt'), renderModelConfig(config));
    await copyFile(join(dir, 'onnx', 'resnet-mini.onnx'), join(repository, config.name, '1', 'model.onnx'));
    await copyFile(join(PROJECT_ROOT, 'deploy/local/triton_onnx_model.py'), join(repository, config.name, '1', 'model.py'));
  }
  triton = await startTritonServer({ repository, models: [batched.name, single.name], ports: { http: await freePort(), grpc: await freePort(), metrics: await freePort() }, logFile: join(dir, 'triton.log') });
});

after(() => triton?.stop());

const measure = (model: string, concurrency: { start: number; end: number; step: number }) =>
  runPerfAnalyzer({ model, url: triton.grpcUrl, protocol: 'grpc', batchSize: 1, concurrency, percentile: 99, measurementIntervalMs: 1000, shapes: [], maxTrials: 10, stabilityPercentage: 50 });

describe('Triton on the CPU with the pipeline\'s config.pbtxt, measured by perf_analyzer', () => {
  it('loads the rendered config: python backend, max_batch_size, CPU instance count, dynamic batching, IO from the ONNX file', async () => {
    const config = (await triton.modelConfig(batched.name)) as {
      backend: string;
      max_batch_size: number;
      instance_group: Array<{ count: number; kind: string }>;
      dynamic_batching?: { preferred_batch_size: number[]; max_queue_delay_microseconds: number };
      input: Array<{ name: string; dims: number[] }>;
    };
    assert.equal(config.backend, 'python');
    assert.equal(config.max_batch_size, 8);
    assert.deepEqual(config.instance_group.map((g) => [g.count, g.kind]), [[2, 'KIND_CPU']]);
    assert.deepEqual(config.dynamic_batching?.preferred_batch_size, [4, 8]);
    assert.equal(config.dynamic_batching?.max_queue_delay_microseconds, 2000);
    assert.deepEqual(config.input.map((i) => [i.name, i.dims.map(Number)]), [['input', [3, 64, 64]]]);
    assert.match(await triton.log(), /mini-batched_0_1/, 'a second model instance started');
  });

  it('batches concurrent requests with dynamic batching, and executes one by one without it', async () => {
    await measure(batched.name, { start: 8, end: 8, step: 1 });
    const withBatching = await triton.statistics(batched.name);
    assert.ok(withBatching.executionCount < withBatching.inferenceCount / 2, JSON.stringify(withBatching));
    await measure(single.name, { start: 8, end: 8, step: 1 });
    const without = await triton.statistics(single.name);
    assert.equal(without.executionCount, without.inferenceCount);
  });

  it('sweeps concurrency with perf_analyzer; its CSV parses into SLA points', async () => {
    const { points, stdout } = await measure(batched.name, { start: 1, end: 3, step: 1 });
    assert.deepEqual(points.map((p) => p.concurrency), [1, 2, 3]);
    for (const p of points) {
      assert.ok(p.throughput > 0);
      assert.ok(p.latencyUs.p99 >= p.latencyUs.p50);
    }
    assert.match(stdout, /Perf Analyzer|Request concurrency: 3/);
  });

  it('unloads and reloads a model under explicit model control', async () => {
    await triton.unload(single.name);
    assert.equal((await fetch(`http://127.0.0.1:${triton.ports.http}/v2/models/${single.name}/ready`)).status, 400);
    await triton.load(single.name);
    assert.equal((await fetch(`http://127.0.0.1:${triton.ports.http}/v2/models/${single.name}/ready`)).status, 200);
    assert.match(await triton.metrics(), /nv_inference_request_success\{model="mini-batched",version="1"\} [1-9]/);
  });
});
