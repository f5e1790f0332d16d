/**
 * perf_analyzer (formerly perf_client) output: the stdout summary lines, the per-concurrency
 * blocks, the -f CSV report, and the argv to run it. Formats follow perf_analyzer's
 * inference_profiler.cc / report_writer.cc (triton-inference-server/client).
 * Pure: no I/O, no Node built-ins, no Temporal imports.
 */
import type { PerfCutShort, PerfPoint } from './perf-types.js';

/**
 * One line of the closing summary, e.g. `Concurrency: 1, throughput: 565.333 infer/sec, latency 60001 usec`.
 * The latency is whatever perf_analyzer stabilised on: the --percentile value when given (p90 in
 * the sample), otherwise the average. It cannot be mapped to a PerfPoint honestly.
 */
export interface PerfSummaryPoint {
  concurrency: number;
  throughput: number;
  latencyUs: number;
}

const NUM = String.raw`[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?`;
const SUMMARY_LINE = new RegExp(String.raw`^\s*Concurrency:\s*(\d+),\s*throughput:\s*(${NUM})\s*infer/sec,\s*latency\s*(${NUM})\s*usec\s*$`);

function byConcurrency<T extends { concurrency: number }>(points: T[]): T[] {
  return [...points].sort((a, b) => a.concurrency - b.concurrency);
}

/** Parses the compact summary lines; other lines are ignored. Sorted by concurrency. */
export function parsePerfSummaryLines(stdout: string): PerfSummaryPoint[] {
  const points: PerfSummaryPoint[] = [];
  for (const line of stdout.split(/\r?\n/)) {
    const m = SUMMARY_LINE.exec(line);
    if (m === null) continue;
    points.push({ concurrency: Number(m[1]), throughput: Number(m[2]), latencyUs: Number(m[3]) });
  }
  return byConcurrency(points);
}

const BLOCK_START = /^\s*Request concurrency:\s*(\d+)\s*$/;
// Anchored at line start so the "Pass [n] throughput: ... p95 latency: ..." lines of -v and the
// server's "Avg request latency" line are not mistaken for the client's final figures.
const THROUGHPUT_LINE = new RegExp(String.raw`^\s*Throughput:\s*(${NUM})\s*infer/sec`);
const AVG_LINE = new RegExp(String.raw`^\s*Avg latency:\s*(${NUM})\s*usec`);
const PCT_LINE = new RegExp(String.raw`^\s*p(50|90|95|99) latency:\s*(${NUM})\s*usec`);
const BLOCK_END = /^\s*Inferences\/Second vs\. Client/;

interface BlockValues {
  concurrency: number;
  line: number;
  throughput?: number;
  avg?: number;
  p50?: number;
  p90?: number;
  p95?: number;
  p99?: number;
}

/**
 * Parses the per-concurrency blocks (`Request concurrency: 4` / `Client:` / `Throughput:` /
 * `pNN latency:` / `Avg latency:`). perf_analyzer prints "Avg latency" only when no --percentile
 * is given; then avg falls back to p50 (a median, not a mean). Blocks without client figures
 * (e.g. a concurrency that never stabilised) are skipped; half-printed blocks throw.
 */
