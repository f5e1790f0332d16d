import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BERT_LARGE_TARGET, CALIBRATION, EXCLUDED_P90_POINTS, type MeasuredSweep } from '../../../src/sim/calibration-data.js';
import { perfProfileFor, type ServingConfig, simulateSweep, type SweepInput } from '../../../src/sim/perf-model.js';
import type { PerfPoint } from '../../../src/triton/perf-types.js';

const relErr = (model: number, measured: number) => Math.abs(model / measured - 1);
const best = (points: PerfPoint[]) => points.reduce((a, b) => (b.throughput > a.throughput ? b : a));

const resnet = (instances: number, extra: Partial<SweepInput> = {}): PerfPoint[] =>
  simulateSweep({
    profile: 'resnet50-int8-t4',
    config: { instances, maxBatchSize: 32, preferredBatchSizes: [32], maxQueueDelayMicroseconds: 1_000_000, gpus: 1 },
    batchSize: 32,
    concurrency: { start: 1, end: 10, step: 1 },
    ...extra,
  });

const bertConfig: ServingConfig = {
  instances: BERT_LARGE_TARGET.instances,
  maxBatchSize: BERT_LARGE_TARGET.maxBatchSize,
  preferredBatchSizes: [...BERT_LARGE_TARGET.preferredBatchSizes],
  maxQueueDelayMicroseconds: BERT_LARGE_TARGET.maxQueueDelayMicroseconds,
  gpus: 1,
};
const bert = (config: ServingConfig = bertConfig) =>
  simulateSweep({
    profile: 'bert-large-seq384-int8-t4',
    config,
    batchSize: BERT_LARGE_TARGET.batchSize,
    concurrency: BERT_LARGE_TARGET.concurrency,
  });

describe('perf model calibration: ResNet50 INT8 on one T4 (seed tables, batch 32, c = 1..10)', () => {
  for (const measured of CALIBRATION.resnet50Int8 as readonly MeasuredSweep[]) {
    const label = `${measured.instances} instance${measured.instances > 1 ? 's' : ''}`;
    const model = resnet(measured.instances);

    it(`${label}: throughput within 10% at every concurrency`, () => {
      assert.equal(model.length, measured.rows.length);
      measured.rows.forEach((row, i) => {
        const err = relErr(model[i]!.throughput, row.throughput);
        assert.ok(err <= 0.1, `c=${row.concurrency}: model ${model[i]!.throughput.toFixed(0)} vs ${row.throughput} (${(err * 100).toFixed(1)}%)`);
      });
    });

    // The seed's p90 column is non-monotonic noise at 1 instance, c=7 (96 ms, below c=5's 111 and
    // c=6's 109 although its Little's-law mean is higher) and c=8 (116 ms, followed by 177 ms at c=9
    // for −1% throughput): a tail that widens monotonically with utilisation cannot hit them together
    // with their neighbours. They are excluded from the per-point check (EXCLUDED_P90_POINTS) and
    // still count in the mean absolute percentage error below.
    it(`${label}: p90 within 10% at every non-excluded concurrency`, () => {
      measured.rows.forEach((row, i) => {
        const excluded = EXCLUDED_P90_POINTS.some((e) => e.instances === measured.instances && e.concurrency === row.concurrency);
        if (excluded) return;
        const err = relErr(model[i]!.latencyUs.p90, row.p90Us);
        assert.ok(err <= 0.1, `c=${row.concurrency}: model ${model[i]!.latencyUs.p90.toFixed(0)} µs vs ${row.p90Us} (${(err * 100).toFixed(1)}%)`);
      });
    });

    it(`${label}: mean absolute percentage error of p90 over all 10 points <= 10%`, () => {
      const mape = measured.rows.reduce((s, row, i) => s + relErr(model[i]!.latencyUs.p90, row.p90Us), 0) / measured.rows.length;
      assert.ok(mape <= 0.1, `p90 MAPE ${(mape * 100).toFixed(1)}%`);
    });
  }

  it('excludes only 1-instance c=7 and c=8 from the per-point p90 check', () => {
    assert.deepEqual(
      EXCLUDED_P90_POINTS.map((e) => `${e.instances}@${e.concurrency}`),
      ['1@7', '1@8'],
    );
  });
});

