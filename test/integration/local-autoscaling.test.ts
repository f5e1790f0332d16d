/**
 * The sample's autoscaling chapter for real on the local target: a deployment whose spec asks for
 * a load drill. perf_analyzer holds a load on the live Triton; the local Prometheus scrapes it and
 * records the queue time per request, prometheus-adapter serves that to the real HPA controller in
 * kube-controller-manager, the HPA scales the Deployment, the pod that finds no free GPU is pending
 * until Karpenter's kwok provider adds a node to the GPU pool, the driver DaemonSet makes its GPU
 * usable, and a real Triton serves on it. Once the load stops, the HPA scales back and Karpenter
 * removes the idle node.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { hpaMetricName } from '../../src/plan/helm-values.js';
import { deploymentWorkflowId } from '../../src/plan/ids.js';
import type { DeploymentSpec } from '../../src/spec/schema.js';
import { validateSpec } from '../../src/spec/validate.js';
import type { deployTriton } from '../../src/workflows/deploy.js';
import { withCauses } from '../helpers/causes.js';
import { type LocalHarness, startLocalHarness } from '../helpers/local-harness.js';
import { exampleSpec } from '../helpers/specs.js';
import { unique } from '../helpers/temporal.js';

let local: LocalHarness;
let spec: DeploymentSpec;
const taskQueue = unique('local-autoscaling');

const kubectl = (...args: string[]) => local.kubectl(spec.cluster.name, ...args);

before(async () => {
  const example = exampleSpec('local');
  const [model] = example.models!;
  const result = validateSpec({
    ...example,
    cluster: { name: `drill-${process.pid}` },
    // One variant measured once, in place: the drill is what this test is about.
    release: { ...example.release, strategy: 'in-place' },
    models: [{ ...model!, variants: [model!.variants![0]!], sla: { ...model!.sla!, repeats: 1 } }],
    approval: { required: false },
    // One node's GPU to start with, so the second pod needs the node Karpenter adds; two pods at most,
    // so the drill ends at the HPA's maximum rather than on how far this CPU's queue time climbs.
    nodePool: { ...example.nodePool, initialNodes: 1 },
    autoscaling: { ...example.autoscaling, maxReplicas: 2, loadDrill: {} },
  });
  assert.ok(result.ok, JSON.stringify(!result.ok && result.errors));
  spec = result.spec;
  local = await startLocalHarness({ name: 'local-autoscaling', taskQueue, bucket: spec.bucket });
});

after(async () => {
  await local?.stop([spec.cluster.name]);
});

describe('the load drill on the local target (Prometheus, prometheus-adapter, the HPA controller, Karpenter)', () => {
  it('a held load scales Triton up and the GPU pool by a node, every pod serving the live repository; without it both scale back', async () => {
    const handle = await local.env.client.workflow.start<typeof deployTriton>('deployTriton', { workflowId: `${deploymentWorkflowId(spec)}-${unique('drill')}`, taskQueue, args: [{ spec }] });
    const result = await withCauses(handle.result());
    const drill = result.loadDrill!;
    const timeline = drill.samples.map((s) => `${s.at.toFixed(0)}s ${s.phase} replicas ${s.readyReplicas}/${s.replicas} nodes ${s.nodes} serving ${s.serving} hpa ${JSON.stringify(s.hpa)}`).join('\n');
    assert.equal(drill.outcome, 'scaled-up-and-back', `${drill.message}\n${timeline}`);

    // Up: more pods than before, the pool one node larger (a pod found no free GPU), all serving.
    const { baseline, peak } = drill;
    assert.equal(baseline.replicas, spec.autoscaling.minReplicas);
    assert.equal(baseline.nodes, spec.nodePool.initialNodes);
    assert.ok(peak.replicas >= 2 && peak.replicas <= spec.autoscaling.maxReplicas, timeline);
    assert.equal(peak.nodes, baseline.nodes + 1, timeline);
    const top = drill.samples.find((s) => s.phase === 'load' && s.replicas === peak.replicas && s.readyReplicas === s.replicas && s.serving);
    assert.ok(top !== undefined && top.nodes === peak.nodes, timeline);
    // The HPA read the metric through the adapter, above its target under the load.
    assert.ok(peak.metric !== null && peak.metric > spec.autoscaling.target, timeline);
    assert.ok(drill.scaleUpSeconds! > 0 && drill.nodeAddedSeconds! <= drill.scaleUpSeconds!, timeline);

    // The HPA's decisions are the pipeline's own computation at the same reading: up, and back down.
    assert.ok(drill.decisions.length >= 2, timeline);
    for (const d of drill.decisions) assert.equal(d.hpaDesired, d.pipelineDesired, JSON.stringify(d));
    assert.ok(drill.decisions.some((d) => d.hpaDesired > d.currentReplicas), JSON.stringify(drill.decisions));
    assert.ok(drill.decisions.some((d) => d.hpaDesired < d.currentReplicas), JSON.stringify(drill.decisions));

    // Back: one pod, the pool at its size before, Karpenter's node gone, the load Job deleted.
    assert.ok(drill.scaleDownSeconds! > 0, timeline);
    assert.equal(await kubectl('get', 'deployment', spec.release.name, '-n', spec.release.namespace, '-o', 'jsonpath={.spec.replicas}'), String(spec.autoscaling.minReplicas));
    const poolNodes = (await kubectl('get', 'nodes', '-l', `cloud.google.com/gke-nodepool=${spec.nodePool.name}`, '-o', 'name')).split('\n').filter(Boolean);
    assert.equal(poolNodes.length, spec.nodePool.initialNodes, poolNodes.join(' '));
    assert.equal(await kubectl('get', 'nodeclaims', '-o', 'name'), '');
    assert.equal(await kubectl('get', 'jobs', '-n', 'triton-pipeline', '-l', 'triton-pipeline.dev/component=load-generator', '-o', 'name'), '');
    // The HPA's metric by the name the local adapter serves.
    assert.equal(
      await kubectl('get', 'hpa', spec.release.name, '-n', spec.release.namespace, '-o', 'jsonpath={.spec.metrics[0].pods.metric.name}'),
      hpaMetricName(spec.autoscaling.metric, 'local'),
    );

    // The report plots the timeline.
    const page = await readFile(result.report!.path, 'utf8');
    assert.match(page, /Load drill/);
    assert.match(page, /class="drill-chart"/);
  });
});
