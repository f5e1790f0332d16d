import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildPerfAnalyzerArgs, findUnstableConcurrency, parsePerfCsv, parsePerfSummaryLines, parsePerfVerbose, PERF_CSV_HEADER, renderPerfCsv } from '../../../src/triton/perf-output.js';
import type { PerfPoint } from '../../../src/triton/perf-types.js';

// Verbatim from the sample README (seed triton-gke-sample.md), "1 instance resnet50".
const ONE_INSTANCE = `Concurrency: 1, throughput: 565.333 infer/sec, latency 60001 usec
Concurrency: 2, throughput: 1216 infer/sec, latency 66442 usec
Concurrency: 3, throughput: 1706.67 infer/sec, latency 77101 usec
Concurrency: 4, throughput: 2048 infer/sec, latency 88032 usec
Concurrency: 5, throughput: 2357.33 infer/sec, latency 111096 usec
Concurrency: 6, throughput: 2858.67 infer/sec, latency 109348 usec
Concurrency: 7, throughput: 2986.67 infer/sec, latency 95868 usec
Concurrency: 8, throughput: 2901.33 infer/sec, latency 116152 usec
Concurrency: 9, throughput: 2880 infer/sec, latency 177276 usec
Concurrency: 10, throughput: 3061.33 infer/sec, latency 169798 usec
`;

// Verbatim, "4 instances resnet50".
const FOUR_INSTANCES = `Concurrency: 1, throughput: 544 infer/sec, latency 63754 usec
Concurrency: 2, throughput: 1280 infer/sec, latency 64933 usec
Concurrency: 3, throughput: 1984 infer/sec, latency 60547 usec
Concurrency: 4, throughput: 2506.67 infer/sec, latency 61568 usec
Concurrency: 5, throughput: 2933.33 infer/sec, latency 72380 usec
Concurrency: 6, throughput: 3125.33 infer/sec, latency 79613 usec
Concurrency: 7, throughput: 3456 infer/sec, latency 83438 usec
Concurrency: 8, throughput: 3637.33 infer/sec, latency 90568 usec
Concurrency: 9, throughput: 3594.67 infer/sec, latency 105748 usec
Concurrency: 10, throughput: 4053.33 infer/sec, latency 99167 usec
`;

const table = (rows: [number, number, number][]) => rows.map(([concurrency, throughput, latencyUs]) => ({ concurrency, throughput, latencyUs }));

test("parses the sample's 1-instance summary table exactly", () => {
  assert.deepEqual(
    parsePerfSummaryLines(ONE_INSTANCE),
    table([
      [1, 565.333, 60001], [2, 1216, 66442], [3, 1706.67, 77101], [4, 2048, 88032], [5, 2357.33, 111096],
      [6, 2858.67, 109348], [7, 2986.67, 95868], [8, 2901.33, 116152], [9, 2880, 177276], [10, 3061.33, 169798],
    ]),
  );
});

test("parses the sample's 4-instance summary table exactly, ignoring surrounding text", () => {
  const stdout = `*** Measurement Settings ***\n  Batch size: 32\n\nInferences/Second vs. Client p90 Batch Latency\n${FOUR_INSTANCES}\nGPU utilization\n`;
  const points = parsePerfSummaryLines(stdout);
  assert.equal(points.length, 10);
  assert.deepEqual(
    points,
    table([
      [1, 544, 63754], [2, 1280, 64933], [3, 1984, 60547], [4, 2506.67, 61568], [5, 2933.33, 72380],
      [6, 3125.33, 79613], [7, 3456, 83438], [8, 3637.33, 90568], [9, 3594.67, 105748], [10, 4053.33, 99167],
    ]),
  );
  assert.deepEqual(parsePerfSummaryLines('no summary here'), []);
});

