import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { EXIT, runCli } from '../../../src/cli/cli.js';
import { MAX_SPEC_BYTES, parseSpecText, specJsonSchema } from '../../../src/spec/load.js';
import type { DeploymentSpecInput } from '../../../src/spec/schema.js';
import { CANDIDATE_INPUT_SHAPE, CandidateInputSchema, invalidInputMessage, validateDeployInput, validateSpec, validateWorkflowInput } from '../../../src/spec/validate.js';
import { exampleSpec, PROJECT_ROOT, specWith } from '../../helpers/specs.js';
import { validateReoptimizeInput, validateReoptimizeRequest } from '../../../src/spec/reoptimize-request.js';

describe('deployment spec', () => {
  it('accepts the shipped examples and fills defaults', () => {
    for (const name of ['sim-seed', 'gke']) {
      const result = validateSpec(exampleSpec(name));
      assert.ok(result.ok, JSON.stringify(!result.ok && result.errors));
    }
    const result = validateSpec(exampleSpec('gke'));
    assert.ok(result.ok);
    assert.deepEqual(result.spec.models[0]!.optimizationProfiles, [
      { min: 1, opt: 8, max: 32 },
      { min: 1, opt: 16, max: 32 },
      { min: 1, opt: 32, max: 32 },
    ]);
    assert.equal(result.spec.models[0]!.sla.percentile, 99);
    assert.equal(result.spec.nodePool.diskSizeGb, 100);
  });

  const bad: Array<[string, (s: DeploymentSpecInput) => void, string, RegExp]> = [
    ['wrong apiVersion', (s) => ((s as { apiVersion: string }).apiVersion = 'v0'), 'apiVersion', /triton\.pipeline\/v1/],
    ['unknown target', (s) => ((s as { target: string }).target = 'aws'), 'target', /"sim", "gke", "local"/],
    ['typo in a field name', (s) => ((s.nodePool as Record<string, unknown>)['maxNode'] = 3), 'nodePool.maxNode', /did you mean "maxNodes"/],
    ['zero instances', (s) => (s.models[0]!.variants[0]!.instances = 0), 'models[0].variants[0].instances', /at least 1/],
    ['profile out of range', (s) => (s.models[0]!.variants[1]!.profile = 7), 'models[0].variants[1].profile', /choose 0\.\.2/],
    ['preferred batch above max batch', (s) => (s.models[0]!.variants[0]!.dynamicBatching = { preferredBatchSizes: [64] }), 'models[0].variants[0].dynamicBatching.preferredBatchSizes', /exceeds maxBatchSize/],
    ['max batch above the profile', (s) => (s.models[1]!.variants[0]!.maxBatchSize = 32), 'models[1].variants[0].maxBatchSize', /exceeds the chosen profile/],
    ['profile min > opt', (s) => (s.models[0]!.optimizationProfiles![0] = { min: 8, opt: 4, max: 32 }), 'models[0].optimizationProfiles[0]', /min <= opt <= max/],
    ['min nodes above max nodes', (s) => (s.nodePool = { ...s.nodePool, minNodes: 5, maxNodes: 3 }), 'nodePool.minNodes', /must be <= maxNodes/],
    ['three T4s on a VM', (s) => (s.nodePool = { ...s.nodePool, acceleratorCount: 3 }), 'nodePool.acceleratorCount', /^nvidia-tesla-t4 attaches 1, 2, 4 GPUs to a VM, not 3$/],
    ['a T4 on an N2 machine type', (s) => (s.nodePool = { ...s.nodePool, machineType: 'n2-standard-8' }), 'nodePool.machineType', /^nvidia-tesla-t4 GPUs attach to N1 machine types .* only, not to n2-standard-8$/],
    ['too many vCPUs for one T4', (s) => (s.nodePool = { ...s.nodePool, machineType: 'n1-standard-64' }), 'nodePool.machineType', /^n1-standard-64 has 64 vCPUs; a VM with 1 nvidia-tesla-t4 GPU may have at most 48$/],
    ['an L4 on an N1 machine type', (s) => (s.nodePool = { ...s.nodePool, acceleratorType: 'nvidia-l4' }), 'nodePool.machineType', /^nvidia-l4 GPUs attach to g2-standard-4, .*g2-standard-96 only, not to n1-standard-8$/],
    ['one L4 on g2-standard-24', (s) => (s.nodePool = { ...s.nodePool, acceleratorType: 'nvidia-l4', machineType: 'g2-standard-24' }), 'nodePool.acceleratorCount', /^g2-standard-24 comes with 2 nvidia-l4 GPUs; set acceleratorCount: 2$/],
    ['17 instances per GPU in the search space', (s) => (s.reoptimize = { space: { instances: [1, 17] } }), 'reoptimize.space.instances[1]', /at most 16 per GPU/],
    ['bucket with a path', (s) => (s.bucket = 'gs://models/sub'), 'bucket', /without a path/],
    ['duplicate variant names', (s) => (s.models[1]!.variants[0]!.name = 'ResNet50-INT8'), 'models[1].variants[0].name', /already used/],
    ['duplicate model names', (s) => (s.models[1]!.name = s.models[0]!.name), 'models[1].name', /is already used by models\[0\]; model names must be unique/],
    ['missing SLA', (s) => delete (s.models[0] as Partial<DeploymentSpecInput['models'][number]>).sla, 'models[0].sla', /^is required \(expected object\)$/],
    ['a string latency bound', (s) => ((s.models[0]!.sla as Record<string, unknown>)['latencyMs'] = '100'), 'models[0].sla.latencyMs', /^expected number, found string "100"$/],
    ['a string instance count', (s) => ((s.models[0]!.variants[0] as Record<string, unknown>)['instances'] = '2'), 'models[0].variants[0].instances', /^expected number, found string "2"$/],
    ['a fractional instance count', (s) => (s.models[0]!.variants[0]!.instances = 1.5), 'models[0].variants[0].instances', /^instances must be a whole number: expected int, found number 1\.5$/],
    ['null for an object', (s) => ((s as Record<string, unknown>)['release'] = null), 'release', /^expected object, found null$/],
    ['an array for an object', (s) => ((s.models[0] as Record<string, unknown>)['sla'] = [100]), 'models[0].sla', /^expected object, found array$/],
    ['a long string for a number', (s) => ((s.nodePool as Record<string, unknown>)['maxNodes'] = 'x'.repeat(100)), 'nodePool.maxNodes', /^expected number, found string "x{36}\.\.\.$/],
    ['BERT without sequence length', (s) => delete s.models[1]!.sequenceLength, 'models[1].sequenceLength', /needs sequenceLength/],
    ['a TF checkpoint (no longer built)', (s) => ((s.models[1] as { format: string }).format = 'tf-checkpoint'), 'models[1].format', /no longer built.*convert the checkpoint once to a Hugging Face Transformers/],
    ['INT8 without calibration on gke', (s) => ((s.target = 'gke'), delete s.models[1]!.calibration), 'models[1].calibration', /INT8 engine needs calibration/],
    ['negative latency bound', (s) => (s.models[0]!.sla.latencyMs = -5), 'models[0].sla.latencyMs', /> 0/],
    ['simulation on gke', (s) => (s.target = 'gke'), 'simulation', /only apply to targets "sim" and "local"/],
    ['monitoring CRDs on the local cluster', (s) => ((s.target = 'local'), (s.release = { ...s.release, monitoring: 'podmonitoring', internalLoadBalancer: false })), 'release.monitoring', /set release.monitoring: prometheus-annotations/],
    ['a Transformers model on the local target', (s) => ((s.target = 'local'), (s.release = { ...s.release, monitoring: 'none', internalLoadBalancer: false })), 'models[1].format', /serves ONNX models on the CPU/],
    ['an https model source on the local target', (s) => ((s.target = 'local'), (s.release = { ...s.release, monitoring: 'none', internalLoadBalancer: false })), 'models[0].source', /gs:\/\/ URI/],
    ['a simulated slowdown on the local target', (s) => ((s.target = 'local'), (s.release = { ...s.release, monitoring: 'none', internalLoadBalancer: false }), (s.simulation = { regression: 0.4 })), 'simulation.regression', /deploy a slower model/],
    ['a load balancer on the local cluster', (s) => ((s.target = 'local'), (s.release = { ...s.release, monitoring: 'none', internalLoadBalancer: true })), 'release.internalLoadBalancer', /no load-balancer controller/],
    ['GPU utilisation on the local cluster', (s) => ((s.target = 'local'), (s.release = { ...s.release, monitoring: 'prometheus-annotations', internalLoadBalancer: false })), 'autoscaling.metric', /exports no GPU utilisation/],
    ['an unscraped HPA on the local cluster', (s) => ((s.target = 'local'), (s.release = { ...s.release, monitoring: 'none', internalLoadBalancer: false })), 'release.monitoring', /set release.monitoring: prometheus-annotations \(or autoscaling.enabled: false\)/],
    ['the Stackdriver adapter on the local cluster', (s) => ((s.target = 'local'), (s.release = { ...s.release, monitoring: 'prometheus-annotations', internalLoadBalancer: false })), 'autoscaling.installMetricsAdapter', /its own prometheus-adapter/],
    ['a load drill on the simulator', (s) => (s.autoscaling = { ...s.autoscaling, loadDrill: {} }), 'autoscaling.loadDrill', /needs a real HPA controller/],
    ['a load drill without autoscaling', (s) => (s.autoscaling = { enabled: false, loadDrill: {} }), 'autoscaling.loadDrill', /set autoscaling.enabled: true/],
    ['a load drill on an unknown variant', (s) => ((s.target = 'gke'), delete s.simulation, (s.autoscaling = { ...s.autoscaling, loadDrill: { variant: 'nope' } })), 'autoscaling.loadDrill.variant', /no variant is named "nope"/],
    ['upper-case release name', (s) => (s.release = { name: 'Triton' }), 'release.name', /lowercase/],
    ['a fault on an unknown activity', (s) => (s.simulation = { faults: [{ activity: 'deleteEverything' as 'deleteCluster', kind: 'lost-reply' }] }), 'simulation.faults[0].activity', /must be one of ensureCluster, .*deleteCluster/],
    ['a fault naming a stage and an activity', (s) => (s.simulation = { faults: [{ stage: 'cluster', activity: 'ensureCluster' }] }), 'simulation.faults[0].activity', /either a stage .* or an activity/],
    ['a fault naming neither stage nor activity', (s) => (s.simulation = { faults: [{ kind: 'transient' }] }), 'simulation.faults[0].stage', /either a stage .* or an activity/],
  ];
  it("accepts the machine types Compute Engine attaches each GPU count to", () => {
    const shapes = [
      { machineType: 'n1-standard-16', acceleratorType: 'nvidia-tesla-t4', acceleratorCount: 2 },
      { machineType: 'n1-highmem-96', acceleratorType: 'nvidia-tesla-t4', acceleratorCount: 4 },
      { machineType: 'g2-standard-24', acceleratorType: 'nvidia-l4', acceleratorCount: 2 },
      { machineType: 'a2-highgpu-2g', acceleratorType: 'nvidia-tesla-a100', acceleratorCount: 2 },
      { machineType: 'a3-ultragpu-8g', acceleratorType: 'nvidia-h200-141gb', acceleratorCount: 8 },
    ] as const;
    for (const shape of shapes) {
      const result = validateSpec(specWith((s) => (s.nodePool = { ...s.nodePool, ...shape })));
      assert.ok(result.ok, `${JSON.stringify(shape)}: ${JSON.stringify(!result.ok && result.errors)}`);
    }
  });

  it('accepts faults on a stage or on any activity by name, lost replies included', () => {
    const result = validateSpec(
      specWith((s) => {
        s.simulation = { faults: [{ stage: 'release', times: 2 }, { activity: 'deleteCluster', kind: 'lost-reply' }, { activity: 'writeReport', kind: 'lost-reply', times: 3 }] };
      }),
    );
    assert.ok(result.ok, JSON.stringify(!result.ok && result.errors));
    assert.deepEqual(result.spec.simulation?.faults, [
      { stage: 'release', times: 2, kind: 'transient' },
      { activity: 'deleteCluster', times: 1, kind: 'lost-reply' },
      { activity: 'writeReport', times: 3, kind: 'lost-reply' },
    ]);
  });

  for (const [what, change, path, message] of bad) {
    it(`rejects ${what} with the field path and a fix`, () => {
      const result = validateSpec(specWith(change));
      assert.equal(result.ok, false);
      const errors = result.ok ? [] : result.errors;
      const match = errors.find((e) => e.path === path);
      assert.ok(match, `no error at ${path}: ${JSON.stringify(errors)}`);
      assert.match(match.message, message);
    });
  }

  it('reports YAML syntax errors as document errors', () => {
    const result = parseSpecText('apiVersion: [unclosed');
    assert.equal(result.ok, false);
    assert.equal(!result.ok && result.errors[0]!.path, '(document)');
  });

  const aliasBomb = [
    'a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]',
    ...'bcdefghi'.split('').map((key, i) => `${key}: &${key} [${Array(9).fill(`*${'abcdefghi'[i]}`).join(', ')}]`),
  ].join('\n');
  const oversized = `# ${'x'.repeat(MAX_SPEC_BYTES)}\n`;

  it('refuses a YAML alias bomb as a document error', () => {
    const result = parseSpecText(aliasBomb);
    assert.deepEqual(result, {
      ok: false,
      errors: [{ path: '(document)', message: 'too many YAML aliases (a resource exhaustion attack?); expand them' }],
    });
  });

  it('reports an unresolved YAML alias as a document error', () => {
    const result = parseSpecText('apiVersion: *missing');
    assert.equal(result.ok, false);
    assert.match(!result.ok ? result.errors[0]!.message : '', /Unresolved alias.*; fix the YAML\/JSON syntax/);
  });

  it('refuses text over MAX_SPEC_BYTES before parsing', () => {
    const result = parseSpecText(oversized);
    assert.deepEqual(result, {
      ok: false,
      errors: [{ path: '(document)', message: `the file is ${MAX_SPEC_BYTES + 3} bytes; a spec is at most 1048576 bytes` }],
    });
  });

  it('the CLI exits "invalid" naming the file for an alias bomb or an oversized file', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'spec-test-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const cases = [
      { name: 'bomb.yaml', text: aliasBomb, message: 'too many YAML aliases (a resource exhaustion attack?); expand them' },
      { name: 'huge.yaml', text: oversized, message: `the file is ${MAX_SPEC_BYTES + 3} bytes; a spec is at most 1048576 bytes` },
    ];
    for (const { name, text, message } of cases) {
      const file = join(dir, name);
      writeFileSync(file, text);
      const lines: string[] = [];
      const out = { log: (l: string) => lines.push(l), error: (l: string) => lines.push(l) };
      assert.equal(await runCli(['validate', '-f', file], out, () => assert.fail('validate must not connect')), EXIT.invalid);
      assert.deepEqual(lines, [`${file} is not a valid deployment spec:\n  (document): ${message}`]);
    }
  });

  it('the CLI\'s --load-drill asks the spec for a drill: planned on the local example, refused on the simulator', async () => {
    const lines: string[] = [];
    const out = { log: (l: string) => lines.push(l), error: (l: string) => lines.push(l) };
    const noConnection = () => assert.fail('plan must not connect');
    assert.equal(await runCli(['plan', '-f', join(PROJECT_ROOT, 'examples/local.yaml'), '--load-drill'], out, noConnection), EXIT.ok);
    assert.match(lines.join('\n'), /load-drill:\n {2}- hold perf_analyzer at concurrency 32 on mini-1/);
    lines.length = 0;
    assert.equal(await runCli(['plan', '-f', join(PROJECT_ROOT, 'examples/local.yaml')], out, noConnection), EXIT.ok);
    assert.doesNotMatch(lines.join('\n'), /load-drill:/);
    lines.length = 0;
    assert.equal(await runCli(['plan', '-f', join(PROJECT_ROOT, 'examples/sim-seed.yaml'), '--load-drill'], out, noConnection), EXIT.invalid);
    assert.match(lines.join('\n'), /autoscaling\.loadDrill: a load drill needs a real HPA controller/);
    await assert.rejects(runCli(['status', '-f', join(PROJECT_ROOT, 'examples/local.yaml'), '--load-drill'], out, noConnection), /--load-drill goes with deploy, plan or input/);
  });

  it('exports a JSON Schema with the spec fields', () => {
    const schema = specJsonSchema() as { properties: Record<string, unknown>; required: string[] };
    for (const key of ['target', 'project', 'bucket', 'models', 'release', 'autoscaling', 'nodePool']) {
      assert.ok(key in schema.properties, key);
    }
    assert.ok(schema.required.includes('models'));
  });

  it('the committed JSON Schema is current (npm run schema regenerates it)', () => {
    const committed = JSON.parse(readFileSync(join(PROJECT_ROOT, 'schema/deployment-spec.schema.json'), 'utf8')) as unknown;
    assert.deepEqual(committed, specJsonSchema());
  });
});

