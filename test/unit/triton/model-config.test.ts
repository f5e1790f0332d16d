import { test } from 'node:test';
import assert from 'node:assert/strict';
import { modelConfigFromVariant, type ModelConfigInput, parseModelConfig, renderModelConfig } from '../../../src/triton/model-config.js';
import type { ModelSpec } from '../../../src/spec/schema.js';

const SAMPLE_DB = { preferredBatchSizes: [32], maxQueueDelayMicroseconds: 1_000_000 };
const BERT_DB = { preferredBatchSizes: [16], maxQueueDelayMicroseconds: 1_000_000 };

// The sample's four variants (seed sample-details.md §1.4), with the missing Bert name added.
const bert: ModelConfigInput = {
  name: 'Bert', platform: 'tensorrt_plan', maxBatchSize: 16, instances: 1, kind: 'KIND_GPU', gpus: [0],
  dynamicBatching: BERT_DB, cudaGraphs: true,
};
const bert2: ModelConfigInput = { ...bert, name: 'Bert-2', instances: 2 };
const resnet: ModelConfigInput = {
  name: 'ResNet50-INT8', platform: 'tensorrt_plan', maxBatchSize: 32, instances: 1, kind: 'KIND_GPU', gpus: [0],
  profile: 2, dynamicBatching: SAMPLE_DB,
};
const resnet2: ModelConfigInput = { ...resnet, name: 'ResNet50-INT8-2', instances: 4 };

test('renders the Bert variants with name, batch 16 and CUDA graphs', () => {
  for (const [cfg, count] of [[bert, 1], [bert2, 2]] as const) {
    const text = renderModelConfig(cfg);
    const lines = text.split('\n');
    assert.ok(lines.includes(`name: "${cfg.name}"`));
    assert.ok(lines.includes('platform: "tensorrt_plan"'));
    assert.ok(lines.includes('max_batch_size: 16'));
    assert.ok(lines.includes('  preferred_batch_size: [ 16 ]'));
    assert.ok(lines.includes('  max_queue_delay_microseconds: 1000000'));
    assert.ok(lines.includes(`    count: ${count}`));
    assert.ok(lines.includes('    gpus: [ 0 ]'));
    assert.ok(lines.includes('    graphs: true'));
    assert.ok(!text.includes('profile'));
  }
});

test('renders ResNet50-INT8 with profile "2" and count 1', () => {
  const text = renderModelConfig(resnet);
  assert.match(text, /^name: "ResNet50-INT8"$/m);
  assert.match(text, /^max_batch_size: 32$/m);
  assert.match(text, /^ {2}preferred_batch_size: \[ 32 \]$/m);
  assert.match(text, /^ {4}count: 1$/m);
  assert.match(text, /^ {4}profile: \["2"\]$/m);
  assert.ok(!text.includes('optimization'));
});

test('renders ResNet50-INT8-2 exactly', () => {
  assert.equal(
    renderModelConfig(resnet2),
    [
      'name: "ResNet50-INT8-2"',
      'platform: "tensorrt_plan"',
      'max_batch_size: 32',
      'dynamic_batching {',
      '  preferred_batch_size: [ 32 ]',
      '  max_queue_delay_microseconds: 1000000',
      '}',
      'instance_group [',
      '  {',
      '    count: 4',
      '    kind: KIND_GPU',
      '    gpus: [ 0 ]',
      '    profile: ["2"]',
      '  }',
      ']',
      '',
    ].join('\n'),
  );
});

test('renders python backend, parameters (sorted, escaped) and CPU instances', () => {
  const text = renderModelConfig({
    name: 'pre', platform: 'python', maxBatchSize: 0, instances: 2, kind: 'KIND_CPU',
    parameters: { z: 'last', a: 'say "hi"\\' },
  });
  assert.equal(
    text,
    [
      'name: "pre"',
      'backend: "python"',
      'max_batch_size: 0',
      'instance_group [',
      '  {',
      '    count: 2',
      '    kind: KIND_CPU',
      '  }',
      ']',
      'parameters {',
      '  key: "a"',
      '  value: {',
      '    string_value: "say \\"hi\\"\\\\"',
      '  }',
      '}',
      'parameters {',
      '  key: "z"',
      '  value: {',
      '    string_value: "last"',
      '  }',
      '}',
      '',
    ].join('\n'),
  );
});

test('render rejects invalid numbers', () => {
  assert.throws(() => renderModelConfig({ ...resnet, instances: 0 }), /count/);
  assert.throws(() => renderModelConfig({ ...resnet, maxBatchSize: 1.5 }), /max_batch_size/);
});

