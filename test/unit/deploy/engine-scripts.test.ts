/**
 * The engine-build Job's scripts (deploy/jobs) without a GPU: their Python unittest (plan parsing,
 * shapes per profile, calibration cache and data checks, archives, dependency check) run on the
 * plans this pipeline writes, and the Job's own environment refused on a machine without the
 * builder's packages, with what to do.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { execa } from 'execa';
import { planEngineBuild } from '../../../src/plan/engine-build.js';
import { engineBuilderImageFor, jobEnv, renderEngineBuildJob } from '../../../src/plan/jobs.js';
import type { ModelSpec } from '../../../src/spec/schema.js';
import { validateSpec } from '../../../src/spec/validate.js';
import { exampleSpec, PROJECT_ROOT } from '../../helpers/specs.js';

const PYTHON = process.env['PYTHON'] ?? 'python3';

function models(name: string): ModelSpec[] {
  const result = validateSpec(exampleSpec(name));
  assert.ok(result.ok, JSON.stringify(!result.ok && result.errors));
  return result.spec.models;
}

let fixtures: string;
before(async () => {
  fixtures = await mkdtemp(join(tmpdir(), 'engine-plans-'));
  const [resnet, bert] = models('sim-seed');
  const plans: Record<string, unknown> = {
    'resnet50-int8-cache.json': planEngineBuild(resnet!, 'nvidia-tesla-t4'),
    'resnet50-int8-data.json': planEngineBuild(models('gke')[0]!, 'nvidia-tesla-t4'),
    'resnet50-fp16.json': planEngineBuild({ ...resnet!, precision: 'fp16', calibration: undefined }, 'nvidia-l4'),
    'bert-int8-data.json': planEngineBuild(bert!, 'nvidia-tesla-t4'),
    'bert-fp16-batches.json': planEngineBuild({ ...bert!, precision: 'fp16', calibration: undefined, optimizationProfiles: [{ min: 1, opt: 4, max: 8 }, { min: 1, opt: 16, max: 16 }] }, 'nvidia-tesla-t4'),
    'resnet50-int8-uncalibrated.json': { expectError: 'INT8 engine needs calibration', plan: planEngineBuild({ ...resnet!, calibration: undefined }, 'nvidia-tesla-t4') },
  };
  for (const [name, plan] of Object.entries(plans)) await writeFile(join(fixtures, name), JSON.stringify(plan));
});
after(() => rm(fixtures, { recursive: true, force: true }));

describe('engine-build scripts', () => {
  it('pass their Python unittest, on the plans this pipeline writes', async () => {
    const run = await execa(PYTHON, ['-m', 'unittest', 'discover', '-v', '-s', join(PROJECT_ROOT, 'deploy/jobs/tests')], {
      reject: false,
      all: true,
      env: { ENGINE_PLAN_FIXTURES: fixtures, PYTHONDONTWRITEBYTECODE: '1' },
    });
    assert.equal(run.exitCode, 0, run.all);
    assert.match(run.all ?? '', /test_plans_written_by_the_pipeline_load \(.*\) \.\.\. ok/, 'the pipeline\'s plans were loaded, not skipped');
    assert.match(run.all ?? '', /^OK/m);
  });

  it('refuse the rendered Job at once on an image without the builder\'s packages, saying what to do', async () => {
    const spec = validateSpec(exampleSpec('sim-seed'));
    assert.ok(spec.ok);
    const job = renderEngineBuildJob({
      name: 'trt-bert',
      namespace: 'triton-pipeline',
      model: spec.spec.models[1]!,
      engineKey: 'k',
      planUri: 'gs://b/engines/bert/k/model.plan',
      recordUri: 'gs://b/engines/bert/k/build-record.json',
      tensorrtImage: engineBuilderImageFor(spec.spec),
      nodePool: 'accel',
      acceleratorType: 'nvidia-tesla-t4',
      scriptsConfigMap: 'triton-pipeline-job-scripts',
    });
    const run = await execa(PYTHON, [join(PROJECT_ROOT, 'deploy/jobs/engine_plan.py'), 'check-deps'], {
      reject: false,
      env: { BUILD_PLAN: jobEnv(job)['BUILD_PLAN']!, PYTHONDONTWRITEBYTECODE: '1' },
    });
    // No TensorRT on a development or CI machine: the check names what is missing and the image to build.
    assert.equal(run.exitCode, 3, run.stderr);
    assert.match(run.stderr, /engine builder image lacks Python packages: tensorrt \(to build the engine\)/);
    assert.match(run.stderr, /torch \(to export the Transformers model\)/);
    assert.match(run.stderr, /build and push deploy\/images\/engine-builder/);
  });

  it('build-engine.sh parses, installs nothing and clones nothing', async () => {
    const script = join(PROJECT_ROOT, 'deploy/jobs/build-engine.sh');
    const syntax = await execa('bash', ['-n', script], { reject: false });
    assert.equal(syntax.exitCode, 0, syntax.stderr);
    const text = await readFile(script, 'utf8');
    assert.doesNotMatch(text.replace(/^\s*#.*$/gm, ''), /pip install|git clone|curl /);
    assert.match(text, /engine_plan\.py check-deps/);
  });
});
