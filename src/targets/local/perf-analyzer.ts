/**
 * The real perf_analyzer (2.51, from tritonclient on PyPI; scripts/setup-triton.sh) run on this
 * machine with the arguments the GKE Job uses (buildPerfAnalyzerArgs); its CSV is read by the
 * same parser as the Job's.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../../assets.js';
import { exec } from '../../clients/exec.js';
import { buildPerfAnalyzerArgs, parsePerfCsv, type PerfAnalyzerArgsInput } from '../../triton/perf-output.js';
import type { PerfPoint } from '../../triton/perf-types.js';

export const PERF_ANALYZER = join(PROJECT_ROOT, '.tools/bin/perf_analyzer');

export interface PerfRun {
  points: PerfPoint[];
  csv: string;
  stdout: string;
}

export async function runPerfAnalyzer(input: Omit<PerfAnalyzerArgsInput, 'csvPath'>, signal?: AbortSignal): Promise<PerfRun> {
  const dir = await mkdtemp(join(tmpdir(), 'perf-'));
  try {
    const csvPath = join(dir, 'perf.csv');
    const { stdout } = await exec(PERF_ANALYZER, buildPerfAnalyzerArgs({ ...input, csvPath }), signal === undefined ? {} : { signal });
    const csv = await readFile(csvPath, 'utf8');
    return { points: parsePerfCsv(csv), csv, stdout };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
