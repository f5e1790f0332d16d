import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseSpecText } from '../../../src/spec/load.js';
import { parseModelConfig, renderModelConfig } from '../../../src/triton/model-config.js';
import { SERVING_TARGETS, servingTargetFor, torchGpuModelConfig, torchNetworkFor } from '../../../src/triton/serving-target.js';
import { readFileSync } from 'node:fs';

const seed = parseSpecText(readFileSync(new URL('../../../examples/sim-seed.yaml', import.meta.url), 'utf8'));
if (!seed.ok) throw new Error('examples/sim-seed.yaml does not validate');
const [resnet, bert] = seed.spec.models;

test('targets map to their serving kinds: TensorRT on the GPU for sim and gke, ONNX on the CPU for local', () => {
  assert.deepEqual(servingTargetFor('sim'), SERVING_TARGETS['tensorrt-gpu']);
  assert.deepEqual(servingTargetFor('gke'), SERVING_TARGETS['tensorrt-gpu']);
  assert.deepEqual(servingTargetFor('local'), SERVING_TARGETS['onnx-cpu']);
});

test('torch-gpu config.pbtxt: the python backend on KIND_GPU with the variant\'s batching, the network and its seed', () => {
  const variant = resnet!.variants[1]!;
  const text = renderModelConfig(torchGpuModelConfig(resnet!, variant, 7));
  assert.match(text, /^backend: "python"$/m);
  assert.doesNotMatch(text, /platform:|profile:/);
  const parsed = parseModelConfig(text);
  assert.equal(parsed.kind, 'KIND_GPU');
  assert.equal(parsed.instances, variant.instances);
  assert.equal(parsed.maxBatchSize, variant.maxBatchSize);
  assert.deepEqual(parsed.dynamicBatching, variant.dynamicBatching);
  assert.deepEqual(parsed.parameters, { network: 'resnet50', seed: '7' });
});

test('torch-gpu stands the sample\'s two networks in by format; BERT only at sequence length 384', () => {
  assert.equal(torchNetworkFor(resnet!), 'resnet50');
  assert.equal(torchNetworkFor(bert!), 'bert-large-seq384');
  assert.throws(() => torchNetworkFor({ ...bert!, sequenceLength: 128 }), /model "bert-large": the torch-gpu kind serves BERT-Large at sequence length 384 only, got 128/);
});
