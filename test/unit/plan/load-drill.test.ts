import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PIPELINE_LABEL } from '../../../src/plan/jobs.js';
import { type DrillSample, drillVariant, hpaDecisions, hpaViewOf, LOAD_COMPONENT, loadHeldEnough, parseQuantity, renderLoadJob, scaledBack, scaledUp, summarizeDrill } from '../../../src/plan/load-drill.js';
import type { DeploymentSpec } from '../../../src/spec/schema.js';
import { validateSpec } from '../../../src/spec/validate.js';
import { exampleSpec } from '../../helpers/specs.js';

function localSpec(): DeploymentSpec {
  const example = exampleSpec('local');
  const result = validateSpec({ ...example, autoscaling: { ...example.autoscaling, loadDrill: {} } });
  assert.ok(result.ok, JSON.stringify(!result.ok && result.errors));
  return result.spec;
}

const sample = (at: number, phase: DrillSample['phase'], replicas: number, nodes: number, hpa: DrillSample['hpa'], ready = replicas, serving = true): DrillSample => ({
  at,
  phase,
  replicas,
  readyReplicas: ready,
  nodes,
  serving,
  hpa,
});
const hpa = (currentReplicas: number, desiredReplicas: number, metric: number | null, held = false) => ({ currentReplicas, desiredReplicas, metric, held });

