import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { specInCurrentForm } from '../../../src/spec/legacy.js';
import { TF_CHECKPOINT_MESSAGE } from '../../../src/spec/schema.js';
import { validateSpec } from '../../../src/spec/validate.js';
import { specWith } from '../../helpers/specs.js';

/** The seed example's BERT as specs named it before one ONNX builder. */
const before = () =>
  specWith((spec) => {
    const bert = spec.models!.find((m) => m.name === 'bert-large')! as Record<string, unknown>;
    bert['format'] = 'tf-checkpoint';
    bert['source'] = 'https://api.ngc.nvidia.com/v2/models/nvidia/bert_tf_ckpt_large_qa_squad2_amp_384/versions/19.03.1/zip';
    delete bert['calibration'];
    const resnet = spec.models!.find((m) => m.name === 'resnet50')! as Record<string, unknown>;
    delete resnet['calibration'];
    resnet['calibrationCache'] = 'gs://my-triton-models/sources/resnet50.cache';
  });

describe('specs from before one ONNX builder (pure)', () => {
  it('are refused as new specs, with what to do', () => {
    const result = validateSpec(before());
    assert.ok(!result.ok);
    assert.ok(result.errors.some((e) => e.message.startsWith(TF_CHECKPOINT_MESSAGE)), JSON.stringify(result.errors));
    assert.ok(result.errors.some((e) => /calibrationCache/.test(`${e.path} ${e.message}`)), JSON.stringify(result.errors));
  });

  it('read in today\'s form, validate as they did when their runs started', () => {
    const result = validateSpec(specInCurrentForm(before()));
    assert.ok(result.ok, JSON.stringify(!result.ok && result.errors));
    const bert = result.spec.models.find((m) => m.name === 'bert-large')!;
    assert.equal(bert.format, 'transformers');
    assert.deepEqual(result.spec.models.find((m) => m.name === 'resnet50')!.calibration, { cache: 'gs://my-triton-models/sources/resnet50.cache' });
  });

  it('leave today\'s specs and non-specs as they are', () => {
    const today = specWith(() => undefined);
    assert.deepEqual(specInCurrentForm(today), today);
    assert.equal(specInCurrentForm(null), null);
    assert.equal(specInCurrentForm('spec'), 'spec');
  });
});
