/**
 * The triton chart's values schema (src/plan/triton-values.ts): the committed values.schema.json is
 * the one it generates, it accepts the chart's defaults and what the pipeline renders over them,
 * and it rejects what the hand-written file rejected. Rendering with helm is test/unit/deploy/charts.test.ts.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { previewValues, tritonValues } from '../../../src/plan/helm-values.js';
import { TritonChartValuesSchema, tritonValuesJsonSchema, TritonValuesSchema } from '../../../src/plan/triton-values.js';
import type { DeploymentSpec } from '../../../src/spec/schema.js';
import { validateSpec } from '../../../src/spec/validate.js';
import { exampleSpec, PROJECT_ROOT } from '../../helpers/specs.js';

const CHART = join(PROJECT_ROOT, 'deploy/charts/triton');

function example(name: string): DeploymentSpec {
  const result = validateSpec(exampleSpec(name));
  assert.ok(result.ok, name);
  return result.spec;
}

function chartDefaults(): Record<string, unknown> {
  return parse(readFileSync(join(CHART, 'values.yaml'), 'utf8')) as Record<string, unknown>;
}

const isMap = (value: unknown): value is Record<string, unknown> => value !== null && typeof value === 'object' && !Array.isArray(value);

/** Helm's merge of values over the chart's defaults: maps merge key by key, anything else replaces. */
function merged(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const result = { ...base };
  for (const [key, value] of Object.entries(over)) {
    const current = result[key];
    result[key] = isMap(current) && isMap(value) ? merged(current, value) : value;
  }
  return result;
}

/** The issues' paths and messages, for assertion messages. */
function issues(result: { success: boolean; error?: { issues: Array<{ path: PropertyKey[]; message: string }> } }): string {
  return (result.error?.issues ?? []).map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
}

describe('triton chart values schema', () => {
  it('the committed deploy/charts/triton/values.schema.json is current', () => {
    const committed = JSON.parse(readFileSync(join(CHART, 'values.schema.json'), 'utf8')) as unknown;
    assert.deepEqual(committed, tritonValuesJsonSchema(), 'deploy/charts/triton/values.schema.json differs from src/plan/triton-values.ts: run `npm run schema` and commit the result');
  });

  it('accepts the chart defaults, and the pipeline values merged over them', () => {
    const defaults = chartDefaults();
    const parsed = TritonChartValuesSchema.safeParse(defaults);
    assert.ok(parsed.success, `values.yaml: ${issues(parsed)}`);
    for (const name of ['sim-seed', 'gke', 'local']) {
      const values = tritonValues(example(name), 'gs://b/r/versions/v1', { deploymentId: 'deploy/x', repositoryVersion: 'v1' });
      for (const [what, rendered] of [['tritonValues', values], ['previewValues', previewValues(values)]] as const) {
        const own = TritonValuesSchema.safeParse(rendered);
        assert.ok(own.success, `${name} ${what}: ${issues(own)}`);
        assert.deepEqual(own.data, rendered, 'parsing changes nothing (no defaults, no transforms)');
        const chart = TritonChartValuesSchema.safeParse(merged(defaults, rendered));
        assert.ok(chart.success, `${name} ${what} over values.yaml: ${issues(chart)}`);
      }
    }
  });

  it('covers every key of values.yaml, and the pipeline sets every contract key', () => {
    const schema = tritonValuesJsonSchema() as { properties: Record<string, unknown>; additionalProperties: unknown; required: string[] };
    assert.equal(schema.additionalProperties, false, 'unknown keys (typos) are errors');
    for (const key of Object.keys(chartDefaults())) assert.ok(key in schema.properties, key);
    const contract = Object.keys(TritonValuesSchema.shape);
    for (const key of contract) assert.ok(key in schema.properties, key);
    for (const key of schema.required) assert.ok(contract.includes(key), `${key}: the chart requires what the pipeline sets`);
  });

  it('rejects typos, bad enums, minimums and the chart\'s own conflicts', () => {
    const defaults = chartDefaults();
    const rejected: Array<[string, Record<string, unknown>, string]> = [
      ['the sample\'s pyullPolicy typo', { image: { name: 'nvcr.io/nvidia/tritonserver:24.08-py3', pullPolicy: 'IfNotPresent', pyullPolicy: 'IfNotPresent' } }, 'image'],
      ['an unknown top-level key', { replicas: 2 }, ''],
      ['a pull policy', { image: { name: 'x', pullPolicy: 'Sometimes' } }, 'image.pullPolicy'],
      ['a monitoring kind', { monitoring: { kind: 'prometheus' } }, 'monitoring.kind'],
      ['explicit control without models', { modelControlMode: 'explicit', models: [] }, 'models'],
      ['a repeated model', { models: ['a', 'a'] }, 'models'],
      ['a model name with a comma', { models: ['a,b'] }, 'models.0'],
      ['a negative replica count', { replicaCount: -1 }, 'replicaCount'],
      ['a fractional GPU count', { gpusPerReplica: 0.5 }, 'gpusPerReplica'],
      ['a GPU limit beside gpusPerReplica', { resources: { limits: { 'nvidia.com/gpu': 1 } } }, 'resources.limits'],
      ['a probe period of 0', { probes: { startup: { periodSeconds: 0 } } }, 'probes.startup.periodSeconds'],
      ['a relative repository path', { modelRepositoryPath: 'models' }, 'modelRepositoryPath'],
      ['a flag that is not one', { extraArgs: ['exit-timeout-secs=30'] }, 'extraArgs.0'],
      ['a non-boolean external', { autoscaling: { enabled: false, external: 'yes' } }, 'autoscaling.external'],
      ['a PDB percentage without %', { podDisruptionBudget: { enabled: true, maxUnavailable: 'half' } }, 'podDisruptionBudget.maxUnavailable'],
      ['a key file instead of Workload Identity', { serviceAccount: { gcpServiceAccount: 'key.json' } }, 'serviceAccount.gcpServiceAccount'],
    ];
    for (const [what, change, path] of rejected) {
      const result = TritonChartValuesSchema.safeParse(merged(defaults, change));
      assert.ok(!result.success, `${what} is rejected`);
      assert.ok(result.error.issues.some((i) => i.path.join('.') === path), `${what}: an issue at "${path}" (got ${issues(result)})`);
    }
  });
});