// Written as the sample's triton_server/model_repository/ResNet50-INT8/config.pbtxt shows it.
const SAMPLE_RESNET_CONFIG = `name: "ResNet50-INT8"
platform: "tensorrt_plan"
max_batch_size: 32
output [
  {
    name: "resnet50_v1.5/output/softmax:0"
    data_type: TYPE_FP32
    dims: [ 1001 ]
    label_filename: "imagenet1k_labels.txt"
  },
  {
    name: "ArgMax:0"
    data_type: TYPE_INT32
    dims: [ 1 ]
  }
]
dynamic_batching {
  preferred_batch_size: [ 32 ]
  max_queue_delay_microseconds: 1000000
  default_queue_policy { timeout_action: DELAY default_timeout_microseconds: 1000000000 }
}
# profile 2 = (1, 32, 32)
instance_group [ { count: 1 kind: KIND_GPU gpus: [0] profile: ["2"] } ]
`;

test("parses the sample's ResNet50-INT8 config.pbtxt", () => {
  assert.deepEqual(parseModelConfig(SAMPLE_RESNET_CONFIG), resnet);
});

test("parses the sample's Bert config (no name field) with options.name", () => {
  const text = `platform: "tensorrt_plan"
max_batch_size: 16
dynamic_batching {
  preferred_batch_size: [ 16 ]
  max_queue_delay_microseconds: 1000000
  default_queue_policy {
    timeout_action: DELAY
    default_timeout_microseconds: 1000000000
  }
}
instance_group [
  {
    count: 2
    kind: KIND_GPU
    gpus: [ 0 ]
  }
]
optimization { cuda { graphs: true, allow_inexact_match: false } }
`;
  assert.throws(() => parseModelConfig(text), /no name field/);
  assert.deepEqual(parseModelConfig(text, { name: 'Bert-2' }), bert2);
});

test('round trip: parse(render(x)) deep-equals x', () => {
  const cases: ModelConfigInput[] = [
    bert, bert2, resnet, resnet2,
    { name: 'm', platform: 'onnxruntime_onnx', maxBatchSize: 8, instances: 3, kind: 'KIND_GPU', gpus: [0, 1], cudaGraphs: false },
    { name: 'trt', platform: 'tensorrt_plan', backend: 'tensorrt', maxBatchSize: 4, instances: 1, kind: 'KIND_GPU', profile: 0,
      dynamicBatching: { preferredBatchSizes: [], maxQueueDelayMicroseconds: 0 } },
    { name: 'vllm-model', platform: 'python', backend: 'vllm', maxBatchSize: 0, instances: 1, kind: 'KIND_CPU',
      parameters: { 'quote"d': 'tab\there\nnl', empty: '' } },
  ];
  for (const c of cases) assert.deepEqual(parseModelConfig(renderModelConfig(c)), c);
});

test('accepts text-format variants: colons before messages, <>, separators, single quotes', () => {
  const text = `name: 'x' ; platform: "onnx" "runtime_onnx"
max_batch_size: 2,
dynamic_batching: < preferred_batch_size: 1 preferred_batch_size: 2 >
instance_group: [ { count: 2, kind: KIND_CPU } ]`;
  assert.deepEqual(parseModelConfig(text), {
    name: 'x', platform: 'onnxruntime_onnx', maxBatchSize: 2, instances: 2, kind: 'KIND_CPU',
    dynamicBatching: { preferredBatchSizes: [1, 2], maxQueueDelayMicroseconds: 0 },
  });
});

test('malformed text throws naming line and column', () => {
  assert.throws(
    () => parseModelConfig('name: "a"\nplatform: "tensorrt_plan"\ninstance_group [ { count: 1 kind KIND_GPU } ]\n'),
    { message: /line 3, column 34: expected ":" after field "kind", found "KIND_GPU"/ },
  );
  assert.throws(() => parseModelConfig('name: "a"\ndynamic_batching {\n  max_queue_delay_microseconds: 1\n'), {
    message: /line 4, column 1: expected "}" to close the message opened at line 2, column 18/,
  });
  assert.throws(() => parseModelConfig('name: "unterminated\n'), { message: /line 1, column 7: unterminated string/ });
  assert.throws(() => parseModelConfig('name: "a"\nplatform: "tensorrt_plan"\n  gpus: [0 1]'), { message: /line 3, column 12: expected "," or "]"/ });
  assert.throws(() => parseModelConfig('name: "a"\nplatform: "tensorrt_plan"\nmax_batch_size: "32"'), {
    message: /line 3, column 17: field "max_batch_size" must be an integer/,
  });
  assert.throws(() => parseModelConfig('name: "a"\nplatform: "tensorrt_plan"\n@'), { message: /line 3, column 1: unexpected character/ });
});