export function parsePerfVerbose(stdout: string): PerfPoint[] {
  const blocks: BlockValues[] = [];
  let current: BlockValues | undefined;
  stdout.split(/\r?\n/).forEach((line, index) => {
    const start = BLOCK_START.exec(line);
    if (start !== null) {
      current = { concurrency: Number(start[1]), line: index + 1 };
      blocks.push(current);
      return;
    }
    if (current === undefined) return;
    if (BLOCK_END.test(line)) {
      current = undefined;
      return;
    }
    // First occurrence wins: the client section precedes the server section.
    const tp = THROUGHPUT_LINE.exec(line);
    if (tp !== null) {
      current.throughput ??= Number(tp[1]);
      return;
    }
    const avg = AVG_LINE.exec(line);
    if (avg !== null) {
      current.avg ??= Number(avg[1]);
      return;
    }
    const pct = PCT_LINE.exec(line);
    if (pct !== null) {
      const key = `p${pct[1]}` as 'p50' | 'p90' | 'p95' | 'p99';
      current[key] ??= Number(pct[2]);
    }
  });

  const points: PerfPoint[] = [];
  for (const b of blocks) {
    const { throughput, p50, p90, p95, p99 } = b;
    if (throughput === undefined && p50 === undefined && p90 === undefined && p95 === undefined && p99 === undefined) continue;
    const missing = (['Throughput', 'p50 latency', 'p90 latency', 'p95 latency', 'p99 latency'] as const).filter(
      (_, i) => [throughput, p50, p90, p95, p99][i] === undefined,
    );
    if (throughput === undefined || p50 === undefined || p90 === undefined || p95 === undefined || p99 === undefined) {
      throw new Error(`perf_analyzer block "Request concurrency: ${b.concurrency}" (line ${b.line}) lacks ${missing.join(', ')}`);
    }
    points.push({ concurrency: b.concurrency, throughput, latencyUs: { avg: b.avg ?? p50, p50, p90, p95, p99 } });
  }
  return byConcurrency(points);
}

/**
 * Exit status perf_analyzer returns (STABILITY_ERROR, src/constants.h) when a linear concurrency
 * sweep never stabilised at its first concurrency; it then writes no -f CSV. When a later
 * concurrency is the unstable one it keeps the earlier results, writes them to the CSV and exits 0:
 * only its stderr line tells the sweep was cut short.
 */
export const PERF_STABILITY_EXIT_CODE = 2;

/** Start of the stderr line perf_analyzer prints for a concurrency it could not stabilise. */
export const PERF_UNSTABLE_PREFIX = 'Failed to obtain stable measurement within';

// "<prefix> 3 measurement windows for concurrency 2. Please try to increase the --measurement-interval."
// (or "--measurement-request-count" in count_windows mode). Not anchored: a log line may carry a
// timestamp prefix.
const UNSTABLE_LINE = new RegExp(String.raw`${PERF_UNSTABLE_PREFIX}\s+\d+\s+measurement windows for concurrency\s+(\d+)\b`);

/**
 * The concurrency at which perf_analyzer gave up a sweep for want of a stable measurement, found
 * in its output (stdout and stderr together, e.g. a pod log), or null when every concurrency it
 * tried was stable. A linear sweep stops at the first such concurrency, so the first line counts.
 */
export function findUnstableConcurrency(log: string): PerfCutShort | null {
  for (const line of log.split(/\r?\n/)) {
    const m = UNSTABLE_LINE.exec(line);
    if (m === null) continue;
    return { concurrency: Number(m[1]), message: line.slice(m.index).trim() };
  }
  return null;
}

/** The -f CSV header with --verbose-csv and server stats, as documented for perf_analyzer. */
export const PERF_CSV_HEADER: readonly string[] = [
  'Concurrency',
  'Inferences/Second',
  'Client Send',
  'Network+Server Send/Recv',
  'Server Queue',
  'Server Compute Input',
  'Server Compute Infer',
  'Server Compute Output',
  'Client Recv',
  'p50 latency',
  'p90 latency',
  'p95 latency',
  'p99 latency',
  'Avg latency',
  'request/response',
  'response wait',
];

const REQUIRED_COLUMNS = ['Concurrency', 'Inferences/Second', 'p50 latency', 'p90 latency', 'p95 latency', 'p99 latency'] as const;

/**
 * Parses perf_analyzer's -f CSV. Columns are found by header name, so extra columns (cache, GPU
 * metrics) and reordering are fine. "Avg latency" is only written when no --percentile is given;
 * without it avg falls back to p50. Rows come back sorted by concurrency (perf_analyzer sorts
 * them by throughput).
 */