describe('perf model calibration: BERT-Large seq384 INT8 (Bert-2, batch 16, c = 1..3)', () => {
  const points = bert();

  it('best throughput of the sweep is ~170 infer/s (within 10%)', () => {
    assert.ok(relErr(best(points).throughput, BERT_LARGE_TARGET.throughput) <= 0.1, `best ${best(points).throughput}`);
  });

  // "~170 qps at 125 ms": by Little's law the mean latency is c × 16 / X, so at c >= 2 and X <= 187
  // (170 + 10%) the mean alone is >= 171 ms and no consistent model can report a 125 ms p90 there.
  // The claim is the lowest-latency point of the ~170 plateau: the first concurrency whose
  // throughput is within 10% of 170. The model puts it at c = 1; c = 2..3 add ~3% throughput
  // (the second instance) and queueing latency.
  it('the first point of the ~170 infer/s plateau is c=1, with p90 ~125 ms (within 10%)', () => {
    const plateau = points.find((p) => relErr(p.throughput, BERT_LARGE_TARGET.throughput) <= 0.1);
    assert.ok(plateau);
    assert.equal(plateau.concurrency, 1);
    assert.ok(relErr(plateau.latencyUs.p90, BERT_LARGE_TARGET.p90Us) <= 0.1, `p90 ${plateau.latencyUs.p90}`);
    for (const p of points) assert.ok(relErr(p.throughput, BERT_LARGE_TARGET.throughput) <= 0.1, `c=${p.concurrency}`);
    for (const p of points.slice(1)) assert.ok(p.latencyUs.avg >= (p.concurrency * 16 * 1e6) / (BERT_LARGE_TARGET.throughput * 1.1));
  });

  it('two instances help a little over one at c >= 2 (the README: less than ResNet, still helps)', () => {
    const one = bert({ ...bertConfig, instances: 1 });
    for (const c of [1, 2]) {
      const gain = points[c]!.throughput / one[c]!.throughput - 1;
      assert.ok(gain > 0 && gain < 0.1, `c=${c + 1} gain ${gain}`);
    }
  });
});

describe('perf model properties', () => {
  it('4 instances beat 1 at high concurrency and the gain has diminishing returns', () => {
    const one = resnet(1);
    const four = resnet(4);
    assert.ok(four[9]!.throughput > one[9]!.throughput * 1.2);
    assert.ok(four[9]!.latencyUs.p90 < one[9]!.latencyUs.p90);
    const two = resnet(2);
    const eight = resnet(8);
    const gain = (a: PerfPoint[], b: PerfPoint[]) => b[9]!.throughput / a[9]!.throughput;
    assert.ok(gain(one, two) > gain(four, eight) && gain(four, eight) > 1);
  });

  it('throughput is non-decreasing with concurrency and saturates', () => {
    for (const points of [resnet(1), resnet(4), bert()]) {
      for (let i = 1; i < points.length; i++) assert.ok(points[i]!.throughput >= points[i - 1]!.throughput);
    }
    const long = resnet(4, { concurrency: { start: 1, end: 64, step: 1 } });
    const last = long.at(-1)!.throughput;
    assert.ok(last / long[31]!.throughput < 1.03, 'flat deep in saturation');
  });

  it('never exceeds the T4 ResNet50 INT8 offline ceiling per GPU', () => {
    const many = resnet(16, { concurrency: { start: 100, end: 100, step: 1 } });
    assert.ok(best(many).throughput < CALIBRATION.t4.resnet50Int8Offline);
  });

  it('scales with GPUs serving (replicas × GPUs)', () => {
    const config: ServingConfig = { instances: 4, maxBatchSize: 32, preferredBatchSizes: [32], maxQueueDelayMicroseconds: 100, gpus: 2 };
    const two = simulateSweep({ profile: 'resnet50-int8-t4', config, batchSize: 32, concurrency: { start: 40, end: 40, step: 1 } });
    const one = simulateSweep({ profile: 'resnet50-int8-t4', config: { ...config, gpus: 1 }, batchSize: 32, concurrency: { start: 40, end: 40, step: 1 } });
    assert.ok(two[0]!.throughput / one[0]!.throughput > 1.8);
  });

  it('slowdown 0.3 reduces the best throughput by ~30% and scales latencies up', () => {
    const base = resnet(4);
    const slow = resnet(4, { slowdown: 0.3 });
    assert.ok(Math.abs(best(slow).throughput / best(base).throughput - 0.7) < 0.01);
    slow.forEach((p, i) => assert.ok(Math.abs((p.latencyUs.p90 * 0.7) / base[i]!.latencyUs.p90 - 1) < 0.01));
  });

  it('orders percentiles: p99 >= p95 >= p90 >= p50 (with and without noise)', () => {
    const sweeps = [resnet(1), resnet(4), bert(), resnet(4, { noise: { seed: 7, relative: 0.2 } })];
    for (const points of sweeps) {
      for (const { latencyUs: l } of points) {
        assert.ok(l.p99 >= l.p95 && l.p95 >= l.p90 && l.p90 >= l.p50 && l.p50 > 0, JSON.stringify(l));
      }
    }
  });

  it('seeded noise is deterministic for a seed and differs across seeds', () => {
    const a = resnet(4, { noise: { seed: 42, relative: 0.05 } });
    assert.deepEqual(resnet(4, { noise: { seed: 42, relative: 0.05 } }), a);
    assert.notDeepEqual(resnet(4, { noise: { seed: 43, relative: 0.05 } }), a);
    assert.notDeepEqual(resnet(4), a);
    a.forEach((p, i) => assert.ok(relErr(p.throughput, resnet(4)[i]!.throughput) < 0.3));
  });
});

