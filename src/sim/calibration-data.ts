/**
 * The seed's measured Triton performance, as data (shared/seed/triton-gke-sample.md and
 * sample-details.md §1.3–1.8). The sim's performance model (perf-model.ts) is fitted to these
 * numbers by bench/calibrate-perf-model.ts and checked against them by test/unit/perf-model.test.ts.
 * Pure constants.
 *
 * Measurement set-up (query_resnet.sh / query_bert.sh): perf_analyzer over gRPC, closed loop,
 * `--percentile 90`, so the latency column is the client-side p90 in microseconds; one T4, Triton
 * 20.09, dynamic batching with max_queue_delay 1,000,000 µs.
 */

export interface MeasuredRow {
  concurrency: number;
  /** infer/s (batch size × requests/s). */
  throughput: number;
  /** Client-side p90 latency, microseconds. */
  p90Us: number;
}

export interface MeasuredSweep {
  /** Triton model name in the sample. */
  model: string;
  instances: number;
  batchSize: number;
  maxBatchSize: number;
  preferredBatchSizes: number[];
  maxQueueDelayMicroseconds: number;
  rows: readonly MeasuredRow[];
}

const row = (concurrency: number, throughput: number, p90Us: number): MeasuredRow => ({
  concurrency,
  throughput,
  p90Us,
});

/** ResNet50 INT8, profile 2 = (1,32,32), batch-32 requests, concurrency 1..10. */
const RESNET_COMMON = { batchSize: 32, maxBatchSize: 32, maxQueueDelayMicroseconds: 1_000_000 };

export const RESNET50_INT8_1_INSTANCE: MeasuredSweep = {
  model: 'ResNet50-INT8',
  instances: 1,
  ...RESNET_COMMON,
  preferredBatchSizes: [32],
  rows: [
    row(1, 565.333, 60001),
    row(2, 1216, 66442),
    row(3, 1706.67, 77101),
    row(4, 2048, 88032),
    row(5, 2357.33, 111096),
    row(6, 2858.67, 109348),
    row(7, 2986.67, 95868),
    row(8, 2901.33, 116152),
    row(9, 2880, 177276),
    row(10, 3061.33, 169798),
  ],
};

export const RESNET50_INT8_4_INSTANCES: MeasuredSweep = {
  model: 'ResNet50-INT8-2',
  instances: 4,
  ...RESNET_COMMON,
  preferredBatchSizes: [32],
  rows: [
    row(1, 544, 63754),
    row(2, 1280, 64933),
    row(3, 1984, 60547),
    row(4, 2506.67, 61568),
    row(5, 2933.33, 72380),
    row(6, 3125.33, 79613),
    row(7, 3456, 83438),
    row(8, 3637.33, 90568),
    row(9, 3594.67, 105748),
    row(10, 4053.33, 99167),
  ],
};

/**
 * BERT-Large seq 384 INT8: the README's only number, "~170qps at 125ms latency", for the Bert-2
 * config (max batch 16, preferred [16], 2 instances) swept by query_bert.sh at batch 16,
 * concurrency 1..3, p90.
 */
export const BERT_LARGE_TARGET = {
  model: 'Bert-2',
  instances: 2,
  batchSize: 16,
  maxBatchSize: 16,
  preferredBatchSizes: [16],
  maxQueueDelayMicroseconds: 1_000_000,
  concurrency: { start: 1, end: 3, step: 1 },
  throughput: 170,
  p90Us: 125_000,
} as const;

/** One-T4 ceilings quoted in sample-details.md (context, and a sanity bound for the model). */
export const T4_CEILINGS = {
  /** ResNet-50 INT8 offline, MLPerf v0.7 (images/s). */
  resnet50Int8Offline: 6000,
  /** BERT-Large seq 384 INT8, TensorRT BERT demo tables (sequences/s). */
  bertLargeSeq384Int8: 170,
} as const;

export const CALIBRATION = {
  resnet50Int8: [RESNET50_INT8_1_INSTANCE, RESNET50_INT8_4_INSTANCES] as const,
  bertLargeSeq384Int8: BERT_LARGE_TARGET,
  t4: T4_CEILINGS,
} as const;

/**
 * p90 points no monotone model can follow (excluded from the per-point 10% check, still counted
 * in the mean absolute percentage error). The seed's implied tail ratio p90 / mean (mean from
 * Little's law, c × 32 / throughput) for 1 instance runs c=5 1.64, c=6 1.63, c=7 1.28, c=8 1.32,
 * c=9 1.77, c=10 1.62 while GPU utilisation is flat at saturation: c=7 (96 ms) sits below c=5 and
 * c=6 (111, 109 ms) although its mean (75 ms) is above theirs (68, 67 ms), and c=8 → c=9 jumps
 * +53% (116 → 177 ms) with throughput −1%, so with throughput non-decreasing p90(9)/p90(8) ≤
 * 9/8 × r9/r8 needs a 11% tail jump at constant utilisation to hit both. A tail that widens
 * monotonically with utilisation matches c=5, 6, 9, 10 and misses c=7, 8.
 */
export const EXCLUDED_P90_POINTS: readonly { instances: number; concurrency: number }[] = [
  { instances: 1, concurrency: 7 },
  { instances: 1, concurrency: 8 },
];