describe('workflow input shapes (runs started from the Web UI)', () => {
  const malformed: unknown[] = [undefined, null, '', [], 42, {}, { spec: 'text' }, { spec: null }];

  it('a deployment needs {"spec": {...}}: anything else is one line naming the shape and what came', () => {
    for (const input of malformed) {
      const result = validateDeployInput(input);
      assert.ok(!result.ok);
      assert.equal(invalidInputMessage('invalid deployment spec', result.errors), `the input must be {"spec": {...}}: got ${JSON.stringify(input) ?? 'undefined'}`);
    }
  });

  it('a bare spec is told to wrap itself; a wrapped one is validated field by field', () => {
    const bare = validateDeployInput(exampleSpec());
    assert.ok(!bare.ok);
    assert.match(bare.errors[0]!.message, /\(a spec itself: wrap it as \{"spec": <the spec>\}\)$/);
    assert.ok(validateDeployInput({ spec: exampleSpec() }).ok);
    const wrong = validateDeployInput({ spec: specWith((s) => (s.models[0]!.variants[0]!.instances = 0)) });
    assert.ok(!wrong.ok);
    assert.match(invalidInputMessage('invalid deployment spec', wrong.errors), /^invalid deployment spec:\n {2}models\[0\]\.variants\[0\]\.instances: /);
  });

  it('a re-optimization needs {"release": {...}} or {"spec": {...}}, and names the fields of a wrong request', () => {
    for (const input of malformed) {
      const result = validateReoptimizeInput(input);
      assert.ok(!result.ok);
      assert.match(result.errors[0]!.message, /^the input must be \{"release": \{"target", "bucket", "project", "cluster", "namespace", "release"\}\} or \{"spec": \{\.\.\.\}\}: got /);
    }
    const missing = validateReoptimizeInput({ release: { target: 'sim' } });
    assert.ok(!missing.ok);
    assert.deepEqual(missing.errors.map((e) => e.path), ['release.bucket', 'release.project', 'release.cluster', 'release.namespace', 'release.release']);
    assert.equal(missing.errors[0]!.message, 'is required (expected string)');
    const request = validateReoptimizeRequest({ target: 'sim', bucket: 'gs://my-models', project: 'my-project', cluster: 'nvidia-gcp-gke', namespace: 'default', release: 'triton' }, []);
    assert.ok(request.ok, JSON.stringify(!request.ok && request.errors));
  });

  it("a child workflow's input is checked down to the model and variant it names", () => {
    const valid = validateSpec(exampleSpec());
    assert.ok(valid.ok);
    const canary = { run: { deploymentId: 'd' }, cluster: { project: 'p', zone: 'us-central1-a', cluster: 'c' }, release: 'triton-canary', namespace: 'default' };
    const input = { spec: valid.spec, canary, model: valid.spec.models[0]!.name, variant: valid.spec.models[0]!.variants[0]!.name, version: 'v1', planUri: 'gs://b/plan' };
    assert.ok(validateWorkflowInput(CandidateInputSchema, CANDIDATE_INPUT_SHAPE, input).ok);
    const unknown = validateWorkflowInput(CandidateInputSchema, CANDIDATE_INPUT_SHAPE, { ...input, variant: 'nope' });
    assert.ok(!unknown.ok);
    assert.deepEqual(unknown.errors, [{ path: 'variant', message: `variant "nope" is not a variant of model "${input.model}"` }]);
  });
});
