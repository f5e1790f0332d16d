import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { autoscalingReading, describeReading, hpaDesiredReplicas, loadMetricsBetween, parsePrometheusText, sumOf } from '../../../src/triton/metrics.js';

/** Triton 2.51's exposition, trimmed: counters per model and version. */
const scrape = (success: number, queueUs: number, extra = '') => `# HELP nv_inference_request_success Number of successful inference requests, all batch sizes
# TYPE nv_inference_request_success counter
nv_inference_request_success{model="mini-2",version="1"} ${success}
nv_inference_request_success{model="other",version="1"} 999
# HELP nv_inference_queue_duration_us Cumulative inference queuing duration in microseconds (includes cached requests)
# TYPE nv_inference_queue_duration_us counter
nv_inference_queue_duration_us{model="mini-2",version="1"} ${queueUs}
nv_inference_queue_duration_us{model="other",version="1"} 5e6
${extra}`;

const autoscaling = { enabled: true, metric: 'triton-queue-time-us' as const, target: 70, minReplicas: 1, maxReplicas: 3, installMetricsAdapter: false, scaleDownStabilizationSeconds: 300 };

describe("Triton's Prometheus metrics and the HPA's reading (pure)", () => {
  it('parses samples with labels, escaped values and exponents; skips comments and junk', () => {
    const samples = parsePrometheusText(`${scrape(10, 2000)}\nnv_x{path="a\\"b"} 1.5e3 1700000000\nnot a sample\n`);
    assert.equal(sumOf(samples, 'nv_inference_request_success', 'mini-2'), 10);
    assert.equal(sumOf(samples, 'nv_inference_request_success'), 1009);
    assert.equal(sumOf(samples, 'nv_inference_queue_duration_us', 'other'), 5e6);
    assert.deepEqual(samples.find((s) => s.name === 'nv_x'), { name: 'nv_x', labels: { path: 'a"b' }, value: 1500 });
    assert.equal(sumOf(samples, 'nv_missing'), null);
  });

  it("reads one model's requests and queue time between two scrapes of the same pods", () => {
    const before = [{ pod: 'a', text: scrape(100, 10_000) }, { pod: 'b', text: scrape(0, 0) }];
    const after = [{ pod: 'a', text: scrape(1100, 60_000) }, { pod: 'b', text: scrape(1000, 150_000) }, { pod: 'new', text: scrape(5, 5) }];
    const load = loadMetricsBetween(before, after, 'mini-2')!;
    assert.equal(load.pods, 2, 'a pod that appeared in between is left out');
    assert.equal(load.requests, 2000);
    assert.equal(load.queueUsPerRequest, 100);
    assert.equal(load.gpuUtilizationPercent, null, 'a CPU Triton exports no GPU utilization');
    assert.equal(loadMetricsBetween([], after, 'mini-2'), null);
  });

  it("gives each metric's per-pod value at a load, and the HPA's replica count", () => {
    const load = { pods: 2, requests: 2000, queueUsPerRequest: 100, gpuUtilizationPercent: null };
    // Queue time per request, as the recording rule the HPA reads computes it: 100 µs, whatever the
    // load and the pod count (not the 1000 req/s × 100 µs / 2 pods = 50000 µs/s per pod a rate of the counter gives).
    const reading = autoscalingReading(autoscaling, load, 1000);
    assert.equal(reading.value, 100);
    assert.equal(autoscalingReading(autoscaling, load, 10).value, 100, 'a lighter load queues each request as long');
    assert.equal(reading.desiredReplicas, 3, 'above target: ceil(2 × 100/70) = 3');
    assert.match(describeReading(reading), /triton-queue-time-us 100 per pod \(µs per request; target 70, 2 pods\) → HPA wants 3/);
    assert.equal(autoscalingReading({ ...autoscaling, target: 100 }, load, 1000).desiredReplicas, 2, 'at target: as many pods');
    const inflight = autoscalingReading({ ...autoscaling, metric: 'triton-inflight-requests', target: 0.1 }, load, 1000);
    assert.equal(inflight.value, 0.05);
    assert.equal(inflight.desiredReplicas, 1);
    const gpu = autoscalingReading({ ...autoscaling, metric: 'gpu-utilization' }, load, 1000);
    assert.equal(gpu.value, null);
    assert.equal(gpu.desiredReplicas, null);
    assert.match(describeReading(gpu), /not exported/);
    const onGpu = loadMetricsBetween([{ pod: 'a', text: scrape(0, 0) }], [{ pod: 'a', text: scrape(10, 10, 'nv_gpu_utilization{gpu_uuid="GPU-1"} 0.84') }], 'mini-2')!;
    assert.ok(Math.abs(onGpu.gpuUtilizationPercent! - 84) < 1e-9);
  });

  it('averages nv_gpu_utilization over the GPUs of each pod, then over the pods, as the ClusterRules (pod:dcgm_fi_dev_gpu_util:avg) and the HPA do', () => {
    const twoGpus = scrape(10, 10, 'nv_gpu_utilization{gpu_uuid="GPU-1"} 0.9\nnv_gpu_utilization{gpu_uuid="GPU-2"} 0.1');
    const oneGpu = scrape(10, 10, 'nv_gpu_utilization{gpu_uuid="GPU-3"} 0.6');
    const load = loadMetricsBetween([{ pod: 'a', text: scrape(0, 0) }, { pod: 'b', text: scrape(0, 0) }], [{ pod: 'a', text: twoGpus }, { pod: 'b', text: oneGpu }], 'mini-2')!;
    // Pod a: (90 + 10) / 2 = 50, one GPU idle because its instances sit on the other; pod b: 60.
    assert.ok(Math.abs(load.gpuUtilizationPercent! - 55) < 1e-9);
  });

  it("follows Kubernetes' HPA rule: ceil(current × value/target), 10% tolerance, clamped", () => {
    const bounds = { target: 100, minReplicas: 1, maxReplicas: 10 };
    assert.equal(hpaDesiredReplicas(2, 150, bounds), 3);
    assert.equal(hpaDesiredReplicas(2, 105, bounds), 2, 'within the tolerance');
    assert.equal(hpaDesiredReplicas(4, 10, bounds), 1);
    assert.equal(hpaDesiredReplicas(4, 0, { ...bounds, minReplicas: 2 }), 2);
    assert.equal(hpaDesiredReplicas(4, 1000, bounds), 10);
  });
});
