/**
 * The deployment workflow on the local target, end to end: the cluster stage creates a real
 * control plane (kube-apiserver, controller-manager, scheduler, etcd) with kwok nodes shaped like
 * a GKE T4 pool, the driver DaemonSet makes the GPUs appear, the engine build and perf sweeps run
 * as real Jobs whose containers run on this CPU, the repository goes to the GCS emulator, Helm
 * installs the chart for real, a real Triton serves each Triton pod's repository version and the
 * real perf_analyzer measures it. A new release is validated on a preview beside the live one
 * before it takes traffic; a slower model version is rejected there, or (in place) rolled back by
 * real `helm rollback`, as is a release that regresses in its bake period.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { execa } from 'execa';
import { JOB_NAMESPACE } from '../../src/plan/jobs.js';
import { exec } from '../../src/clients/exec.js';
import { createGcsStore } from '../../src/clients/gcs.js';
import { createHelmCli } from '../../src/clients/helm.js';
import { applicationFailureIn } from '../../src/ports/errors.js';
import { deploymentWorkflowId, reoptimizationWorkflowId } from '../../src/plan/ids.js';
import { releaseKeyOf, type ReleaseRecord } from '../../src/release/record.js';
import { reoptimizeRequestOf } from '../../src/spec/reoptimize-request.js';
import type { DeploymentSpec } from '../../src/spec/schema.js';
import { validateSpec } from '../../src/spec/validate.js';
import { createLocalClients } from '../../src/targets/local/index.js';
import { approveUpdate, progressQuery } from '../../src/workflows/definitions.js';
import type { SlaEvidence } from '../../src/ports/results.js';
import type { deployTriton } from '../../src/workflows/deploy.js';
import type { reoptimizeTriton } from '../../src/workflows/reoptimize.js';
import { withCauses } from '../helpers/causes.js';
import { exampleSpec, PROJECT_ROOT } from '../helpers/specs.js';
import { type LocalHarness, startLocalHarness } from '../helpers/local-harness.js';
import { unique } from '../helpers/temporal.js';
import { tempDir } from '../helpers/temp-dir.js';

let local: LocalHarness;
let env: LocalHarness['env'];
let gcs: LocalHarness['gcs'];
let kwokDir: string;
let spec: DeploymentSpec;
let models: LocalHarness['models'];
let clients: LocalHarness['clients'];
const taskQueue = unique('local-target');

const kubeconfig = () => join(kwokDir, `${spec.cluster.name}.kubeconfig`);
const kubectl = async (...args: string[]) => (await execa('kubectl', ['--kubeconfig', kubeconfig(), ...args])).stdout;
const helm = () => createHelmCli({ exec, helm: join(PROJECT_ROOT, '.tools/bin/helm'), kubeconfig: kubeconfig() });

function deploy(withSpec: DeploymentSpec) {
  return env.client.workflow.start<typeof deployTriton>('deployTriton', { workflowId: `${deploymentWorkflowId(withSpec)}-${unique('run')}`, taskQueue, args: [{ spec: withSpec }] });
}

/** The spec with every model's regression gate wide open: a drop of up to half passes. */
function withWideGate(withSpec: DeploymentSpec): DeploymentSpec {
  return { ...withSpec, models: withSpec.models.map((m) => ({ ...m, sla: { ...m.sla, regressionTolerance: 0.5 } })) };
}

before(async () => {
  // The HPA here reads the real metric but never acts on it: an extra Triton on the 2 cores would
  // blur the regression gate's measurements. local-autoscaling.test.ts drills the scaling itself.
  const example = exampleSpec('local');
  const result = validateSpec({ ...example, cluster: { name: `local-${process.pid}` }, approval: { required: false }, autoscaling: { ...example.autoscaling, target: 1e9 } });
  assert.ok(result.ok, JSON.stringify(!result.ok && result.errors));
  spec = result.spec;
  local = await startLocalHarness({ name: 'local-target', taskQueue, bucket: spec.bucket });
  ({ env, gcs, kwokDir, models, clients } = local);
});

