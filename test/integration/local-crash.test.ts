/**
 * kill -9 of the worker during `helm upgrade` on the local target: the worker and the helm it runs
 * die together (a lost node, an OOM kill of the pod), so Helm's pending-upgrade revision stays and
 * real Helm refuses every later upgrade. A new worker resumes the run: the upgrade's next attempt
 * recovers the release (helm rollback to the last deployed revision) and upgrades it; the run ends
 * right.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { execa, type ResultPromise } from 'execa';
import { exec } from '../../src/clients/exec.js';
import { createGcsStore } from '../../src/clients/gcs.js';
import { createHelmCli } from '../../src/clients/helm.js';
import { deploymentWorkflowId } from '../../src/plan/ids.js';
import type { DeploymentSpec } from '../../src/spec/schema.js';
import { validateSpec } from '../../src/spec/validate.js';
import { ensureLocalModels } from '../../src/targets/local/models.js';
import type { deployTriton } from '../../src/workflows/deploy.js';
import { withCauses } from '../helpers/causes.js';
import { exampleSpec, PROJECT_ROOT } from '../helpers/specs.js';
import { startTemporal, startTogether, unique } from '../helpers/temporal.js';
import { tempDir } from '../helpers/temp-dir.js';
import { type GcsEmulator, startGcsEmulator } from '../standins/gcs-emulator.js';

let env: TestWorkflowEnvironment;
let gcs: GcsEmulator;
let kwokDir: string;
let stateDir: string;
let spec: DeploymentSpec;
const taskQueue = unique('local-crash');
const workers: ResultPromise[] = [];

const helm = () => createHelmCli({ exec, helm: join(PROJECT_ROOT, '.tools/bin/helm'), kubeconfig: join(kwokDir, `${spec.cluster.name}.kubeconfig`) });

/** The worker as `npm run worker` runs it, in its own process group: kill -9 of the group takes its helm and Tritons along. */
function spawnWorker(): ResultPromise {
  const worker = execa('node', ['--import', 'tsx', join(PROJECT_ROOT, 'src/worker.ts')], {
    cwd: PROJECT_ROOT,
    detached: true,
    reject: false,
    env: { ...process.env, TEMPORAL_ADDRESS: env.address, PIPELINE_TARGET: 'local', PIPELINE_STATE_DIR: stateDir, PIPELINE_TASK_QUEUE: taskQueue, PIPELINE_KWOK_DIR: kwokDir, PIPELINE_GCS_ENDPOINT: gcs.url },
  });
  workers.push(worker);
  return worker;
}

function deploy(withSpec: DeploymentSpec) {
  return env.client.workflow.start<typeof deployTriton>('deployTriton', { workflowId: `${deploymentWorkflowId(withSpec)}-${unique('run')}`, taskQueue, args: [{ spec: withSpec }] });
}

before(async () => {
  await startTogether([startTemporal(), startGcsEmulator()], (s) => ([env, gcs] = s as [typeof env, typeof gcs]));
  [kwokDir, stateDir] = await Promise.all([tempDir('kwok-crash'), tempDir('local-crash')]);
  const example = exampleSpec('local');
  const model = example.models[0]!;
  // One variant, one sweep, a wide gate: this test is about the release's recovery, not the gate.
  const result = validateSpec({
    ...example,
    cluster: { name: `crash-${process.pid}` },
    approval: { required: false },
    release: { ...example.release, strategy: 'in-place' },
    models: [{ ...model, variants: [model.variants[0]!], sla: { ...model.sla, repeats: 1, regressionTolerance: 0.5 } }],
  });
  assert.ok(result.ok, JSON.stringify(!result.ok && result.errors));
  spec = result.spec;
  await gcs.storage.createBucket('local-models');
  await ensureLocalModels(createGcsStore(gcs.storage), spec.bucket, await tempDir('crash-models'));
});

after(async () => {
  for (const worker of workers) {
    if (worker.pid !== undefined && worker.exitCode === null && worker.signalCode === null) process.kill(-worker.pid, 'SIGKILL');
  }
  await Promise.all(workers);
  if (spec !== undefined) await execa('bash', [join(PROJECT_ROOT, 'scripts/local-cluster.sh'), 'stop', spec.cluster.name], { env: { ...process.env, PIPELINE_KWOK_DIR: kwokDir }, reject: false });
  await Promise.all([env?.teardown(), gcs?.stop()]);
});

describe('a worker killed during helm upgrade on the local target', () => {
  it('leaves the release pending-upgrade; the restarted worker recovers it and the run ends right', async () => {
    const first = spawnWorker();
    const v1 = await withCauses((await deploy(spec)).result());

    const handle = await deploy(spec);
    let history = await helm().history(spec.release.name, spec.release.namespace);
    for (let i = 0; i < 6000 && history.at(-1)?.status !== 'pending-upgrade'; i++) {
      await new Promise((r) => setTimeout(r, 100));
      history = await helm().history(spec.release.name, spec.release.namespace);
    }
    assert.equal(history.at(-1)?.status, 'pending-upgrade', 'the second run reached its helm upgrade');
    process.kill(-first.pid!, 'SIGKILL');
    await first;
    const pending = history.at(-1)!.revision;
    assert.equal((await helm().history(spec.release.name, spec.release.namespace)).at(-1)?.status, 'pending-upgrade', 'helm died with the worker');
    const liveValues = await helm().values(spec.release.name, spec.release.namespace, pending - 1);
    await assert.rejects(
      helm().upgradeInstall({ release: spec.release.name, namespace: spec.release.namespace, chart: join(PROJECT_ROOT, 'deploy/charts/triton'), values: liveValues, timeoutSeconds: 30 }),
      /another operation \(install\/upgrade\/rollback\) is in progress/,
      'real Helm refuses the wedged release',
    );

    spawnWorker();
    const v2 = await withCauses(handle.result());
    assert.notEqual(v2.repositoryUri, v1.repositoryUri);
    const after = await helm().history(spec.release.name, spec.release.namespace);
    const later = after.filter((r) => r.revision > pending);
    // Recovered: rolled back to v1's revision, then upgraded to v2, which serves.
    assert.match(later[0]!.description, new RegExp(`Rollback to ${pending - 1}`));
    assert.equal(after.at(-1)!.status, 'deployed');
    assert.equal((await helm().values(spec.release.name, spec.release.namespace, after.at(-1)!.revision))['modelRepositoryPath'], v2.repositoryUri);
  });
});
