/**
 * The pipeline's decisions on data recorded on a real GPU (an NVIDIA H200, bench/gpu, committed in
 * test/fixtures/gpu/h200-chapters.json and h200-bert-long.json): perf_analyzer's CSVs through the perf parser, the SLA
 * verdicts, the regression gate, and the gpu-utilization reading with the HPA's replicas from the
 * nv_gpu_utilization Triton exported under load.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { evaluateSla } from '../../../src/sla/evaluate.js';
import { judgeVariant, type Sweep } from '../../../src/sla/gate.js';
import { autoscalingReading } from '../../../src/triton/metrics.js';
import { parseModelConfig } from '../../../src/triton/model-config.js';
import { parsePerfCsv } from '../../../src/triton/perf-output.js';
import { parseSpecText } from '../../../src/spec/load.js';
import { gaugesOf, type GpuRecording, gpuSeriesOf, loadOf, perfPointOf, sweepPoints } from '../../../bench/gpu/recording.js';

const recording = JSON.parse(readFileSync(new URL('../../fixtures/gpu/h200-chapters.json', import.meta.url), 'utf8')) as GpuRecording;
const seed = parseSpecText(readFileSync(new URL('../../../examples/sim-seed.yaml', import.meta.url), 'utf8'));
if (!seed.ok) throw new Error('examples/sim-seed.yaml does not validate');
const [resnet, bert] = seed.spec.models as [NonNullable<(typeof seed.spec.models)[0]>, NonNullable<(typeof seed.spec.models)[1]>];
const sweepOf = (model: string) => recording.sweeps.find((s) => s.model === model)!;

test('the recording ran on an NVIDIA GPU, serving the configs the pipeline rendered (KIND_GPU)', () => {
  assert.match(recording.gpu, /^NVIDIA H200/);
  assert.deepEqual(recording.sweeps.map((s) => s.model), ['resnet50-i1', 'resnet50-i4', 'bert-large-i1', 'bert-large-i2']);
  for (const sweep of recording.sweeps) {
    const config = parseModelConfig(recording.configs[sweep.model]!);
    assert.equal(config.kind, 'KIND_GPU');
    assert.equal(config.instances, Number(sweep.model.split('-i')[1]));
  }
});

test('perf parser: each stable point is one CSV row at its concurrency; unstable ones are what perf_analyzer said', () => {
  let stable = 0;
  for (const sweep of recording.sweeps) {
    for (const point of sweep.points) {
      const perf = perfPointOf(point);
      if (perf === null) {
        assert.match(point.stdout, /Failed to obtain stable measurement/);
        continue;
      }
      stable++;
      assert.equal(parsePerfCsv(point.csv!).length, 1);
      assert.ok(perf.latencyUs.p50 <= perf.latencyUs.p90 && perf.latencyUs.p90 <= perf.latencyUs.p99, `${sweep.model} c=${point.concurrency}`);
      // Little's law within perf_analyzer's own windows: concurrency × batch ≈ throughput × mean latency.
      const batch = sweep.model.startsWith('resnet') ? 32 : 16;
      const implied = (perf.throughput * perf.latencyUs.avg) / 1e6 / batch;
      assert.ok(Math.abs(implied / point.concurrency - 1) < 0.15, `${sweep.model} c=${point.concurrency}: ${implied.toFixed(2)} in flight`);
    }
  }
  assert.equal(stable, 27);
});

test("SLA verdicts on the GPU: the seed's ResNet50 SLA (p99 <= 100 ms, >= 2900 infer/s) fails with 1 instance and passes with 4", () => {
  const one = evaluateSla(sweepPoints(sweepOf('resnet50-i1')), resnet.sla);
  const four = evaluateSla(sweepPoints(sweepOf('resnet50-i4')), resnet.sla);
  assert.equal(one.passed, false);
  assert.ok(one.bestThroughput! < resnet.sla.minThroughput);
  assert.equal(four.passed, true);
  assert.equal(four.concurrencyAtBest, 7);
  assert.ok(four.bestThroughput! > 8000);
  const bertTwo = evaluateSla(sweepPoints(sweepOf('bert-large-i2')), bert.sla);
  assert.equal(bertTwo.passed, true);
  assert.equal(bertTwo.concurrencyAtBest, 2);
});

test('regression gate on the GPU: an unchanged config passes against its own baseline; the 1-instance config regresses against the 4-instance one', () => {
  const sweepFor = (model: string): Sweep => {
    const points = sweepPoints(sweepOf(model));
    return { points, verdict: evaluateSla(points, resnet.sla) };
  };
  const variant = { name: 'ResNet50', instances: 4, maxBatchSize: 32 };
  const four = sweepFor('resnet50-i4');
  const baseline = { variant: 'ResNet50', bestThroughput: four.verdict.bestThroughput, latencyMsAtBest: four.verdict.latencyMsAtBest, samples: [four.verdict.bestThroughput!] };
  const unchanged = judgeVariant(resnet, variant, { conclusive: [four], inconclusive: [] }, baseline, []);
  assert.equal(unchanged.comparison.regressed, false);
  const slower = judgeVariant(resnet, { ...variant, instances: 1 }, { conclusive: [], inconclusive: [sweepFor('resnet50-i1')] }, baseline, []);
  assert.equal(slower.comparison.regressed, true);
  // Judged on throughput alone (a looser SLA the 1-instance sweep meets), it is still a regression.
  const loose = { ...resnet, sla: { ...resnet.sla, minThroughput: 1000, latencyMs: 250 } };
  const points = sweepPoints(sweepOf('resnet50-i1'));
  const oneLoose: Sweep = { points, verdict: evaluateSla(points, loose.sla) };
  const judged = judgeVariant(loose, { ...variant, instances: 1 }, { conclusive: [oneLoose], inconclusive: [] }, baseline, []);
  assert.equal(judged.comparison.regressed, true);
  assert.ok(judged.comparison.change! < -0.6);
});

test('Triton exports the GPU series on this GPU, and the gpu-utilization reading follows nv_gpu_utilization under load', () => {
  const under = sweepOf('resnet50-i4').points[0]!.metricsUnderLoad;
  for (const name of ['nv_gpu_utilization', 'nv_gpu_memory_used_bytes', 'nv_gpu_memory_total_bytes', 'nv_gpu_power_usage']) assert.ok(gpuSeriesOf(under).includes(name), name);
  const autoscaling = seed.spec.autoscaling;
  assert.equal(autoscaling.metric, 'gpu-utilization');
  const readings = sweepOf('resnet50-i4').points.map((point) => {
    const load = loadOf(sweepOf('resnet50-i4'), point);
    const reading = autoscalingReading(autoscaling, load, perfPointOf(point)!.throughput / 32);
    const exported = Number(/^nv_gpu_utilization\{[^}]*\} (\S+)$/m.exec(point.metricsUnderLoad)![1]);
    assert.equal(reading.value, exported * 100);
    assert.ok(load.requests > 0);
    return { c: point.concurrency, value: reading.value!, replicas: reading.desiredReplicas };
  });
  // Light load keeps one replica; from c = 4 the GPU runs at 75-81% against the 70% target, on the
  // edge of the HPA's 10% tolerance: 75% stays, 77% (77/70 - 1 is just above 0.1 in floating point,
  // as in the HPA controller's own arithmetic) and above ask for a second replica.
  assert.deepEqual(readings.map((r) => r.value), [18, 47, 60, 80, 75, 77, 79, 81, 75, 77]);
  assert.deepEqual(readings.map((r) => r.replicas), [1, 1, 1, 2, 1, 2, 2, 2, 1, 2]);
});

test('GPU gauges sampled during each point: utilization rises with the load on 4 instances, BERT with 2 instances saturates the GPU', () => {
  const four = sweepOf('resnet50-i4').points.map((p) => gaugesOf(p).utilization!);
  assert.ok(four[0]! < 0.3 && Math.max(...four) > 0.7);
  const bert2 = sweepOf('bert-large-i2').points.map((p) => gaugesOf(p).utilization!);
  assert.ok(Math.max(...bert2) > 0.95);
  const one = sweepOf('resnet50-i1').points.map((p) => gaugesOf(p).utilization!);
  assert.ok(Math.max(...one) < 0.3, 'one Python instance cannot keep the GPU busy');
});

const bertLong = JSON.parse(readFileSync(new URL('../../fixtures/gpu/h200-bert-long.json', import.meta.url), 'utf8')) as GpuRecording;
const bertLongSweep = (model: string) => bertLong.sweeps.find((s) => s.model === model)!;

test('BERT-Large with 4 s windows: two instances hold the GPU at 99-100% from c = 2 on, a flat ~1530 infer/s that passes the seed BERT SLA', () => {
  assert.deepEqual(bertLong.sweeps.map((s) => s.model), ['bert-large-i1', 'bert-large-i2']);
  const two = bertLongSweep('bert-large-i2');
  const points = sweepPoints(two);
  assert.equal(points.length, 10, 'every concurrency stable');
  const plateau = points.slice(1).map((p) => p.throughput);
  assert.ok(Math.max(...plateau) / Math.min(...plateau) < 1.03, `GPU-bound plateau: ${plateau.join(', ')}`);
  for (const point of two.points.slice(1)) assert.ok(gaugesOf(point).utilization! >= 0.99, `c=${point.concurrency}`);
  // Every point is inside the 170 ms bound, so the best is the plateau's top (c = 10, 1539 infer/s).
  const verdict = evaluateSla(points, bert.sla);
  assert.equal(verdict.passed, true);
  assert.equal(verdict.bestThroughput, Math.max(...plateau));
  assert.equal(verdict.concurrencyAtBest, 10);
});

test('BERT-Large with one instance swings between windows (host work and GPU work serialised in one Python stub): perf_analyzer calls 4 of 10 points unstable', () => {
  const one = bertLongSweep('bert-large-i1');
  const unstable = one.points.filter((p) => perfPointOf(p) === null).map((p) => p.concurrency);
  assert.deepEqual(unstable, [2, 3, 6, 9]);
  for (const point of one.points.filter((p) => p.exitCode !== 0)) assert.match(point.stdout, /Failed to obtain stable measurement within 6 measurement windows/);
  // Where it did settle it lands anywhere from two thirds of the two-instance figure to level with it.
  const two = new Map(sweepPoints(bertLongSweep('bert-large-i2')).map((p) => [p.concurrency, p.throughput]));
  const ratios = sweepPoints(one).map((p) => p.throughput / two.get(p.concurrency)!);
  assert.ok(Math.min(...ratios) < 0.7 && Math.max(...ratios) > 1, ratios.map((r) => r.toFixed(2)).join(', '));
});
