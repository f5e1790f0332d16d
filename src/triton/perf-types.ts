/** One perf_analyzer measurement at a fixed concurrency (latencies in microseconds). */
export interface PerfPoint {
  concurrency: number;
  /** Inferences per second (batch size × requests per second). */
  throughput: number;
  latencyUs: { avg: number; p50: number; p90: number; p95: number; p99: number };
}

export type LatencyPercentile = 50 | 90 | 95 | 99;

export function latencyAt(point: PerfPoint, percentile: LatencyPercentile): number {
  switch (percentile) {
    case 50:
      return point.latencyUs.p50;
    case 90:
      return point.latencyUs.p90;
    case 95:
      return point.latencyUs.p95;
    case 99:
      return point.latencyUs.p99;
  }
}

/**
 * perf_analyzer stopped a linear concurrency sweep because one concurrency never stabilised:
 * the points before it were measured, it and the ones after it were not.
 */
export interface PerfCutShort {
  concurrency: number;
  /** perf_analyzer's own line, as printed. */
  message: string;
}
