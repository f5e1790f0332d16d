/**
 * What one call into a workflow sandbox costs with and without a time limit. The SDK enters the V8
 * context of its workflows through `vm.Script#runInContext` with `timeout: isolateExecutionTimeout`
 * on every call (activate, unblock conditions, conclude; about 120 calls per pipeline run and as
 * many per no-op twin run), and Node starts and joins a watchdog thread for each call that has a
 * timeout. Writes bench/results/vm-timeout.md. Run: npx tsx bench/vm-timeout.ts
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import vm from 'node:vm';
import { PROJECT_ROOT } from '../src/assets.js';

const CALLS = 20_000;
const ROUNDS = 3;

const context = vm.createContext({}, { microtaskMode: 'afterEvaluate' });
vm.runInContext('globalThis.call = () => 1;', context);
const script = new vm.Script('call()');

/** Wall and CPU microseconds per call, the median of the rounds. */
function perCall(options: vm.RunningScriptOptions): { wallUs: number; cpuUs: number } {
  const rounds = Array.from({ length: ROUNDS }, () => {
    const cpu = process.cpuUsage();
    const started = process.hrtime.bigint();
    for (let i = 0; i < CALLS; i++) script.runInContext(context, options);
    const wallUs = Number(process.hrtime.bigint() - started) / 1000 / CALLS;
    const used = process.cpuUsage(cpu);
    return { wallUs, cpuUs: (used.user + used.system) / CALLS };
  });
  const median = (values: number[]) => values.sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
  return { wallUs: median(rounds.map((r) => r.wallUs)), cpuUs: median(rounds.map((r) => r.cpuUs)) };
}

perCall({});
const untimed = perCall({});
const timed = perCall({ timeout: 5000 });
const table = [
  '| call | wall per call (µs) | CPU per call (µs) |',
  '|---|---:|---:|',
  `| runInContext, no timeout | ${untimed.wallUs.toFixed(1)} | ${untimed.cpuUs.toFixed(1)} |`,
  `| runInContext, timeout 5 s (the SDK's default isolateExecutionTimeout) | ${timed.wallUs.toFixed(1)} | ${timed.cpuUs.toFixed(1)} |`,
].join('\n');
const header = `One call into a V8 context that does nothing, ${CALLS} calls a round, the median of ${ROUNDS} rounds, Node ${process.version}, ${new Date().toISOString().slice(0, 10)}. CPU is the whole process's (the watchdog threads' included).\n\n`;
await mkdir(join(PROJECT_ROOT, 'bench/results'), { recursive: true });
await writeFile(join(PROJECT_ROOT, 'bench/results/vm-timeout.md'), `${header}${table}\n`);
console.log(table);
