/**
 * The local target's perf Job container (kubelet.ts): the GKE Job's script run by bash with a
 * stand-in perf_analyzer that sweeps the concurrency range it is given as the real one (2.51) does
 * when a concurrency never stabilises (a later one: exit 0, the earlier rows in the -f CSV; the
 * first one: exit 2, a second stderr line, no CSV), and the real perf_analyzer failing against a
 * port nobody serves (exit 99). The pod's log is read back from the kwok Logs file and by
 * measureVariant, as the pipeline reads it.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { CoreV1Api, V1Pod } from '@kubernetes/client-node';
import type { KubeApi, ObjectStore } from '../../../../src/ports/systems.js';
import { PERF_COMPONENT, PERF_CSV_BEGIN, PIPELINE_LABEL } from '../../../../src/plan/jobs.js';
import { createLocalKubelet } from '../../../../src/targets/local/kubelet.js';
import { EXIT_CODE_ANNOTATION, EXIT_MESSAGE_ANNOTATION } from '../../../../src/targets/local/nodes.js';
import { PERF_ANALYZER } from '../../../../src/targets/local/perf-analyzer.js';
import type { LocalServing } from '../../../../src/targets/local/serving.js';
import { measureWithLog } from '../../../helpers/perf.js';

const HEADER = 'Concurrency,Inferences/Second,Client Send,Network+Server Send/Recv,Server Queue,Server Compute Input,Server Compute Infer,Server Compute Output,Client Recv,p50 latency,p90 latency,p95 latency,p99 latency';

/**
 * A perf_analyzer that sweeps --concurrency-range and gives up at concurrency `unstableAt` (0:
 * never) with the real messages and exit statuses; each stable concurrency is a CSV row.
 */
const standIn = (unstableAt: number) => `#!/usr/bin/env bash
csv= range= trials=10
while [ $# -gt 0 ]; do
  case "$1" in -f) csv=$2 ;; --concurrency-range) range=$2 ;; -r) trials=$2 ;; esac
  shift
done
IFS=: read -r start end step <<< "$range"
echo '*** Measurement Settings ***'
rows=
for ((c = start; c <= end; c += step)); do
  printf 'Request concurrency: %d\\n  Client: \\n    Request count: %d\\n' "$c" $((c * 100))
  if [ "$c" -eq ${unstableAt} ]; then
    echo "Failed to obtain stable measurement within $trials measurement windows for concurrency $c. Please try to increase the --measurement-interval." >&2
    if [ "$c" -eq "$start" ]; then echo 'Failed to obtain stable measurement.' >&2; echo >&2; exit 2; fi
    break
  fi
  rows+="$c,$((c * 1000)),4,199,32,15,341,88,1,667,812,846,$((900 + c))"$'\\n'
done
echo 'Inferences/Second vs. Client p99 Batch Latency'
printf '%s\\n%s' '${HEADER}' "$rows" > "$csv"
exit 0
`;

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'local-perf-'));
  for (const [name, unstableAt] of [['stable', 0], ['unstable-at-3', 3], ['unstable-at-1', 1]] as const) {
    await writeFile(join(dir, name), standIn(unstableAt));
    await chmod(join(dir, name), 0o755);
  }
});
after(() => rm(dir, { recursive: true, force: true }));

const ENV = { PERF_NAMESPACE: 'serving', PERF_RELEASE: 'triton', PERF_MODEL: 'mini', PERF_BATCH: '1', PERF_CONCURRENCY: '1:4:1', PERF_PERCENTILE: '99' };