export function parsePerfCsv(csv: string): PerfPoint[] {
  const lines = csv
    .replace(/^\uFEFF/, '')
    .split(/\r?\n/)
    .map((text, i) => ({ text, line: i + 1 }))
    .filter((l) => l.text.trim() !== '');
  const header = lines[0];
  if (header === undefined) throw new Error('perf_analyzer CSV is empty');
  const names = header.text.split(',').map((h) => h.trim());
  const index = new Map<string, number>();
  names.forEach((n, i) => {
    if (!index.has(n)) index.set(n, i);
  });
  const missing = REQUIRED_COLUMNS.filter((c) => !index.has(c));
  if (missing.length > 0) {
    const hint = index.has('Request Rate') ? ' (this CSV is from --request-rate-range; only concurrency sweeps are supported)' : '';
    throw new Error(`perf_analyzer CSV lacks column(s) ${missing.map((m) => `"${m}"`).join(', ')}${hint}`);
  }
  const col = (c: string) => index.get(c) as number;

  const points = lines.slice(1).map(({ text, line }) => {
    const cells = text.split(',').map((c) => c.trim());
    if (cells.length !== names.length) {
      throw new Error(`perf_analyzer CSV line ${line} has ${cells.length} cells, the header has ${names.length}`);
    }
    const num = (column: string): number => {
      const raw = cells[col(column)] ?? '';
      const n = Number(raw);
      if (raw === '' || !Number.isFinite(n)) throw new Error(`perf_analyzer CSV line ${line}, column "${column}": "${raw}" is not a number`);
      return n;
    };
    const p50 = num('p50 latency');
    const point: PerfPoint = {
      concurrency: num('Concurrency'),
      throughput: num('Inferences/Second'),
      latencyUs: {
        avg: index.has('Avg latency') ? num('Avg latency') : p50,
        p50,
        p90: num('p90 latency'),
        p95: num('p95 latency'),
        p99: num('p99 latency'),
      },
    };
    return point;
  });
  return byConcurrency(points);
}