describe('the load drill (pure)', () => {
  it('holds perf_analyzer at one concurrency for one window as long as the hold, against the release Service, off the GPU pool', () => {
    const job = renderLoadJob({ name: 'load-1', namespace: 'triton-pipeline', release: { name: 'triton', namespace: 'default' }, variant: 'mini-1', concurrency: 32, holdSeconds: 600, tritonImage: 'nvcr.io/nvidia/tritonserver:24.08-py3', gpuNodePool: 'accel' });
    const spec = job.spec!;
    assert.equal(job.metadata.labels![PIPELINE_LABEL], LOAD_COMPONENT);
    assert.equal(spec.template.metadata!.labels![PIPELINE_LABEL], LOAD_COMPONENT);
    assert.equal(spec.activeDeadlineSeconds, 900);
    const script = spec.template.spec!.containers[0]!.command!.join(' ');
    for (const arg of ["'--concurrency-range' '32:32:1'", "'-p' '600000'", "'-r' '1'", "'-u' 'triton.default.svc.cluster.local:8001'", "'-m' 'mini-1'"]) assert.ok(script.includes(arg), `${arg} in ${script}`);
    const env = Object.fromEntries(spec.template.spec!.containers[0]!.env!.map((e) => [e.name, e.value]));
    assert.deepEqual([env['PERF_CONCURRENCY'], env['LOAD_HOLD_SECONDS']], ['32:32:1', '600']);
    assert.equal(spec.template.spec!.affinity!.nodeAffinity!.requiredDuringSchedulingIgnoredDuringExecution!.nodeSelectorTerms[0]!.matchExpressions![0]!.values![0], 'accel');
  });

  it('loads the variant it names, else the first', () => {
    const spec = localSpec();
    assert.equal(drillVariant(spec), 'mini-1');
    assert.equal(drillVariant({ ...spec, autoscaling: { ...spec.autoscaling, loadDrill: { ...spec.autoscaling.loadDrill!, variant: 'mini-2' } } }), 'mini-2');
  });

  it('reads the HPA status: its reading as a quantity, and whether it holds its count back', () => {
    const status = (reasons: Record<string, string>) => ({
      currentReplicas: 3,
      desiredReplicas: 3,
      currentMetrics: [{ pods: { current: { averageValue: '5600857m' } } }],
      conditions: Object.entries(reasons).map(([type, reason]) => ({ type, status: 'True', reason })),
    });
    assert.deepEqual(hpaViewOf({ status: status({ AbleToScale: 'ReadyForNewScale', ScalingLimited: 'TooManyReplicas' }) }), hpa(3, 3, 5600.857));
    assert.equal(hpaViewOf({ status: status({ AbleToScale: 'ScaleDownStabilized' }) })!.held, true);
    assert.equal(hpaViewOf({ status: status({ ScalingLimited: 'ScaleUpLimit' }) })!.held, true);
    assert.equal(hpaViewOf({ status: { currentReplicas: 1, desiredReplicas: 1 } })!.metric, null);
    assert.equal(hpaViewOf({}), null);
    assert.equal(hpaViewOf(null), null);
    assert.deepEqual(['35k', '1.5', '250m', '2Ki'].map(parseQuantity), [35000, 1.5, 0.25, 2048]);
    assert.throws(() => parseQuantity('lots'), /not a Kubernetes quantity/);
  });

  it('scaled up: more pods, all Ready and serving; scaled back: the minimum and the pool as it was', () => {
    const baseline = { replicas: 1, nodes: 2 };
    assert.ok(scaledUp(baseline, sample(30, 'load', 3, 3, null)));
    assert.ok(!scaledUp(baseline, sample(30, 'load', 3, 2, null, 2)), 'a pod still pending');
    assert.ok(!scaledUp(baseline, sample(30, 'load', 3, 3, null, 3, false)), 'a pod not serving the live repository');
    assert.ok(scaledBack(baseline, 1, sample(90, 'cooldown', 1, 2, null)));
    assert.ok(!scaledBack(baseline, 1, sample(90, 'cooldown', 1, 3, null)), 'the added node still there');
  });

  it('holds the load until the HPA has wanted no more pods for the steady time, not one look between two scale-ups', () => {
    const baseline = { replicas: 1, nodes: 2 };
    const hold = { steadySeconds: 30, maxReplicas: 4 };
    const ramp = [sample(0, 'load', 1, 2, hpa(1, 1, 3000)), sample(10, 'load', 2, 2, hpa(2, 2, 9000)), sample(15, 'load', 2, 2, hpa(2, 2, 10000))];
    assert.ok(!loadHeldEnough(baseline, ramp, hold), 'settled for 5 s only');
    const up = [...ramp, sample(20, 'load', 3, 2, hpa(2, 3, 16000), 2), sample(30, 'load', 3, 3, hpa(3, 3, 6000)), sample(50, 'load', 3, 3, hpa(3, 3, 6000))];
    assert.ok(!loadHeldEnough(baseline, up, hold), 'the third pod came 30 s ago at most');
    assert.ok(loadHeldEnough(baseline, [...up, sample(61, 'load', 3, 3, hpa(3, 3, 6000))], hold));
    assert.ok(!loadHeldEnough(baseline, [...up, sample(61, 'load', 3, 3, hpa(2, 3, 6000))], hold), 'the HPA has not seen the last pod');
  });

  it("holds the load for the metric's window, yet not past the HPA's maximum", () => {
    const baseline = { replicas: 1, nodes: 2 };
    // A 2-minute rate under the same load: settled at 2 pods for 60 s, then climbing past the HPA's tolerance.
    const settledAtTwo = [sample(0, 'load', 1, 2, hpa(1, 1, 5000)), ...[30, 45, 60, 75, 90].map((at) => sample(at, 'load', 2, 2, hpa(2, 2, 5200)))];
    assert.ok(loadHeldEnough(baseline, settledAtTwo, { steadySeconds: 30, maxReplicas: 3 }), 'a gauge: 30 s settled is enough');
    assert.ok(!loadHeldEnough(baseline, settledAtTwo, { steadySeconds: 120, maxReplicas: 3 }), "the rate's window is not yet all at 2 pods");
    const atMost = [...settledAtTwo, sample(100, 'load', 3, 3, hpa(3, 3, 5900))];
    assert.ok(loadHeldEnough(baseline, atMost, { steadySeconds: 120, maxReplicas: 3 }), 'at its maximum the HPA can want no more');
    assert.ok(!loadHeldEnough(baseline, [...settledAtTwo, sample(100, 'load', 3, 2, hpa(2, 3, 5900), 2)], { steadySeconds: 120, maxReplicas: 3 }), 'the last pod still pending');
  });

  it('compares only the HPA decisions that are its computation alone, each once', () => {
    const autoscaling = { target: 10000, minReplicas: 1, maxReplicas: 3 };
    const decisions = hpaDecisions(
      [
        sample(0, 'load', 1, 2, null),
        sample(5, 'load', 1, 2, hpa(1, 3, 25000)),
        sample(7, 'load', 3, 2, hpa(1, 3, 25000), 1), // the same sync again
        sample(20, 'load', 3, 3, hpa(3, 3, 25000 / 2)),
        sample(30, 'load', 3, 3, hpa(3, 3, 40000 / 2)), // the third pod Ready 10 s ago: its metric may not have reached the HPA
        sample(60, 'cooldown', 3, 3, hpa(3, 3, 0, true)), // stabilization
        sample(80, 'cooldown', 1, 3, hpa(3, 1, 0)), // the Deployment already followed; the pods it counted served for 20 s before
        sample(85, 'cooldown', 1, 3, hpa(1, 1, null)),
      ],
      autoscaling,
    );
    assert.deepEqual(
      decisions.map((d) => [d.at, d.currentReplicas, d.hpaDesired, d.pipelineDesired]),
      [
        [5, 1, 3, 3],
        [80, 3, 1, 1],
      ],
    );
  });

  it('sums the looks up: the timings, the peak, and each way it can end', () => {
    const spec = localSpec();
    const baseline = { replicas: 1, nodes: 2 };
    const samples = [
      sample(0, 'load', 1, 2, null),
      sample(5, 'load', 2, 2, hpa(1, 2, 15000)),
      sample(10, 'load', 3, 2, hpa(2, 3, 25000), 2),
      sample(20, 'load', 3, 3, hpa(3, 3, 12000)),
      sample(30, 'cooldown', 3, 3, hpa(3, 3, 0, true)),
      sample(70, 'cooldown', 1, 3, hpa(3, 1, 0)),
      sample(110, 'cooldown', 1, 2, hpa(1, 1, 0)),
    ];
    const done = summarizeDrill({ spec, baseline, samples, loadSeconds: 25 });
    assert.equal(done.outcome, 'scaled-up-and-back');
    assert.deepEqual([done.scaleUpSeconds, done.nodeAddedSeconds, done.scaleDownSeconds], [20, 20, 85]);
    assert.deepEqual(done.peak, { replicas: 3, nodes: 3, metric: 25000 });
    assert.equal(done.concurrency, 32);
    assert.match(done.message, /1→3 pods, 2→3 nodes in 20 s under the load, back in 85 s after it/);
    const notBack = summarizeDrill({ spec, baseline, samples: samples.slice(0, 5), loadSeconds: 25 });
    assert.equal(notBack.outcome, 'no-scale-down');
    assert.equal(notBack.scaleDownSeconds, null);
    const flat = summarizeDrill({ spec, baseline, samples: [sample(0, 'load', 1, 2, hpa(1, 1, 4000)), sample(600, 'load', 1, 2, hpa(1, 1, 4100))], loadSeconds: 600 });
    assert.equal(flat.outcome, 'no-scale-up');
    assert.match(flat.message, /did not scale up within the load's 600 s .*peak triton-queue-time-us 4100, target 5000/);
  });
});