// Shaped like perf_analyzer -v output (inference_profiler.cc ReportClientSideStats / Report).
const VERBOSE = `*** Measurement Settings ***
  Batch size: 32
  Service Kind: Triton
  Using "time_windows" mode for stabilization
  Measurement window: 2000 msec
  Latency limit: 50000 msec
  Concurrency limit: 10 concurrent requests
  Using synchronous calls for inference
  Stabilizing using p90 latency

Request concurrency: 4
  Pass [1] throughput: 2000 infer/sec. p90 latency: 90000 usec
  Pass [2] throughput: 2032 infer/sec. p90 latency: 88500 usec
  Pass [3] throughput: 2048 infer/sec. p90 latency: 88032 usec
  Client: 
    Request count: 128
    Throughput: 2048 infer/sec
    p50 latency: 61234 usec
    p90 latency: 88032 usec
    p95 latency: 92001 usec
    p99 latency: 101500 usec
    Avg gRPC time: 62000 usec ((un)marshal request/response 900 usec + response wait 61100 usec)
  Server: 
    Inference count: 4096
    Execution count: 128
    Successful request count: 128
    Avg request latency: 58000 usec (overhead 100 usec + queue 20000 usec + compute input 5000 usec + compute infer 30000 usec + compute output 2900 usec)

Request concurrency: 1
  Client: 
    Request count: 34
    Throughput: 565.333 infer/sec
    Avg latency: 57000 usec (standard deviation 1200 usec)
    p50 latency: 56000 usec
    p90 latency: 60001 usec
    p95 latency: 61000 usec
    p99 latency: 63000 usec
  Server: 
    Avg request latency: 1 usec (overhead 1 usec + queue 0 usec + compute input 0 usec + compute infer 0 usec + compute output 0 usec)

Request concurrency: 5
Failed to obtain stable measurement within 10 measurement windows for concurrency 5. Please try to increase the --measurement-interval.

Inferences/Second vs. Client p90 Batch Latency
Concurrency: 1, throughput: 565.333 infer/sec, latency 60001 usec
Concurrency: 4, throughput: 2048 infer/sec, latency 88032 usec
`;

test('parses verbose per-concurrency blocks into full PerfPoints', () => {
  assert.deepEqual(parsePerfVerbose(VERBOSE), [
    { concurrency: 1, throughput: 565.333, latencyUs: { avg: 57000, p50: 56000, p90: 60001, p95: 61000, p99: 63000 } },
    // No "Avg latency" line when --percentile is set: avg falls back to p50.
    { concurrency: 4, throughput: 2048, latencyUs: { avg: 61234, p50: 61234, p90: 88032, p95: 92001, p99: 101500 } },
  ]);
  // The compact parser reads the same stdout's summary.
  assert.deepEqual(parsePerfSummaryLines(VERBOSE), table([[1, 565.333, 60001], [4, 2048, 88032]]));
});