test('unsupported values throw with positions', () => {
  const base = 'name: "a"\nplatform: "tensorrt_plan"\n';
  assert.throws(() => parseModelConfig(base + 'instance_group [ { kind: KIND_MODEL } ]'), /line 3, column 26: unsupported instance kind/);
  assert.throws(() => parseModelConfig(base + 'instance_group [ { count: 1 }, { count: 2 } ]'), /line 3.*only one instance_group/);
  assert.throws(() => parseModelConfig(base + 'max_batch_size: 1\nmax_batch_size: 2'), /line 4, column 1: field "max_batch_size" is set more than once/);
  assert.throws(() => parseModelConfig('name: "a"\nplatform: "tensorflow_savedmodel"'), /line 2, column 11: unsupported platform/);
  assert.throws(() => parseModelConfig('name: "a"'), /neither platform nor backend/);
});

const resnetModel: ModelSpec = {
  name: 'resnet50',
  source: 'gs://bucket/resnet50.onnx',
  format: 'onnx',
  precision: 'int8',
  inputs: [],
  optimizationProfiles: [
    { min: 1, opt: 8, max: 32 },
    { min: 1, opt: 16, max: 32 },
    { min: 1, opt: 32, max: 32 },
  ],
  variants: [
    { name: 'ResNet50-INT8', instances: 1, maxBatchSize: 32, dynamicBatching: SAMPLE_DB },
    { name: 'ResNet50-INT8-2', instances: 4, maxBatchSize: 32, dynamicBatching: SAMPLE_DB, profile: 2 },
  ],
  sla: {
    latencyMs: 100, percentile: 90, minThroughput: 3000, batchSize: 32,
    concurrency: { start: 1, end: 10, step: 1 }, regressionTolerance: 0.1, repeats: 1, falseRollbackRate: 0.01,
  },
};

test('modelConfigFromVariant reproduces the sample ResNet configs (profile defaults to the last)', () => {
  const target = { platform: 'tensorrt_plan', kind: 'KIND_GPU' } as const;
  const [v1, v2] = resnetModel.variants;
  assert.ok(v1 !== undefined && v2 !== undefined);
  assert.deepEqual(modelConfigFromVariant(resnetModel, v1, target), resnet);
  assert.deepEqual(modelConfigFromVariant(resnetModel, v2, target), resnet2);
  assert.equal(modelConfigFromVariant(resnetModel, { ...v1, profile: 0 }, target).profile, 0);
  assert.throws(() => modelConfigFromVariant(resnetModel, { ...v1, profile: 3 }, target), /has 3 optimization profile/);
  // ONNX Runtime has no TensorRT profile; CPU instances have no gpus.
  assert.deepEqual(modelConfigFromVariant(resnetModel, v1, { platform: 'onnxruntime_onnx', kind: 'KIND_CPU' }), {
    name: 'ResNet50-INT8', platform: 'onnxruntime_onnx', maxBatchSize: 32, instances: 1, kind: 'KIND_CPU', dynamicBatching: SAMPLE_DB,
  });
});

test('modelConfigFromVariant places instances on every GPU of a pod with several (no gpus list), and on device 0 of a one-GPU pod', () => {
  const target = { platform: 'tensorrt_plan', kind: 'KIND_GPU' } as const;
  const v2 = resnetModel.variants[1]!;
  assert.deepEqual(modelConfigFromVariant(resnetModel, v2, target, 1), resnet2, 'one GPU: unchanged, gpus [0]');
  const two = modelConfigFromVariant(resnetModel, v2, target, 2);
  assert.equal(two.gpus, undefined);
  assert.equal(two.instances, 4, 'count is per GPU');
  const text = renderModelConfig(two);
  assert.match(text, /instance_group \[\n {2}\{\n {4}count: 4\n {4}kind: KIND_GPU\n/);
  assert.doesNotMatch(text, /gpus:/);
  assert.equal(parseModelConfig(text).gpus, undefined, 'parses back without a gpus list');
  assert.equal(modelConfigFromVariant(resnetModel, v2, { platform: 'onnxruntime_onnx', kind: 'KIND_CPU' }, 4).gpus, undefined, 'CPU instances never list GPUs');
});

test('modelConfigFromVariant turns CUDA graphs on for BERT-style Transformers models', () => {
  const bertModel: ModelSpec = {
    ...resnetModel,
    name: 'bert-large',
    format: 'transformers',
    sequenceLength: 384,
    optimizationProfiles: [{ min: 1, opt: 16, max: 16 }],
    variants: [{ name: 'Bert-2', instances: 2, maxBatchSize: 16, dynamicBatching: BERT_DB }],
  };
  const v = bertModel.variants[0];
  assert.ok(v !== undefined);
  const target = { platform: 'tensorrt_plan', kind: 'KIND_GPU' } as const;
  assert.deepEqual(modelConfigFromVariant(bertModel, v, target), { ...bert2, profile: 0 });
  assert.equal(modelConfigFromVariant(bertModel, v, { ...target, cudaGraphs: false }).cudaGraphs, undefined);
  assert.equal(modelConfigFromVariant(resnetModel, v, { ...target, cudaGraphs: true }).cudaGraphs, true);
});
