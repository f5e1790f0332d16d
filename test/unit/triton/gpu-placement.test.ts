/**
 * Instance placement on a real GPU (an NVIDIA H200, one GPU; bench/gpu's placement plan, committed
 * in test/fixtures/gpu/h200-placement.json): ResNet50's 4-instance variant as a 1-GPU pod renders it
 * (gpus [0]), as a pod with several GPUs renders it (no gpus list), as two groups of 2 on GPU 0, and
 * naming a GPU the machine lacks.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { invalidGpuLoadError, renderModelConfig } from '../../../src/triton/model-config.js';
import { torchGpuModelConfig } from '../../../src/triton/serving-target.js';
import { parseSpecText } from '../../../src/spec/load.js';
import { type GpuRecording, perfPointOf } from '../../../bench/gpu/recording.js';
import { GPU_WEIGHTS_SEED } from '../../../bench/gpu/settings.js';

const recording = JSON.parse(readFileSync(new URL('../../fixtures/gpu/h200-placement.json', import.meta.url), 'utf8')) as GpuRecording;
const seed = parseSpecText(readFileSync(new URL('../../../examples/sim-seed.yaml', import.meta.url), 'utf8'));
if (!seed.ok) throw new Error('examples/sim-seed.yaml does not validate');
const resnet = seed.spec.models[0]!;
const fourInstances = resnet.variants.find((v) => v.instances === 4)!;

/** Instances Triton created per model, from its log, with the GPU devices it put them on. */
function placements(): Map<string, string[]> {
  const byModel = new Map<string, string[]>();
  for (const line of recording.instanceLog ?? []) {
    const created = /ModelInstanceInitialize: (\S+)_\d+_\d+ \((GPU device \d+)\)/.exec(line);
    if (created) byModel.set(created[1]!, [...(byModel.get(created[1]!) ?? []), created[2]!]);
  }
  return byModel;
}

/** Mean throughput at one concurrency over the model's stable points (both rounds). */
function throughputAt(model: string, concurrency: number): number {
  const values = recording.sweeps
    .filter((s) => s.model === model)
    .flatMap((s) => s.points.filter((p) => p.concurrency === concurrency).map(perfPointOf))
    .flatMap((p) => (p === null ? [] : [p.throughput]));
  assert.ok(values.length > 0, `${model} has a stable point at c=${concurrency}`);
  return values.reduce((a, b) => a + b, 0) / values.length;
}

test('the recording served the configs the pipeline renders for pods with one GPU and with several', () => {
  assert.match(recording.gpu, /^NVIDIA H200/);
  const rendered = (name: string, gpusPerPod: number) => renderModelConfig(torchGpuModelConfig(resnet, { ...fourInstances, name }, GPU_WEIGHTS_SEED, gpusPerPod));
  assert.equal(recording.configs['resnet50-i4-gpu0'], rendered('resnet50-i4-gpu0', 1));
  assert.equal(recording.configs['resnet50-i4-every-gpu'], rendered('resnet50-i4-every-gpu', 2));
  assert.doesNotMatch(recording.configs['resnet50-i4-every-gpu']!, /gpus:/);
});

test('a group without a gpus list puts its count on every GPU Triton sees: 4 instances on the one GPU, as gpus [0] does', () => {
  const placed = placements();
  const onGpu0 = Array<string>(4).fill('GPU device 0');
  assert.deepEqual(placed.get('resnet50-i4-gpu0'), onGpu0);
  assert.deepEqual(placed.get('resnet50-i4-every-gpu'), onGpu0);
  // Two groups add up: 2 + 2 instances, named by group (_0_*, _1_*).
  assert.deepEqual(placed.get('resnet50-2x2-gpu0'), onGpu0);
  assert.equal(placed.has('resnet50-i4-gpu1'), false);
});

test('the same 4 instances on the same GPU serve alike, however the config places them', () => {
  for (const concurrency of [6, 10]) {
    const pinned = throughputAt('resnet50-i4-gpu0', concurrency);
    for (const model of ['resnet50-i4-every-gpu', 'resnet50-2x2-gpu0']) {
      const ratio = throughputAt(model, concurrency) / pinned;
      assert.ok(Math.abs(ratio - 1) < 0.1, `${model} at c=${concurrency}: ${ratio.toFixed(3)} of gpus [0]`);
    }
  }
});

test("Triton refuses a group naming a GPU it cannot see, in the words the sim's Triton uses", () => {
  assert.equal(recording.models?.['resnet50-i4-gpu1'], 'UNAVAILABLE');
  const expected = invalidGpuLoadError('resnet50-i4-gpu1', 0, 1, 1);
  assert.ok(recording.instanceLog?.some((line) => line.includes(expected)), `Triton's log has: ${expected}`);
  const reply = JSON.parse(recording.loadErrors?.['resnet50-i4-gpu1']?.body ?? '{}') as { error?: string };
  // The load reply carries the same reason after its own prefix.
  const reason = expected.slice(expected.indexOf('Invalid argument: '));
  assert.equal(reply.error?.trimEnd(), `load failed for model 'resnet50-i4-gpu1': version 1 is at UNAVAILABLE state: ${reason};`);
});