/** One perf pod played by the local kubelet: its exit annotations and its log (CRI prefixes removed). */
async function runPerfPod(perfAnalyzer: string): Promise<{ exit: Record<string, string>; log: string }> {
  const pod: V1Pod = {
    metadata: { name: `perf-${Math.random().toString(36).slice(2, 8)}`, namespace: 'triton-pipeline-jobs', labels: { [PIPELINE_LABEL]: PERF_COMPONENT } },
    spec: { containers: [{ name: 'perf-analyzer', env: Object.entries(ENV).map(([name, value]) => ({ name, value })) }] },
    status: { phase: 'Running' },
  };
  let exited!: (annotations: Record<string, string>) => void;
  const exit = new Promise<Record<string, string>>((resolve) => (exited = resolve));
  let logsFile = '';
  const core = {
    listNamespacedPod: async () => ({ items: [pod] }),
    // The pod has no annotations yet: the kubelet adds the whole map in one operation.
    patchNamespacedPod: async ({ body }: { body: Array<{ value: Record<string, string> }> }) => exited(body[0]!.value),
  } as unknown as CoreV1Api;
  const kube = {
    apply: async (object: { spec: { logs: Array<{ logsFile: string }> } }) => {
      logsFile = object.spec.logs[0]!.logsFile;
    },
  } as unknown as KubeApi;
  const serving = {
    started: async () => [{ pod: 'triton-0', repository: '', models: ['mini'], server: { grpcUrl: '127.0.0.1:1' } }],
  } as unknown as LocalServing;
  const kubelet = createLocalKubelet({ cluster: 'c', core, kube, store: {} as ObjectStore, serving, logDir: join(dir, 'logs'), perfAnalyzer });
  await kubelet.runJobPods(pod.metadata!.namespace!, 'perf');
  const annotations = await exit;
  return { exit: annotations, log: (await readFile(logsFile, 'utf8')).replace(/^\S+ stdout F /gm, '') };
}


describe('local perf Job container', () => {
  it('a full sweep: the pod succeeds and its log holds the CSV between the markers', async () => {
    const { exit, log } = await runPerfPod(join(dir, 'stable'));
    assert.equal(exit[EXIT_CODE_ANNOTATION], '0');
    assert.match(log, /^\[local\] perf_analyzer 2\.51 against the Triton of pod triton-0/);
    const measured = await measureWithLog(log);
    assert.deepEqual(measured.points.map((p) => p.concurrency), [1, 2, 3, 4]);
    assert.equal('cutShort' in measured, false);
  });

  it('cut short at a later concurrency (exit 0): the stability line is in the log, the earlier points are measured', async () => {
    const { exit, log } = await runPerfPod(join(dir, 'unstable-at-3'));
    assert.equal(exit[EXIT_CODE_ANNOTATION], '0');
    const measured = await measureWithLog(log);
    assert.deepEqual(measured.points.map((p) => p.concurrency), [1, 2]);
    assert.deepEqual(measured.cutShort, {
      concurrency: 3,
      message: 'Failed to obtain stable measurement within 10 measurement windows for concurrency 3. Please try to increase the --measurement-interval.',
    });
  });

  it('cut short at the first concurrency (exit 2, no CSV): the pod succeeds with an empty CSV block', async () => {
    const { exit, log } = await runPerfPod(join(dir, 'unstable-at-1'));
    assert.equal(exit[EXIT_CODE_ANNOTATION], '0');
    assert.match(log, /^Failed to obtain stable measurement\.$/m);
    const measured = await measureWithLog(log);
    assert.deepEqual(measured.points, []);
    assert.equal(measured.cutShort?.concurrency, 1);
  });

  it('any other failure of the real perf_analyzer fails the pod with its status and output', { skip: !existsSync(PERF_ANALYZER) && 'perf_analyzer is not set up (scripts/setup-triton.sh)' }, async () => {
    const { exit, log } = await runPerfPod(PERF_ANALYZER);
    assert.equal(exit[EXIT_CODE_ANNOTATION], '99');
    assert.match(exit[EXIT_MESSAGE_ANNOTATION]!, /^perf_analyzer exited with status 99: error: failed to get model metadata/);
    assert.match(log, /failed to get model metadata/);
    assert.doesNotMatch(log, new RegExp(PERF_CSV_BEGIN));
  });
});
