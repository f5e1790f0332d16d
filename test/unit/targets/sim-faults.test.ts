/** The sim target's fault wrapper around the activities: what a latency-spike fault does to a sweep. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { PipelineActivities } from '../../../src/activities/index.js';
import type { Measurement, MeasureRequest } from '../../../src/activities/perf.js';
import { withSimulation } from '../../../src/targets/sim.js';
import { runIn, mockEnvironment } from '../../helpers/activity-env.js';

const point = (concurrency: number, p99Us: number) => ({ concurrency, throughput: 700, latencyUs: { avg: p99Us / 2, p50: p99Us / 2, p90: p99Us, p95: p99Us, p99: p99Us } });

function measuring(points: Measurement['points']) {
  const activities = { measureVariant: async (): Promise<Measurement> => ({ variant: 'v1', points, job: 'perf-1' }) } as unknown as PipelineActivities;
  return withSimulation(activities).measureVariant;
}

const request = (latencyMs: number, times: number) =>
  ({
    run: { deploymentId: 'deploy/x', stage: 'bake', simulation: { speed: 0, regression: 0, faults: [{ stage: 'bake', kind: 'latency-spike', times }] } },
    sla: { latencyMs, percentile: 99 },
  }) as unknown as MeasureRequest;

describe('sim faults: latency-spike', () => {
  it("puts every point past the SLA's bound, even a fast server's, for the first `times` sweeps only", async () => {
    const measure = measuring([point(1, 1400), point(2, 50_000)]);
    const env = mockEnvironment();
    const spiked = await runIn(env, measure, request(200, 1));
    // 1.4 ms times 100 is 140 ms, within a 200 ms bound: the spike lifts it to twice the bound.
    assert.deepEqual(spiked.points.map((p) => p.latencyUs.p99), [400_000, 5_000_000]);
    assert.ok(spiked.points.every((p) => p.latencyUs.p99 > 200_000 && p.latencyUs.avg > 200_000));
    assert.equal(spiked.points[0]!.throughput, 700, 'a noisy neighbour slows requests, it does not count fewer');
    const after = await runIn(env, measure, request(200, 1));
    assert.deepEqual(after.points.map((p) => p.latencyUs.p99), [1400, 50_000]);
  });
});
