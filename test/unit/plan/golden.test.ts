/**
 * Golden files for what the pipeline renders from each example spec: the CLI's `plan` output,
 * every config.pbtxt, the Helm values (live and preview), the HPA, the engine-build and perf Jobs,
 * and the manifests shipped in deploy/ as the pipeline loads them. Inputs that a run would make up
 * (deployment ID, repository version, engine keys, Job names) are fixed here, so the files change
 * only when the rendering does. Refresh: UPDATE_GOLDEN=1 node --import tsx --test test/unit/plan/golden.test.ts
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse, stringify } from 'yaml';
import { JOB_NAMESPACE } from '../../../src/plan/jobs.js';
import { JOB_SCRIPTS_CONFIGMAP, loadDriverInstaller, loadJobScripts, loadMetricsAdapter } from '../../../src/assets.js';
import { EXIT, runCli } from '../../../src/cli/cli.js';
import { previewReleaseName, previewValues, renderHpa, tritonValues } from '../../../src/plan/helm-values.js';
import { deploymentWorkflowId, repositoryVersionFor } from '../../../src/plan/ids.js';
import { engineBuilderImageFor, formatProfiles, renderEngineBuildJob, renderSweepJob } from '../../../src/plan/jobs.js';
import { engineUris, repositoryVersionUri } from '../../../src/plan/layout.js';
import type { KubeObject } from '../../../src/ports/systems.js';
import { parseSpecText } from '../../../src/spec/load.js';
import type { DeploymentSpec, ModelSpec } from '../../../src/spec/schema.js';
import { formatSpecErrors } from '../../../src/spec/validate.js';
import { modelConfigFromVariant, renderModelConfig } from '../../../src/triton/model-config.js';
import { servingTargetFor } from '../../../src/triton/serving-target.js';
import { expectGolden, expectNoStaleGoldens } from '../../helpers/golden.js';
import { PROJECT_ROOT } from '../../helpers/specs.js';

/** A repository version as a run started at a fixed time would name it. */
const REPOSITORY_VERSION = repositoryVersionFor(new Date('2026-01-01T00:00:00.000Z'), '0123abcd-0000-7000-8000-000000000000');
/** As measureVariant runs perf_analyzer. */

/** Every golden path this file checks, registered with its test (a filtered run still knows them all). */
const goldenPaths: string[] = [];

function golden(path: string, render: () => string | Promise<string>): void {
  goldenPaths.push(path);
  it(path, async () => expectGolden(path, await render()));
}

const yaml = (object: unknown) => stringify(object, { lineWidth: 0 });
const yamlDocuments = (objects: readonly unknown[]) => objects.map((o) => `---\n${yaml(o)}`).join('');
const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;
const slug = (name: string) => name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** The examples the loader takes as deployment specs; a file declaring kind TritonDeployment must load. */
function deploymentExamples(): Array<{ name: string; file: string; spec: DeploymentSpec }> {
  const dir = join(PROJECT_ROOT, 'examples');
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .flatMap((f) => {
      const file = join(dir, f);
      const text = readFileSync(file, 'utf8');
      const result = parseSpecText(text);
      if (result.ok) return [{ name: f.replace(/\.yaml$/, ''), file, spec: result.spec }];
      const kind = (parse(text) as { kind?: unknown } | null)?.kind;
      assert.notEqual(kind, 'TritonDeployment', `examples/${f} declares kind TritonDeployment but does not load:\n${formatSpecErrors(result.errors)}`);
      return [];
    });
}

/** The CLI's `plan` output, exactly as it prints it (one console.log per line). */
async function planOutput(file: string): Promise<string> {
  const lines: string[] = [];
  const errors: string[] = [];
  const code = await runCli(['plan', '-f', file], { log: (l) => lines.push(l), error: (l) => errors.push(l) }, () => assert.fail('plan must not connect to Temporal'));
  assert.deepEqual(errors, []);
  assert.equal(code, EXIT.ok);
  return lines.map((l) => `${l}\n`).join('');
}