after(async () => {
  await local?.stop([spec.cluster.name]);
});

describe('the deployment workflow on the local target (real kube-apiserver, kwok nodes, Helm, GCS emulator)', () => {
  let firstRepository: string;

  it('creates the cluster and GPU pool, builds the engine in a Job, publishes, installs, serves, measures and autoscales', async () => {
    const handle = await deploy(spec);
    const result = await withCauses(handle.result());
    firstRepository = result.repositoryUri;
    const progress = await handle.query(progressQuery);
    assert.deepEqual(progress.stages.map((s) => s.status), [...Array(9).fill('completed'), 'skipped', 'completed'], JSON.stringify(progress.stages));

    // GKE-shaped kwok nodes: the GPU pool's nodes report their GPU once the driver pod on them is Ready.
    const nodes = JSON.parse(await kubectl('get', 'nodes', '-l', `cloud.google.com/gke-nodepool=${spec.nodePool.name}`, '-o', 'json')) as { items: Array<{ metadata: { labels: Record<string, string> }; status: { allocatable: Record<string, string> } }> };
    assert.equal(nodes.items.length, spec.nodePool.initialNodes);
    for (const node of nodes.items) {
      assert.equal(node.metadata.labels['cloud.google.com/gke-accelerator'], 'nvidia-tesla-t4');
      assert.equal(node.status.allocatable['nvidia.com/gpu'], '1');
    }
    assert.match(await kubectl('get', 'daemonset', 'nvidia-driver-installer', '-n', 'kube-system', '-o', 'jsonpath={.status.numberReady}'), /^2$/);

    // The engine-build Job completed; its pod's log is the CPU build's output.
    const jobs = JSON.parse(await kubectl('get', 'jobs', '-n', JOB_NAMESPACE, '-o', 'json')) as { items: Array<{ metadata: { name: string }; status: { succeeded?: number } }> };
    const builds = jobs.items.filter((j) => j.metadata.name.startsWith('trt-'));
    assert.equal(builds.length, 1, jobs.items.map((j) => j.metadata.name).join(' '));
    assert.equal(builds[0]!.status.succeeded, 1);
    assert.match(await kubectl('logs', `job/${builds[0]!.metadata.name}`, '-n', JOB_NAMESPACE), /prepared for Triton's python backend[\s\S]*PASSED CPU engine build/);
    // Each variant was measured by the real perf_analyzer against the real Triton, `repeats` times.
    const { repeats } = spec.models[0]!.sla;
    const perf = jobs.items.filter((j) => j.metadata.name.startsWith('perf-'));
    // Validation on the preview, then the bake sweeps of each variant on the live release; on a busy
    // machine an inconclusive or regressed sweep is measured again, and the result counts it.
    const validationSweeps = result.variants.reduce((n, v) => n + repeats + (v.inconclusiveSweeps ?? 0), 0);
    const bakeSweeps = (result.bake ?? []).reduce((n, b) => n + spec.release.bake.sweeps + b.remeasured, 0);
    assert.equal(result.bake?.length, result.variants.length);
    assert.equal(perf.length, validationSweeps + bakeSweeps, JSON.stringify({ variants: result.variants.map((v) => [v.variant, v.inconclusiveSweeps]), bake: result.bake }));
    // A sweep may end early at an unstable concurrency on a busy machine (inconclusive, measured again); one went through.
    const logs = await Promise.all(perf.map((j) => kubectl('logs', `job/${j.metadata.name}`, '-n', JOB_NAMESPACE)));
    assert.ok(logs.every((log) => /perf_analyzer 2\.51 against the Triton of pod[\s\S]*Request concurrency: 1[\s\S]*===PERF_CSV_BEGIN===/.test(log)), logs.join('\n---\n'));
    assert.ok(logs.some((log) => /Request concurrency: 4[\s\S]*===PERF_CSV_BEGIN===/.test(log)), logs.join('\n---\n'));
    for (const variant of result.variants) {
      assert.ok(variant.verdict.passed && variant.verdict.bestThroughput! >= 20, JSON.stringify(variant.verdict));
      assert.equal(variant.repeated?.samples, repeats);
      assert.ok(variant.repeated.cv! > 0 && variant.repeated.cv! < 0.5, `real sweeps vary a little: ${JSON.stringify(variant.repeated)}`);
    }
    // The HPA's metric, scraped from the serving Tritons' /metrics before and after each sweep.
    for (const { autoscaling } of result.variants) {
      assert.equal(autoscaling?.metric, 'triton-queue-time-us', JSON.stringify(autoscaling));
      assert.ok(autoscaling.value! > 0 && autoscaling.pods >= 1, JSON.stringify(autoscaling));
      assert.ok(autoscaling.desiredReplicas! >= spec.autoscaling.minReplicas && autoscaling.desiredReplicas! <= spec.autoscaling.maxReplicas);
    }
    assert.match(progress.stages.find((s) => s.name === 'autoscaling')!.detail!, /at the SLA load triton-queue-time-us \d+ per pod/);

    // Real Helm release, HPA and the repository in the GCS emulator.
    assert.deepEqual((await helm().history(spec.release.name, spec.release.namespace)).map((r) => [r.revision, r.status]), [[1, 'deployed']]);
    assert.match(await kubectl('get', 'hpa', spec.release.name, '-n', spec.release.namespace, '-o', 'jsonpath={.spec.scaleTargetRef.name}'), new RegExp(spec.release.name));
    const objects = await createGcsStore(gcs.storage).list(`${firstRepository}/`);
    assert.ok(objects.some((uri) => uri.endsWith('/config.pbtxt')), objects.join('\n'));
  });

  it('in place: rolls a slower model version back to revision 1 with helm rollback and fails with SlaRegression', async () => {
    assert.ok(firstRepository, 'needs the first release');
    const example = exampleSpec('local');
    const regressing = validateSpec({ ...example, cluster: { name: spec.cluster.name }, approval: { required: false }, release: { ...example.release, strategy: 'in-place' }, models: example.models.map((m) => ({ ...m, source: models['resnet-mini-slow'] })) });
    assert.ok(regressing.ok);
    const handle = await deploy(regressing.spec);
    const failure = applicationFailureIn(await handle.result().then((r) => assert.fail(`the regression must fail the run: ${r.variants.map((v) => `${v.variant} ${v.comparison.reason}`).join('; ')}`), (e: unknown) => e));
    assert.equal(failure?.type, 'SlaRegression', String(failure));
    const evidence = failure.details?.[0] as SlaEvidence;
    assert.equal(evidence.rollback?.toRevision, 1);
    assert.equal(evidence.rollback?.verified, true);

    const history = await helm().history(spec.release.name, spec.release.namespace);
    assert.deepEqual(history.map((r) => [r.revision, r.status]), [[1, 'superseded'], [2, 'superseded'], [3, 'deployed']]);
    assert.match(history[2]!.description, /Rollback to 1/);
    const args = await kubectl('get', 'deployment', spec.release.name, '-n', spec.release.namespace, '-o', 'jsonpath={.spec.template.spec.containers[0].args}');
    assert.ok(args.includes(firstRepository), `${args} serves ${firstRepository}`);
  });

  it('rejects the same slower model on its preview (gated against what serves, not revision numbers); a good deploy then succeeds', async () => {
    assert.ok(firstRepository, 'needs the first release and its rollback');
    const example = exampleSpec('local');
    const regressing = validateSpec({ ...example, cluster: { name: spec.cluster.name }, approval: { required: false }, models: example.models.map((m) => ({ ...m, source: models['resnet-mini-slow'] })) });
    assert.ok(regressing.ok);
    const failure = applicationFailureIn(await (await deploy(regressing.spec)).result().then(() => assert.fail('the same regression must fail again'), (e: unknown) => e));
    assert.equal(failure?.type, 'SlaRegression', String(failure));
    assert.match(failure.message, /against the live release \(record generation 1[\s\S]*the live release never changed/);
    assert.equal((failure.details?.[0] as SlaEvidence).rollback, null);
    assert.deepEqual((await helm().history(spec.release.name, spec.release.namespace)).map((r) => r.revision), [1, 2, 3], 'the live release was not touched');
    assert.deepEqual(await helm().history(`${spec.release.name}-preview`, spec.release.namespace), [], 'the preview is gone');

    // The good deploy is the same model as the live one: it is about the record's lineage, not the
    // gate, so its tolerance is wide. This CPU's sessions drift apart by up to a third (an
    // unchanged model once measured -32% against the baseline of a session before).
    const good = await withCauses((await deploy(withWideGate(spec))).result());
    assert.ok(good.variants.every((v) => v.baselineThroughput !== null && !v.comparison.regressed), JSON.stringify(good.variants.map((v) => v.comparison.reason)));
    const history = await helm().history(spec.release.name, spec.release.namespace);
    assert.deepEqual(history.map((r) => r.status), ['superseded', 'superseded', 'superseded', 'deployed']);
    assert.match(history[2]!.description, /Rollback to 1/);

    // The release record in the GCS emulator: a rollback between two promotions (a rejection changes nothing).
    const store = createGcsStore(gcs.storage);
    const generations = (await store.list(`${spec.bucket}/releases/${spec.project}/${spec.cluster.name}/default/triton/`)).sort();
    assert.equal(generations.length, 3, generations.join('\n'));
    const record = JSON.parse(Buffer.from((await store.read(generations.at(-1)!))!).toString('utf8')) as ReleaseRecord;
    assert.deepEqual(record.events.map((e) => e.kind), ['promoted', 'rolled-back', 'promoted']);
    assert.equal(record.live?.repositoryUri, good.repositoryUri);
    assert.equal(record.live?.baselines[0]?.samples.length, spec.models[0]!.sla.repeats);
  });

  it('serves the preview beside the live release without production traffic, promotes on approval, and rolls back a regression found in the bake period', async () => {
    const live = (await helm().history(spec.release.name, spec.release.namespace)).at(-1)!;
    const liveRepository = (await helm().values(spec.release.name, spec.release.namespace, live.revision))['modelRepositoryPath'];
    // A noisy neighbour on the promoted release: every bake sweep sees its latencies 100x. The
    // validation gate is wide open: this test is about where the release serves, not the gate.
    const example = exampleSpec('local');
    const baking = validateSpec({
      ...example,
      cluster: { name: spec.cluster.name },
      approval: { required: true, timeoutSeconds: 900 },
      simulation: { speed: 0, regression: 0, faults: [{ stage: 'bake', kind: 'latency-spike', times: 3 }] },
    });
    assert.ok(baking.ok, JSON.stringify(!baking.ok && baking.errors));
    const handle = await deploy(withWideGate(baking.spec));
    let ended = false;
    const result = handle.result().then(() => assert.fail('the bake regression must fail the run'), (e: unknown) => e).finally(() => (ended = true));
    while (!ended && !(await handle.query(progressQuery)).awaitingApproval) await new Promise((r) => setTimeout(r, 500));
    const { approval } = await handle.query(progressQuery);
    assert.ok(approval, `the validated preview awaits approval (the run ended: ${ended && String(applicationFailureIn(await result))})`);

    // Triton on both: the preview serves the new version, the live release still the old one.
    const probe = clients.triton({ project: spec.project, zone: spec.zone, cluster: spec.cluster.name });
    const [previewServes, liveServes] = await Promise.all([probe.ready({ release: `${spec.release.name}-preview`, namespace: spec.release.namespace }), probe.ready({ release: spec.release.name, namespace: spec.release.namespace })]);
    assert.equal(previewServes.ready && liveServes.ready, true);
    assert.equal(liveServes.modelRepository, liveRepository);
    assert.match(previewServes.modelRepository!, new RegExp(approval.repositoryVersion));
    // No production endpoint points at the preview: the live Service selects only the live pods.
    const endpointPods = async (service: string) =>
      (await kubectl('get', 'endpoints', service, '-n', spec.release.namespace, '-o', 'jsonpath={.subsets[*].addresses[*].targetRef.name}')).split(' ').filter(Boolean);
    const [liveEndpoints, previewEndpoints] = await Promise.all([endpointPods(spec.release.name), endpointPods(`${spec.release.name}-preview`)]);
    assert.ok(liveEndpoints.length > 0 && liveEndpoints.every((pod) => !pod.startsWith(`${spec.release.name}-preview`)), liveEndpoints.join(' '));
    assert.ok(previewEndpoints.length === 1 && previewEndpoints[0]!.startsWith(`${spec.release.name}-preview`), previewEndpoints.join(' '));

    await handle.executeUpdate(approveUpdate, { args: [{ runId: approval.runId, by: 'test' }] });
    const failure = applicationFailureIn(await result);
    assert.equal(failure?.type, 'SlaRegression', String(failure));
    assert.match(failure.message, /regressed in the bake period/);
    const evidence = failure.details?.[0] as SlaEvidence;
    assert.equal(evidence.rollback?.verified, true);
    assert.equal(evidence.rollback?.servingRepository, liveRepository);
    assert.ok(evidence.bake?.every((b) => b.verdict.regressed && b.remeasured === 2), JSON.stringify(evidence.bake));
    const history = await helm().history(spec.release.name, spec.release.namespace);
    assert.deepEqual(history.slice(-2).map((r) => r.status), ['superseded', 'deployed']);
    assert.match(history.at(-1)!.description, new RegExp(`Rollback to ${live.revision}`));
    assert.equal((await helm().values(spec.release.name, spec.release.namespace, history.at(-1)!.revision))['modelRepositoryPath'], liveRepository);
  });

  it('re-optimizes on real measurements: promotes a config that beats the live one (batches of 8 that a load of 4 never fills)', async () => {
    const example = exampleSpec('local');
    const model = example.models[0]!;
    const input = {
      ...example,
      cluster: { name: `reopt-${process.pid}` },
      // The canary and a rollout's surge pod each need a free GPU.
      nodePool: { ...example.nodePool, initialNodes: 3 },
      approval: { required: false },
      // One sweep per measurement: this test is about the search, not the gate.
      // The live config waits up to 2 ms for batches of 8 that concurrency <= 4 never sends (about -45%, bench/results/sla-gate.md).
      // The promoted deploy's validation is gated against the first deploy's baseline, a session
      // before; the wide tolerance keeps this CPU's drift between sessions out of it.
      models: [{ ...model, variants: [{ name: 'mini', instances: 2, maxBatchSize: 8, dynamicBatching: { preferredBatchSizes: [8], maxQueueDelayMicroseconds: 2000 } }], sla: { ...model.sla, repeats: 1, regressionTolerance: 0.5 } }],
      reoptimize: { margin: 0.1, maxCandidates: 3, finalists: 1, confirmSweeps: 3, space: { instances: [2], maxBatchSize: [8], preferredBatchSizes: ['none', 'max-batch'], maxQueueDelayMicroseconds: [0, 2000] } },
    };
    const validated = validateSpec(input);
    assert.ok(validated.ok, JSON.stringify(!validated.ok && validated.errors));
    try {
      await withCauses((await deploy(validated.spec)).result());
      const handle = await env.client.workflow.start<typeof reoptimizeTriton>('reoptimizeTriton', {
        workflowId: `${reoptimizationWorkflowId(releaseKeyOf(validated.spec))}-${unique('run')}`,
        taskQueue,
        args: [{ release: reoptimizeRequestOf(validated.spec) }],
      });
      const result = await withCauses(handle.result());
      assert.equal(result.outcome, 'promoted', JSON.stringify(result.models));
      const [model] = result.models;
      // Screening: the live config's neighbours (the other preferred choice, the shorter delay), then the best one's.
      assert.ok(model!.measured.length >= 2 && model!.measured.length <= 3, JSON.stringify(model!.measured));
      assert.ok(model!.measured.every((m) => m.score !== null), JSON.stringify(model!.measured));
      assert.equal(model!.incumbentScreens.length, 2, 'the incumbent is screened first and again last');
      // The finalist and the incumbent, swept in turns 3 times each in the same session, decided.
      const finalist = model!.confirmation!.finalists[0]!;
      assert.equal(finalist.samples.length, 3);
      assert.equal(model!.confirmation!.incumbent.length, 3);
      assert.equal(finalist.candidate.maxQueueDelayMicroseconds, 0);
      assert.ok(finalist.verdict.promote && finalist.verdict.improvement! >= 0.1, finalist.verdict.reason);
      // The promoted config is what the live Triton loaded.
      const reoptKubeconfig = join(kwokDir, `${validated.spec.cluster.name}.kubeconfig`);
      const history = await createHelmCli({ exec, helm: join(PROJECT_ROOT, '.tools/bin/helm'), kubeconfig: reoptKubeconfig }).history('triton', 'default');
      assert.deepEqual(history.map((r) => r.status), ['superseded', 'deployed']);
    } finally {
      await execa('bash', [join(PROJECT_ROOT, 'scripts/local-cluster.sh'), 'stop', validated.spec.cluster.name], { env: { ...process.env, PIPELINE_KWOK_DIR: kwokDir }, reject: false });
    }
  });

  it('resizes a node pool by adding and removing kwok nodes, and forgets a cluster whose control plane was stopped', async () => {
    const clients = createLocalClients({ kwokDir, stateDir: await tempDir('local-clients'), storage: gcs.storage, helm: join(PROJECT_ROOT, '.tools/bin/helm') });
    const ref = { project: spec.project, zone: spec.zone, cluster: spec.cluster.name };
    const poolNodes = async () => (await kubectl('get', 'nodes', '-l', 'cloud.google.com/gke-nodepool=spare', '-o', 'name')).split('\n').filter(Boolean).sort();
    await clients.gke.createNodePool(ref, { name: 'spare', machineType: 'n1-standard-4', acceleratorType: 'nvidia-tesla-t4', acceleratorCount: 1, diskSizeGb: 100, initialNodes: 1, minNodes: 1, maxNodes: 3, autoRepair: true, gpuDriver: 'gke-default' });
    assert.deepEqual(await poolNodes(), ['node/gke-local-' + process.pid + '-spare-0']);
    await clients.gke.setNodePoolAutoscaling(ref, 'spare', 2, 3);
    assert.equal((await poolNodes()).length, 2, 'raising the minimum adds a node');
    assert.equal((await clients.gke.getNodePool(ref, 'spare'))?.nodeCount, 2);
    await clients.gke.setNodePoolAutoscaling(ref, 'spare', 1, 1);
    assert.equal((await poolNodes()).length, 1, 'lowering the maximum removes one');
    // GKE manages this pool's driver: its GPU is reported once the node is listed by the pipeline.
    const gpus = await clients.kube(ref).listNodes({ 'cloud.google.com/gke-nodepool': 'spare' });
    assert.deepEqual(gpus.map((n) => n.allocatableGpus), [1]);
    await clients.gke.deleteNodePool(ref, 'spare');
    await clients.gke.deleteNodePool(ref, 'spare');
    assert.deepEqual(await poolNodes(), []);
    assert.equal(await clients.gke.getNodePool(ref, 'spare'), null);

    await execa('bash', [join(PROJECT_ROOT, 'scripts/local-cluster.sh'), 'stop', spec.cluster.name], { env: { ...process.env, PIPELINE_KWOK_DIR: kwokDir } });
    assert.equal(await clients.gke.getCluster(ref), null, 'stopping the cluster forgets it');
  });
});
