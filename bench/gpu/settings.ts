/** The GPU benchmark's fixed choices, shared by its plan (bench/gpu/plan.ts) and the replays of its recordings. */

/** perf_analyzer's window (-p), stability (-s) and trials (-r) of a GPU point. */
export interface SweepSettings {
  readonly measurementIntervalMs: number;
  readonly stabilityPercentage: number;
  readonly maxTrials: number;
}

export const GPU_SWEEP_SETTINGS: SweepSettings = { measurementIntervalMs: 2000, stabilityPercentage: 20, maxTrials: 6 };

/** BERT-Large's throughput swings more per window than ResNet50's: its own plan takes 4 s windows. */
export const BERT_SWEEP_SETTINGS: SweepSettings = { ...GPU_SWEEP_SETTINGS, measurementIntervalMs: 4000 };

/** torch.manual_seed for the networks' random weights (the figures do not depend on the values). */
export const GPU_WEIGHTS_SEED = 0;

/** The ResNet50 configs swept for the search replay: instances × max batch × queue delay, no preferred sizes. */
export const SEARCH_GRID = {
  instances: [1, 2, 4],
  maxBatchSizes: [32, 128],
  queueDelaysUs: [0, 1000],
  concurrencies: [2, 6, 10],
  rounds: 2,
  shuffleSeed: 16,
} as const;

export function searchVariantName(c: { instances: number; maxBatchSize: number; maxQueueDelayMicroseconds: number }): string {
  return `resnet50-i${c.instances}-b${c.maxBatchSize}-d${c.maxQueueDelayMicroseconds}`;
}
