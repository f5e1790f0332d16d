/**
 * The engine build plan against the spec: profiles per input-dimension role, builder flags,
 * calibration, the export step, and the Job that carries the plan as BUILD_PLAN.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { describeEngineBuild, EngineBuildPlanError, type EngineBuildPlan, planEngineBuild } from '../../../src/plan/engine-build.js';
import { engineBuilderImageFor, jobEnv, renderEngineBuildJob, tensorrtImageFor } from '../../../src/plan/jobs.js';
import type { DeploymentSpec, DeploymentSpecInput, ModelSpec } from '../../../src/spec/schema.js';
import { validateSpec } from '../../../src/spec/validate.js';
import { exampleSpec, specWith } from '../../helpers/specs.js';

const GIB = 2 ** 30;

function valid(input: DeploymentSpecInput): DeploymentSpec {
  const result = validateSpec(input);
  assert.ok(result.ok, JSON.stringify(!result.ok && result.errors));
  return result.spec;
}

function errorsOf(input: DeploymentSpecInput): Array<{ path: string; message: string }> {
  const result = validateSpec(input);
  assert.equal(result.ok, false, 'the spec should not validate');
  return result.ok ? [] : result.errors;
}

const seed = () => valid(exampleSpec('sim-seed'));
const resnet = (): ModelSpec => seed().models[0]!;
const bert = (): ModelSpec => seed().models[1]!;

describe('engine build plan', () => {
  it('ResNet50 INT8: one profile per batch triple, no sequence, INT8 with FP16 fallback, the cache checked', () => {
    const plan = planEngineBuild(resnet(), 'nvidia-tesla-t4');
    assert.deepEqual(plan.profiles, [
      { batch: { min: 1, opt: 8, max: 32 }, sequence: null },
      { batch: { min: 1, opt: 16, max: 32 }, sequence: null },
      { batch: { min: 1, opt: 32, max: 32 }, sequence: null },
    ]);
    assert.equal(plan.export, null);
    assert.deepEqual(plan.source, { uri: resnet().source, format: 'onnx' });
    assert.deepEqual(plan.precision, { mode: 'int8', builderFlags: ['INT8', 'FP16'] });
    assert.deepEqual(plan.calibration, {
      cache: 'gs://sim-models/calibration/resnet50.cache',
      data: null,
      profile: 2,
      batchSize: 32,
      onCacheMismatch: 'fail',
      algorithm: 'entropy2',
    });
    assert.equal(plan.workspaceBytes, 4 * GIB);
  });

  it('the gke example calibrates ResNet50 from data at the last profile\'s opt batch', () => {
    const plan = planEngineBuild(valid(exampleSpec('gke')).models[0]!, 'nvidia-tesla-t4');
    assert.deepEqual(plan.calibration, {
      cache: null,
      data: 'gs://my-triton-models/calibration/resnet50-imagenet-500.npz',
      profile: 2,
      batchSize: 32,
      onCacheMismatch: 'recalibrate',
      algorithm: 'entropy2',
    });
  });

  it('BERT: exported to ONNX with dynamic batch and sequence axes, each batch triple kept, sequence 384', () => {
    const plan = planEngineBuild(bert(), 'nvidia-tesla-t4');
    assert.deepEqual(plan.export, {
      exporter: 'torch.onnx.export',
      opset: 17,
      inputs: ['input_ids', 'attention_mask', 'token_type_ids'],
      outputs: ['start_logits', 'end_logits'],
      dynamicAxes: { '0': 'batch', '1': 'sequence' },
      inputDtype: 'int32',
      sampleShape: [2, 384],
    });
    assert.deepEqual(plan.profiles, [{ batch: { min: 1, opt: 16, max: 16 }, sequence: { min: 384, opt: 384, max: 384 } }]);
    assert.equal(plan.calibration?.data, 'gs://sim-models/calibration/squad2-dev-384.npz');
    assert.equal(plan.calibration?.batchSize, 16);

    const triples = { ...bert(), optimizationProfiles: [{ min: 1, opt: 4, max: 8 }, { min: 4, opt: 16, max: 32 }] };
    assert.deepEqual(
      planEngineBuild(triples, 'nvidia-tesla-t4').profiles.map((p) => [p.batch, p.sequence]),
      [
        [{ min: 1, opt: 4, max: 8 }, { min: 384, opt: 384, max: 384 }],
        [{ min: 4, opt: 16, max: 32 }, { min: 384, opt: 384, max: 384 }],
      ],
    );
  });

  it('fp16 and fp32 build without calibration', () => {
    const fp16 = planEngineBuild({ ...resnet(), precision: 'fp16', calibration: undefined }, 'nvidia-l4');
    assert.deepEqual(fp16.precision, { mode: 'fp16', builderFlags: ['FP16'] });
    assert.equal(fp16.calibration, null);
    assert.equal(fp16.workspaceBytes, 8 * GIB);
    assert.deepEqual(planEngineBuild({ ...resnet(), precision: 'fp32', calibration: undefined }, 'nvidia-tesla-a100').precision, { mode: 'fp32', builderFlags: [] });
  });

  it('cache and data: a cache that does not fit is regenerated from the data', () => {
    const plan = planEngineBuild({ ...resnet(), calibration: { cache: 'gs://b/r.cache', data: 'gs://b/r.npz' } }, 'nvidia-tesla-t4');
    assert.equal(plan.calibration?.onCacheMismatch, 'recalibrate');
    assert.match(describeEngineBuild(plan).join('\n'), /calibrate INT8 from cache gs:\/\/b\/r\.cache \(checked against the network\), else data gs:\/\/b\/r\.npz at profile 2, batch 32/);
  });

  it('INT8 without calibration: refused by the spec with what to do, and marked in the plan the builder refuses', () => {
    // The builder needs it on GKE; the simulator builds nothing.
    const errors = errorsOf(specWith((s) => ((s.target = 'gke'), delete s.models[0]!.calibration)));
    const error = errors.find((e) => e.path === 'models[0].calibration');
    assert.ok(error, JSON.stringify(errors));
    assert.match(error.message, /INT8 engine needs calibration: data \(an \.npz of input arrays to calibrate on\) or cache .*; or set precision: fp16/);
    const plan = planEngineBuild({ ...resnet(), calibration: undefined }, 'nvidia-tesla-t4');
    assert.equal(plan.calibration, null);
    assert.match(describeEngineBuild(plan).join('\n'), /refuse: INT8 without calibration/);
  });

  it('a Transformers model without a sequence length cannot be planned', () => {
    assert.throws(() => planEngineBuild({ ...bert(), sequenceLength: undefined }, 'nvidia-tesla-t4'), (error: Error) => {
      assert.ok(error instanceof EngineBuildPlanError);
      assert.match(error.message, /needs sequenceLength/);
      return true;
    });
  });

  it('describes its steps for logs', () => {
    assert.deepEqual(describeEngineBuild(planEngineBuild(bert(), 'nvidia-tesla-t4')), [
      'fetch https://example.com/models/bert-large-uncased-squad2.tar.gz',
      'export to ONNX (opset 17; inputs input_ids, attention_mask, token_type_ids; dynamic batch and sequence)',
      'calibrate INT8 from data gs://sim-models/calibration/squad2-dev-384.npz at profile 0, batch 16',
      'build with INT8+FP16, 1 profile(s) (batch 1..16..16, sequence 384), workspace 4 GiB',
    ]);
  });
});

describe('model format and calibration in the spec', () => {
  it('refuses tf-checkpoint, saying to convert the checkpoint to a Transformers model', () => {
    const errors = errorsOf(specWith((s) => ((s.models[1] as { format: string }).format = 'tf-checkpoint')));
    const error = errors.find((e) => e.path === 'models[1].format');
    assert.ok(error, JSON.stringify(errors));
    assert.match(error.message, /"tf-checkpoint" is no longer built.*convert the checkpoint once to a Hugging Face Transformers question-answering model.*format: transformers.*docs\/gke\.md/);
    assert.match(error.message, /use one of: "onnx", "transformers"/);
  });

  it('points the old calibrationCache field at calibration', () => {
    const errors = errorsOf(specWith((s) => ((s.models[0] as Record<string, unknown>)['calibrationCache'] = 'gs://b/c')));
    assert.match(errors.find((e) => e.path === 'models[0].calibrationCache')?.message ?? '', /did you mean "calibration"/);
  });

  const bad: Array<[string, (s: DeploymentSpecInput) => void, string, RegExp]> = [
    ['an empty calibration', (s) => (s.models[0]!.calibration = {}), 'models[0].calibration', /needs cache .* or data/],
    ['calibration data that is not .npz', (s) => (s.models[0]!.calibration = { data: 'gs://b/images.tar' }), 'models[0].calibration.data', /\.npz of named input arrays/],
    ['calibration on an fp16 model', (s) => (s.models[0]!.precision = 'fp16'), 'models[0].calibration', /only by INT8 builds/],
    ['a Transformers model without sequence length', (s) => delete s.models[1]!.sequenceLength, 'models[1].sequenceLength', /Transformers model .* needs sequenceLength/],
  ];
  for (const [what, change, path, message] of bad) {
    it(`rejects ${what}`, () => {
      const errors = errorsOf(specWith(change));
      const match = errors.find((e) => e.path === path);
      assert.ok(match, `no error at ${path}: ${JSON.stringify(errors)}`);
      assert.match(match.message, message);
    });
  }

  it('the local target needs no calibration for INT8 (it quantizes on the CPU)', () => {
    const spec = exampleSpec('local');
    spec.models[0]!.precision = 'int8';
    valid(spec);
  });
});

describe('engine-build Job', () => {
  const spec = seed();
  const job = (model: ModelSpec) =>
    renderEngineBuildJob({
      name: 'trt-x',
      namespace: 'triton-pipeline',
      model,
      engineKey: 'abc',
      planUri: 'gs://b/engines/x/abc/model.plan',
      recordUri: 'gs://b/engines/x/abc/build-record.json',
      tensorrtImage: engineBuilderImageFor(spec),
      nodePool: 'accel',
      acceleratorType: 'nvidia-tesla-t4',
      scriptsConfigMap: 'triton-pipeline-job-scripts',
    });

  it('runs the engine builder image of the Triton release, from the project\'s Artifact Registry', () => {
    assert.equal(engineBuilderImageFor(spec), 'us-central1-docker.pkg.dev/sim-project/triton-pipeline/engine-builder:24.08');
    assert.equal(engineBuilderImageFor({ project: 'p', region: 'europe-west4', release: { image: 'nvcr.io/nvidia/tritonserver:24.09-py3' } }), 'europe-west4-docker.pkg.dev/p/triton-pipeline/engine-builder:24.09');
    assert.equal(tensorrtImageFor(spec.release.image), 'nvcr.io/nvidia/tensorrt:24.08-py3', 'the image it is built FROM');
    assert.throws(() => engineBuilderImageFor({ ...spec, release: { image: 'my/triton:latest' } }), /NGC tag/);
    const container = (job(bert())['spec'] as { template: { spec: { containers: Array<{ image: string }> } } }).template.spec.containers[0]!;
    assert.equal(container.image, engineBuilderImageFor(spec));
  });

  it('passes the plan as one BUILD_PLAN variable, not loose calibration or sequence variables', () => {
    for (const model of [resnet(), bert()]) {
      const env = jobEnv(job(model));
      assert.deepEqual(JSON.parse(env['BUILD_PLAN']!) as EngineBuildPlan, planEngineBuild(model, 'nvidia-tesla-t4'));
      assert.equal(env['CALIBRATION_CACHE'], undefined);
      assert.equal(env['SEQUENCE_LENGTH'], undefined);
      assert.equal(env['PROFILES'], model.optimizationProfiles.map((p) => `${p.min},${p.opt},${p.max}`).join(';'));
    }
  });
});
