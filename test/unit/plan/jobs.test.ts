/**
 * The perf Job end to end but for the cluster: its bash script (renderPerfJob's container command)
 * run by bash with a stand-in perf_analyzer on PATH that replays what the real one (2.51) printed,
 * wrote and returned (an unstable later concurrency: exit 0 and a partial CSV; an unstable first
 * concurrency: exit 2 and no CSV; an unknown model: exit 99); and measureVariant reading such a
 * Job's log.
 */
import assert from 'node:assert/strict';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { execa } from 'execa';
import { FailureType } from '../../../src/ports/errors.js';
import { extractPerfCsv, PERF_CSV_BEGIN, PERF_CSV_END, perfJobScript, renderPerfJob } from '../../../src/plan/jobs.js';
import { findUnstableConcurrency, parsePerfCsv } from '../../../src/triton/perf-output.js';
import { measureWithLog } from '../../helpers/perf.js';

const HEADER = 'Concurrency,Inferences/Second,Client Send,Network+Server Send/Recv,Server Queue,Server Compute Input,Server Compute Infer,Server Compute Output,Client Recv,p50 latency,p90 latency,p95 latency,p99 latency';
const CSV_1 = `${HEADER}\n1,1449,4,199,32,15,341,88,1,667,812,846,987\n`;
const unstable = (c: number) => `Failed to obtain stable measurement within 3 measurement windows for concurrency ${c}. Please try to increase the --measurement-interval.\n`;

// Writes FAKE_CSV (if set) to the -f path, FAKE_OUT to stdout, FAKE_ERR to stderr, exits FAKE_RC.
const FAKE = `#!/usr/bin/env bash
csv=
while [ $# -gt 0 ]; do [ "$1" = -f ] && csv=$2; shift; done
printf '%s' "$FAKE_OUT"
printf '%s' "$FAKE_ERR" >&2
[ -z "\${FAKE_CSV:-}" ] || printf '%s' "$FAKE_CSV" > "$csv"
exit "$FAKE_RC"
`;

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'perf-job-script-'));
  await writeFile(join(dir, 'perf_analyzer'), FAKE);
  await chmod(join(dir, 'perf_analyzer'), 0o755);
});
after(() => rm(dir, { recursive: true, force: true }));

/** Runs the Job's script; `log` is stdout and stderr interleaved, as the pod log has them (in no guaranteed order). */
async function runScript(fake: { out?: string; err?: string; csv?: string; rc: number }) {
  const csvPath = join(dir, `perf-${Math.random().toString(36).slice(2)}.csv`);
  const script = perfJobScript(['-m', 'mini', '--concurrency-range', '1:4:1', '-f', csvPath], csvPath);
  const result = await execa('bash', ['-c', script], {
    reject: false,
    all: true,
    env: { PATH: `${dir}${delimiter}${process.env['PATH'] ?? ''}`, FAKE_OUT: fake.out ?? '', FAKE_ERR: fake.err ?? '', FAKE_CSV: fake.csv ?? '', FAKE_RC: String(fake.rc) },
  });
  return { exitCode: result.exitCode, stdout: result.stdout, log: result.all ?? '' };
}