/** C++ ostream's default double formatting (%g, 6 significant digits), as perf_analyzer writes throughput. */
function formatCppDouble(x: number): string {
  if (!Number.isFinite(x)) throw new Error(`cannot write non-finite number ${x} to a perf CSV`);
  if (x === 0) return '0';
  const [mantissa = '', expText = '0'] = x.toExponential(5).split('e');
  const exp = Number(expText);
  const strip = (s: string) => (s.includes('.') ? s.replace(/0+$/, '').replace(/\.$/, '') : s);
  if (exp < -4 || exp >= 6) return `${strip(mantissa)}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
  return strip(x.toFixed(5 - exp));
}

function formatUs(x: number): string {
  if (!Number.isFinite(x) || x < 0) throw new Error(`latency ${x} usec cannot be written to a perf CSV`);
  // perf_analyzer writes whole microseconds (integer ns / 1000).
  return String(Math.trunc(x));
}

/**
 * Writes points as perf_analyzer's -f CSV (full PERF_CSV_HEADER; the component columns a
 * simulation cannot know are 0). Quantised like the real tool: throughput to 6 significant
 * digits, latencies to whole usec, rows ordered by increasing throughput.
 */
export function renderPerfCsv(points: readonly PerfPoint[]): string {
  const rows = [...points]
    .sort((a, b) => a.throughput - b.throughput)
    .map((p) => {
      if (!Number.isInteger(p.concurrency) || p.concurrency < 1) throw new Error(`concurrency ${p.concurrency} must be a positive integer`);
      const l = p.latencyUs;
      return [
        String(p.concurrency),
        formatCppDouble(p.throughput),
        '0', '0', '0', '0', '0', '0', '0',
        formatUs(l.p50),
        formatUs(l.p90),
        formatUs(l.p95),
        formatUs(l.p99),
        formatUs(l.avg),
        '0', '0',
      ].join(',');
    });
  return [PERF_CSV_HEADER.join(','), ...rows].join('\n') + '\n';
}

export interface PerfAnalyzerArgsInput {
  model: string;
  /** host:port without a scheme, e.g. "10.0.0.5:8001" (gRPC) or ":8000" (HTTP). */
  url: string;
  protocol: 'grpc' | 'http';
  batchSize: number;
  concurrency: { start: number; end: number; step: number };
  percentile: number;
  measurementIntervalMs: number;
  shapes: readonly { name: string; dims: readonly number[] }[];
  csvPath: string;
  latencyThresholdMs?: number;
  maxTrials?: number;
  stabilityPercentage?: number;
  /** Tensors through system shared memory instead of the wire: only for a client on Triton's host (the GPU benchmark). */
  systemSharedMemory?: { outputBytes: number };
}

function positiveInt(what: string, n: number): string {
  if (!Number.isInteger(n) || n < 1) throw new Error(`perf_analyzer ${what} must be a positive integer, got ${n}`);
  return String(n);
}

/**
 * The perf_analyzer argv (no shell string, so the sample's stray "\\" token after
 * --concurrency-range cannot occur). Inputs are validated so a bad spec fails here, not mid-run.
 */
export function buildPerfAnalyzerArgs(input: PerfAnalyzerArgsInput): string[] {
  if (input.model.length === 0) throw new Error('perf_analyzer model name must not be empty');
  if (input.url.length === 0 || input.url.includes('://')) {
    throw new Error(`perf_analyzer -u takes host:port without a scheme (e.g. "10.0.0.5:8001"), got "${input.url}"`);
  }
  if (input.csvPath.length === 0) throw new Error('perf_analyzer csvPath must not be empty');
  const { start, end, step } = input.concurrency;
  positiveInt('concurrency start', start);
  positiveInt('concurrency end', end);
  positiveInt('concurrency step', step);
  if (start > end) throw new Error(`perf_analyzer concurrency start ${start} must be <= end ${end}`);
  if (!Number.isInteger(input.percentile) || input.percentile < 1 || input.percentile > 99) {
    throw new Error(`perf_analyzer --percentile must be an integer in 1..99, got ${input.percentile}`);
  }

  const args = [
    '-m', input.model,
    '-u', input.url,
    '-i', input.protocol,
    '-b', positiveInt('batch size', input.batchSize),
    '--concurrency-range', `${start}:${end}:${step}`,
    '--percentile', String(input.percentile),
    '-p', positiveInt('measurement interval (ms)', input.measurementIntervalMs),
  ];
  for (const shape of input.shapes) {
    if (shape.name.length === 0 || shape.dims.length === 0) throw new Error('perf_analyzer --shape needs a name and at least one dimension');
    // --shape fixes variable dimensions, so every dim must be concrete.
    const dims = shape.dims.map((d) => positiveInt(`--shape ${shape.name} dimension`, d));
    args.push('--shape', `${shape.name}:${dims.join(',')}`);
  }
  args.push('-f', input.csvPath);
  if (input.latencyThresholdMs !== undefined) args.push('-l', positiveInt('latency threshold (ms)', input.latencyThresholdMs));
  if (input.maxTrials !== undefined) args.push('-r', positiveInt('max trials', input.maxTrials));
  if (input.stabilityPercentage !== undefined) {
    if (!Number.isFinite(input.stabilityPercentage) || input.stabilityPercentage <= 0) {
      throw new Error(`perf_analyzer stability percentage must be > 0, got ${input.stabilityPercentage}`);
    }
    args.push('-s', String(input.stabilityPercentage));
  }
  if (input.systemSharedMemory !== undefined) {
    args.push('--shared-memory', 'system', '--output-shared-memory-size', positiveInt('output shared memory size (bytes)', input.systemSharedMemory.outputBytes));
  }
  return args;
}