/** The engine-build Job as buildEngine renders it; the key stands in for the content hash (no bucket here). */
function engineBuildJob(spec: DeploymentSpec, model: ModelSpec): KubeObject {
  const tensorrtImage = engineBuilderImageFor(spec);
  const engineKey = sha256(
    JSON.stringify({
      source: model.source,
      format: model.format,
      precision: model.precision,
      profiles: formatProfiles(model.optimizationProfiles),
      calibration: model.calibration ?? null,
      sequenceLength: model.sequenceLength ?? null,
      builder: tensorrtImage,
      gpu: spec.nodePool.acceleratorType,
    }),
  );
  const uris = engineUris(spec.bucket, model.name, engineKey);
  return renderEngineBuildJob({
    name: `trt-${slug(model.name).slice(0, 40)}-${engineKey.slice(0, 12)}`,
    namespace: JOB_NAMESPACE,
    model,
    engineKey,
    planUri: uris.plan,
    recordUri: uris.record,
    tensorrtImage,
    nodePool: spec.nodePool.name,
    acceleratorType: spec.nodePool.acceleratorType,
    scriptsConfigMap: JOB_SCRIPTS_CONFIGMAP,
  });
}

/** The validation sweep's perf Job as measureVariant renders it (against the preview where there is one). */
function perfJob(spec: DeploymentSpec, model: ModelSpec, variant: string): KubeObject {
  const release = spec.release.strategy === 'preview' ? previewReleaseName(spec.release.name) : spec.release.name;
  return renderSweepJob({
    name: `perf-${slug(variant)}`,
    namespace: JOB_NAMESPACE,
    release: { name: release, namespace: spec.release.namespace },
    variant,
    sla: model.sla,
    shapes: model.inputs,
    tritonImage: spec.release.image,
    gpuNodePool: spec.nodePool.name,
  });
}

describe('golden files', () => {
  for (const { name, file, spec } of deploymentExamples()) {
    describe(`examples/${name}.yaml`, () => {
      golden(`${name}/plan.txt`, () => planOutput(file));

      for (const model of spec.models) {
        for (const variant of model.variants) {
          golden(`${name}/config/${variant.name}.pbtxt`, () => renderModelConfig(modelConfigFromVariant(model, variant, servingTargetFor(spec.target))));
        }
      }

      const values = () =>
        tritonValues(spec, repositoryVersionUri(spec.bucket, spec.repositoryPrefix, REPOSITORY_VERSION), {
          deploymentId: deploymentWorkflowId(spec),
          repositoryVersion: REPOSITORY_VERSION,
        });
      golden(`${name}/helm/triton-values.json`, () => json(values()));
      golden(`${name}/helm/preview-values.json`, () => json(previewValues(values())));

      golden(`${name}/manifests/hpa.yaml`, () => yaml(renderHpa(spec)));
      for (const model of spec.models) {
        golden(`${name}/manifests/engine-build-${slug(model.name)}.yaml`, () => yaml(engineBuildJob(spec, model)));
        for (const variant of model.variants) {
          golden(`${name}/manifests/perf-${slug(variant.name)}.yaml`, () => yaml(perfJob(spec, model, variant.name)));
        }
      }
    });
  }

  describe('deploy/ assets as loaded', () => {
    golden('assets/nvidia-driver-installer.yaml', async () => yaml(await loadDriverInstaller()));
    golden('assets/custom-metrics-adapter.yaml', async () => yamlDocuments(await loadMetricsAdapter()));
    golden('assets/job-scripts-configmap.yaml', async () => yaml(await loadJobScripts(JOB_NAMESPACE)));
  });

  it('has no golden file that no test checks', () => {
    assert.equal(new Set(goldenPaths).size, goldenPaths.length, 'two goldens share a path (variant or model names that slug alike)');
    expectNoStaleGoldens(goldenPaths);
  });
});