describe('perf model: dynamic batching and batch sizes', () => {
  const run = (config: Partial<ServingConfig>, batchSize: number, end = 4) =>
    simulateSweep({
      profile: 'resnet50-int8-t4',
      config: { instances: 1, maxBatchSize: 32, preferredBatchSizes: [32], maxQueueDelayMicroseconds: 1_000_000, gpus: 1, ...config },
      batchSize,
      concurrency: { start: 1, end, step: 1 },
    });

  it('a request that already fills the preferred batch never waits for the queue delay (the sample)', () => {
    assert.deepEqual(run({}, 32), run({ maxQueueDelayMicroseconds: 0 }, 32));
  });

  it('a batch smaller than the preferred size waits for the delay while it cannot be filled', () => {
    const waiting = run({}, 8);
    assert.ok(waiting[0]!.latencyUs.p50 > 1_000_000, 'c=1: 8 < 32, waits the full 1 s');
    assert.ok(waiting[2]!.latencyUs.p50 > 1_000_000, 'c=3: 24 < 32');
    assert.ok(waiting[3]!.latencyUs.p50 < 200_000, 'c=4: 4 × 8 fills 32');
    const noDelay = run({ maxQueueDelayMicroseconds: 0 }, 8);
    assert.ok(noDelay[0]!.latencyUs.p50 < 100_000);
    assert.deepEqual(run({ preferredBatchSizes: [8, 32] }, 8), noDelay, 'a preferred size dispatches at once');
  });

  it('requests larger than maxBatchSize are split and cost capacity', () => {
    const whole = run({}, 32, 10);
    const split = run({ maxBatchSize: 8, preferredBatchSizes: [8] }, 32, 10);
    assert.ok(split[9]!.throughput < whole[9]!.throughput);
  });
});

describe('perfProfileFor', () => {
  it('maps ONNX to the ResNet50 family and Transformers models to BERT', () => {
    assert.equal(perfProfileFor({ format: 'onnx' }, 'nvidia-tesla-t4'), 'resnet50-int8-t4');
    assert.equal(perfProfileFor({ format: 'transformers' }, 'nvidia-tesla-t4'), 'bert-large-seq384-int8-t4');
  });

  it('lower precision scales capacity down (fp16, fp32 slower than int8)', () => {
    const at = (precision: 'int8' | 'fp16' | 'fp32') => best(resnet(4, { precision, concurrency: { start: 20, end: 20, step: 1 } })).throughput;
    assert.ok(at('int8') > at('fp16') && at('fp16') > at('fp32'));
  });
});