describe('perf Job script', () => {
  it('is the container command of the perf Job', () => {
    const job = renderPerfJob({ name: 'p', namespace: 'n', image: 'sdk', args: ['-m', 'x', '-f', '/tmp/p.csv'], csvPath: '/tmp/p.csv', avoidNodePool: 'accel', env: {} });
    const spec = job['spec'] as { template: { spec: { containers: Array<{ command: string[] }> } } };
    assert.deepEqual(spec.template.spec.containers[0]!.command, ['bash', '-c', perfJobScript(['-m', 'x', '-f', '/tmp/p.csv'], '/tmp/p.csv')]);
  });

  it('prints perf_analyzer\'s output, then the CSV of a full sweep between the markers, all on stdout', async () => {
    const out = 'Concurrency: 1, throughput: 1449 infer/sec, latency 987 usec\n';
    const run = await runScript({ out, err: 'a warning\n', csv: CSV_1, rc: 0 });
    assert.equal(run.exitCode, 0);
    assert.equal(run.stdout, `${out}a warning\n${PERF_CSV_BEGIN}\n${CSV_1}${PERF_CSV_END}`);
    assert.match(run.log, /Concurrency: 1, throughput/);
    assert.equal(findUnstableConcurrency(run.log), null);
  });

  it('a sweep cut short at a later concurrency (exit 0): the partial CSV and the marker line', async () => {
    const run = await runScript({ out: 'Request concurrency: 2\n', err: unstable(2), csv: CSV_1, rc: 0 });
    assert.equal(run.exitCode, 0);
    assert.deepEqual(parsePerfCsv(extractPerfCsv(run.log)).map((p) => p.concurrency), [1]);
    assert.equal(findUnstableConcurrency(run.log)?.concurrency, 2);
  });

  it('a sweep cut short at its first concurrency (exit 2, no CSV) succeeds with an empty CSV block', async () => {
    const run = await runScript({ out: 'Request concurrency: 1\n', err: `${unstable(1)}Failed to obtain stable measurement.\n\n`, rc: 2 });
    assert.equal(run.exitCode, 0);
    assert.equal(extractPerfCsv(run.log), '');
    assert.equal(findUnstableConcurrency(run.log)?.concurrency, 1);
  });

  it('other failures fail the Job with perf_analyzer\'s status and print no CSV block', async () => {
    const unknown = await runScript({ err: "error: failed to get model metadata: Request for unknown model: 'nosuch' is not found\n\n", rc: 99 });
    assert.equal(unknown.exitCode, 99);
    assert.doesNotMatch(unknown.log, new RegExp(PERF_CSV_BEGIN));
    const twoWithoutReason = await runScript({ err: 'something else\n', rc: 2 });
    assert.equal(twoWithoutReason.exitCode, 2);
    assert.doesNotMatch(twoWithoutReason.log, new RegExp(PERF_CSV_BEGIN));
  });

  it('exit 0 without a CSV fails the Job, as before', async () => {
    const run = await runScript({ out: 'nothing measured\n', rc: 0 });
    assert.notEqual(run.exitCode, 0);
    assert.throws(() => extractPerfCsv(run.log), /no CSV block/);
  });
});


describe('measureVariant reads the perf Job log', () => {
  it('a full sweep: points, no cutShort', async () => {
    const measured = await measureWithLog(`Concurrency: 1, throughput: 1449 infer/sec, latency 987 usec\n${PERF_CSV_BEGIN}\n${CSV_1}${PERF_CSV_END}\n`);
    assert.deepEqual(measured.points.map((p) => p.concurrency), [1]);
    assert.equal('cutShort' in measured, false);
  });

  it('cut short at a later concurrency: the partial points and cutShort', async () => {
    const measured = await measureWithLog(`Request concurrency: 2\n${unstable(2)}${PERF_CSV_BEGIN}\n${CSV_1}${PERF_CSV_END}\n`);
    assert.deepEqual(measured.points.map((p) => p.concurrency), [1]);
    assert.deepEqual(measured.cutShort, { concurrency: 2, message: unstable(2).trim() });
  });

  it('cut short at the first concurrency: no points and cutShort', async () => {
    const measured = await measureWithLog(`Request concurrency: 1\n${unstable(1)}Failed to obtain stable measurement.\n\n${PERF_CSV_BEGIN}\n${PERF_CSV_END}\n`);
    assert.deepEqual(measured.points, []);
    assert.equal(measured.cutShort?.concurrency, 1);
  });

  it('an empty CSV block without the stability line is still unreadable output', async () => {
    await assert.rejects(measureWithLog(`${PERF_CSV_BEGIN}\n${PERF_CSV_END}\n`), (error: Error & { type?: string; nonRetryable?: boolean }) => {
      assert.equal(error.type, FailureType.InvalidArgument);
      assert.match(error.message, /CSV is empty/);
      return true;
    });
  });
});