test('a half-printed verbose block throws naming what is missing', () => {
  const cut = 'Request concurrency: 3\n  Client: \n    Throughput: 1984 infer/sec\n    p50 latency: 50000 usec\n';
  assert.throws(() => parsePerfVerbose(cut), /concurrency: 3" \(line 1\) lacks p90 latency, p95 latency, p99 latency/);
});

const DOC_HEADER =
  'Concurrency,Inferences/Second,Client Send,Network+Server Send/Recv,Server Queue,Server Compute Input,Server Compute Infer,Server Compute Output,Client Recv,p50 latency,p90 latency,p95 latency,p99 latency,Avg latency,request/response,response wait';

// Rows in perf_analyzer's order (increasing infer/sec), values in usec.
const REAL_CSV = `${DOC_HEADER}
1,544,120,3100,41000,900,17000,60,15,61210,63754,64100,66020,62195,135,62060
2,1280,118,2900,30000,1100,14000,55,14,48010,64933,66800,70120,48187,132,48055
4,2506.67,125,3300,25000,1200,18000,70,16,47500,61568,63000,69000,47711,141,47570
3,1984,121,3000,26000,1000,18000,58,15,45210,60547,62000,65500,45194,136,45058
`;

const CSV_POINTS: PerfPoint[] = [
  { concurrency: 1, throughput: 544, latencyUs: { avg: 62195, p50: 61210, p90: 63754, p95: 64100, p99: 66020 } },
  { concurrency: 2, throughput: 1280, latencyUs: { avg: 48187, p50: 48010, p90: 64933, p95: 66800, p99: 70120 } },
  { concurrency: 3, throughput: 1984, latencyUs: { avg: 45194, p50: 45210, p90: 60547, p95: 62000, p99: 65500 } },
  { concurrency: 4, throughput: 2506.67, latencyUs: { avg: 47711, p50: 47500, p90: 61568, p95: 63000, p99: 69000 } },
];

test('PERF_CSV_HEADER is the documented header', () => {
  assert.equal(PERF_CSV_HEADER.join(','), DOC_HEADER);
});

test('parses a perf_analyzer CSV, sorted by concurrency', () => {
  assert.deepEqual(parsePerfCsv(REAL_CSV), CSV_POINTS);
  assert.deepEqual(parsePerfCsv(REAL_CSV.replace(/\n/g, '\r\n')), CSV_POINTS);
});

test('finds columns by name: reordered and extra columns', () => {
  const csv = `p99 latency,Concurrency,Avg GPU Utilization,p50 latency,Inferences/Second,p95 latency,p90 latency,Avg latency
66020,1,0.61,61210,544,64100,63754,62195
70120,2,0.72,48010,1280,66800,64933,48187
`;
  assert.deepEqual(parsePerfCsv(csv), CSV_POINTS.slice(0, 2));
});

test('without Avg latency (--percentile given) avg falls back to p50', () => {
  const csv = 'Concurrency,Inferences/Second,Client Send,Client Recv,p50 latency,p90 latency,p95 latency,p99 latency\n1,544,120,15,61210,63754,64100,66020\n';
  assert.deepEqual(parsePerfCsv(csv), [{ concurrency: 1, throughput: 544, latencyUs: { avg: 61210, p50: 61210, p90: 63754, p95: 64100, p99: 66020 } }]);
});

test('CSV errors name the missing column or bad cell', () => {
  const noP99 = REAL_CSV.replace(',p99 latency', '').split('\n').map((l, i) => (i === 0 ? l : l.split(',').filter((_, j) => j !== 12).join(','))).join('\n');
  assert.throws(() => parsePerfCsv(noP99), /lacks column\(s\) "p99 latency"/);
  assert.throws(() => parsePerfCsv('Request Rate,Inferences/Second,p50 latency,p90 latency,p95 latency,p99 latency\n'), /"Concurrency".*--request-rate-range/);
  assert.throws(() => parsePerfCsv(`${DOC_HEADER}\n1,544,0\n`), /line 2 has 3 cells, the header has 16/);
  assert.throws(() => parsePerfCsv(REAL_CSV.replace('1,544,', '1,abc,')), /line 2, column "Inferences\/Second": "abc" is not a number/);
  assert.throws(() => parsePerfCsv(''), /empty/);
});

test('renderPerfCsv writes the documented format; parsePerfCsv reads it back', () => {
  const csv = renderPerfCsv(CSV_POINTS);
  const lines = csv.split('\n');
  assert.equal(lines[0], DOC_HEADER);
  assert.equal(lines[1], '1,544,0,0,0,0,0,0,0,61210,63754,64100,66020,62195,0,0');
  assert.ok(csv.endsWith('\n'));
  assert.deepEqual(parsePerfCsv(csv), CSV_POINTS);
});

test('renderPerfCsv quantises like perf_analyzer and orders rows by throughput', () => {
  const csv = renderPerfCsv([
    { concurrency: 2, throughput: 1234567.8, latencyUs: { avg: 10.9, p50: 10.2, p90: 11, p95: 12, p99: 13 } },
    { concurrency: 1, throughput: 3061.333333, latencyUs: { avg: 1, p50: 1, p90: 1, p95: 1, p99: 1 } },
  ]);
  const rows = csv.trim().split('\n').slice(1);
  assert.deepEqual(rows.map((r) => r.split(',').slice(0, 2)), [['1', '3061.33'], ['2', '1.23457e+06']]);
  assert.deepEqual(parsePerfCsv(csv)[1], { concurrency: 2, throughput: 1234570, latencyUs: { avg: 10, p50: 10, p90: 11, p95: 12, p99: 13 } });
});

test("buildPerfAnalyzerArgs for the sample's query_resnet.sh settings", () => {
  assert.deepEqual(
    buildPerfAnalyzerArgs({
      model: 'ResNet50-INT8-2',
      url: '10.128.0.7:8001',
      protocol: 'grpc',
      batchSize: 32,
      concurrency: { start: 1, end: 10, step: 1 },
      percentile: 90,
      measurementIntervalMs: 2000,
      shapes: [],
      csvPath: '/results/resnet.csv',
      latencyThresholdMs: 50000,
    }),
    [
      '-m', 'ResNet50-INT8-2', '-u', '10.128.0.7:8001', '-i', 'grpc', '-b', '32',
      '--concurrency-range', '1:10:1', '--percentile', '90', '-p', '2000',
      '-f', '/results/resnet.csv', '-l', '50000',
    ],
  );
});

test("buildPerfAnalyzerArgs for query_bert.sh: shapes, -r, -s; no stray backslash token", () => {
  const args = buildPerfAnalyzerArgs({
    model: 'Bert-2', url: 'triton:8001', protocol: 'grpc', batchSize: 16,
    concurrency: { start: 1, end: 3, step: 1 }, percentile: 90, measurementIntervalMs: 1000,
    shapes: [{ name: 'input_ids', dims: [384] }, { name: 'segment_ids', dims: [384] }, { name: 'input_mask', dims: [384] }],
    csvPath: 'bert.csv', latencyThresholdMs: 50000, maxTrials: 40, stabilityPercentage: 10,
  });
  assert.deepEqual(args.slice(14), [
    '--shape', 'input_ids:384', '--shape', 'segment_ids:384', '--shape', 'input_mask:384',
    '-f', 'bert.csv', '-l', '50000', '-r', '40', '-s', '10',
  ]);
  assert.ok(!args.includes('\\'));
});

test('buildPerfAnalyzerArgs rejects bad input', () => {
  const ok = {
    model: 'm', url: 'h:8001', protocol: 'grpc', batchSize: 1, concurrency: { start: 1, end: 2, step: 1 },
    percentile: 90, measurementIntervalMs: 1000, shapes: [], csvPath: 'x.csv',
  } as const;
  assert.throws(() => buildPerfAnalyzerArgs({ ...ok, url: 'http://h:8000' }), /without a scheme/);
  assert.throws(() => buildPerfAnalyzerArgs({ ...ok, concurrency: { start: 3, end: 2, step: 1 } }), /start 3 must be <= end 2/);
  assert.throws(() => buildPerfAnalyzerArgs({ ...ok, percentile: 100 }), /percentile/);
  assert.throws(() => buildPerfAnalyzerArgs({ ...ok, shapes: [{ name: 'x', dims: [-1] }] }), /--shape x dimension/);
});

// Real pod-log text of the perf Job script (perf_analyzer 2.51 against tritonserver 2.51 on the CPU,
// -r 3 -p 300 -s 40, concurrency 1:8:1): concurrency 2 never stabilised, so perf_analyzer stopped
// the sweep there, kept concurrency 1 in its summary and CSV, and exited 0.
const CUT_AT_2_LOG = `*** Measurement Settings ***
  Batch size: 1
  Service Kind: TRITON
  Using "time_windows" mode for stabilization
  Stabilizing using p99latency and throughput
  Measurement window: 300 msec
  Latency limit: 0 msec
  Concurrency limit: 8 concurrent requests
  Using synchronous calls for inference

Request concurrency: 1
  Client: 
    Request count: 1572
    Throughput: 1449 infer/sec
    p50 latency: 667 usec
    p90 latency: 812 usec
    p95 latency: 846 usec
    p99 latency: 987 usec
    Avg gRPC time: 673 usec ((un)marshal request/response 5 usec + response wait 668 usec)
  Server: 
    Inference count: 1572
    Execution count: 1572
    Successful request count: 1572
    Avg request latency: 480 usec (overhead 2 usec + queue 32 usec + compute input 15 usec + compute infer 341 usec + compute output 88 usec)

Request concurrency: 2
Failed to obtain stable measurement within 3 measurement windows for concurrency 2. Please try to increase the --measurement-interval.
Inferences/Second vs. Client p99 Batch Latency
Concurrency: 1, throughput: 1449 infer/sec, latency 987 usec
===PERF_CSV_BEGIN===
Concurrency,Inferences/Second,Client Send,Network+Server Send/Recv,Server Queue,Server Compute Input,Server Compute Infer,Server Compute Output,Client Recv,p50 latency,p90 latency,p95 latency,p99 latency
1,1449,4,199,32,15,341,88,1,667,812,846,987
===PERF_CSV_END===
`;

// Same set-up with -s 0.1: the first concurrency never stabilised; perf_analyzer wrote no CSV and
// exited 2 (STABILITY_ERROR) after a second, generic line; the Job script printed an empty block.
const CUT_AT_1_LOG = `*** Measurement Settings ***
  Batch size: 1
  Service Kind: TRITON
  Using "time_windows" mode for stabilization
  Stabilizing using p99latency and throughput
  Measurement window: 200 msec
  Latency limit: 0 msec
  Concurrency limit: 4 concurrent requests
  Using synchronous calls for inference

Request concurrency: 1
Failed to obtain stable measurement within 3 measurement windows for concurrency 1. Please try to increase the --measurement-interval.
Failed to obtain stable measurement.

===PERF_CSV_BEGIN===
===PERF_CSV_END===
`;

// Real, every concurrency stable (-r 10 -p 500 -s 50, concurrency 1:2:1), exit 0.
const STABLE_LOG = `Request concurrency: 2
  Client: 
    Request count: 3575
    Throughput: 1967.95 infer/sec
    p50 latency: 933 usec
    p90 latency: 1247 usec
    p95 latency: 1369 usec
    p99 latency: 2013 usec
    Avg gRPC time: 1000 usec ((un)marshal request/response 5 usec + response wait 995 usec)

Inferences/Second vs. Client p99 Batch Latency
Concurrency: 1, throughput: 1417.72 infer/sec, latency 1094 usec
Concurrency: 2, throughput: 1967.95 infer/sec, latency 2013 usec
`;

test('finds the concurrency where perf_analyzer cut a sweep short (real output, later concurrency)', () => {
  assert.deepEqual(findUnstableConcurrency(CUT_AT_2_LOG), {
    concurrency: 2,
    message: 'Failed to obtain stable measurement within 3 measurement windows for concurrency 2. Please try to increase the --measurement-interval.',
  });
  // The partial sweep is still there to read.
  assert.deepEqual(parsePerfSummaryLines(CUT_AT_2_LOG), table([[1, 1449, 987]]));
});

test('finds a sweep cut short at its first concurrency (real output), not the generic second line', () => {
  assert.deepEqual(findUnstableConcurrency(CUT_AT_1_LOG), {
    concurrency: 1,
    message: 'Failed to obtain stable measurement within 3 measurement windows for concurrency 1. Please try to increase the --measurement-interval.',
  });
  assert.equal(findUnstableConcurrency('Failed to obtain stable measurement.\n'), null);
});

test('a sweep that stabilised everywhere is not cut short', () => {
  assert.equal(findUnstableConcurrency(STABLE_LOG), null);
  assert.equal(findUnstableConcurrency(ONE_INSTANCE), null);
  assert.equal(findUnstableConcurrency(''), null);
});

test('finds the unstable line in count_windows mode, with CRLF and a log timestamp prefix', () => {
  const line = 'Failed to obtain stable measurement within 10 measurement windows for concurrency 16. Please try to increase the --measurement-request-count.';
  assert.deepEqual(findUnstableConcurrency(`2025-01-01T00:00:00.000000000Z ${line}\r\nnext\r\n`), { concurrency: 16, message: line });
  assert.equal(findUnstableConcurrency(VERBOSE)?.concurrency, 5);
});

test('buildPerfAnalyzerArgs: system shared memory for a client on Triton\'s host, with the output region size', () => {
  const args = buildPerfAnalyzerArgs({
    model: 'resnet50-i4', url: 'localhost:8001', protocol: 'grpc', batchSize: 32, concurrency: { start: 4, end: 4, step: 1 },
    percentile: 99, measurementIntervalMs: 2000, shapes: [], csvPath: 'p.csv', systemSharedMemory: { outputBytes: 64000 },
  });
  assert.deepEqual(args.slice(-4), ['--shared-memory', 'system', '--output-shared-memory-size', '64000']);
  assert.throws(
    () => buildPerfAnalyzerArgs({ model: 'm', url: 'h:1', protocol: 'grpc', batchSize: 1, concurrency: { start: 1, end: 1, step: 1 }, percentile: 99, measurementIntervalMs: 1, shapes: [], csvPath: 'x', systemSharedMemory: { outputBytes: 0 } }),
    /output shared memory size/,
  );
});
