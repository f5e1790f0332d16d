/**
 * Release lineage on the sim target against a real Temporal dev server: sequences of runs a team
 * makes over weeks, gated against what really serves (the release record), never against Helm
 * revision numbers, another cluster's numbers, or a sweep that measured nothing.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { EXIT, runCli } from '../../src/cli/cli.js';
import type { DeploymentSpecInput } from '../../src/spec/schema.js';
import type { SlaEvidence } from '../../src/ports/results.js';
import { withCauses } from '../helpers/causes.js';
import { env, failureOf, inspect, readRecord, recordHistory, start, stateDir, testSpec, useHarness, world } from '../helpers/harness.js';

useHarness();

/** The same release, serving `slowdown` slower (the sim's regression drill), with extra sim faults. */
function variantOf(spec: DeploymentSpecInput, slowdown: number, faults: NonNullable<DeploymentSpecInput['simulation']>['faults'] = []): DeploymentSpecInput {
  return { ...structuredClone(spec), simulation: { speed: 0, faults, regression: slowdown } };
}

/** Validated on the live release itself, rolled back if it regresses. */
function inPlace(spec: DeploymentSpecInput): DeploymentSpecInput {
  return { ...spec, release: { ...spec.release, strategy: 'in-place' } };
}

function withRepeats(spec: DeploymentSpecInput, repeats: number): DeploymentSpecInput {
  for (const model of spec.models) model.sla = { ...model.sla, repeats };
  return spec;
}

describe('release lineage on the sim target', () => {
  it('deploy, regress (rejected on the preview), the same regression again, a good deploy: the live release changes only on promotions', async () => {
    const good = testSpec();
    const first = await (await start(good)).result();
    for (const attempt of [1, 2]) {
      const failure = await failureOf((await start(variantOf(good, 0.4))).result());
      assert.equal(failure.type, 'SlaRegression', `attempt ${attempt}: ${failure.message}`);
      assert.match(failure.message, /against the live release \(record generation 1[\s\S]*the live release never changed/);
      assert.equal((failure.details?.[0] as SlaEvidence).rollback, null);
    }
    const last = await withCauses((await start(good)).result());
    assert.ok(last.variants.every((v) => v.baselineThroughput !== null && !v.comparison.regressed), JSON.stringify(last.variants.map((v) => v.comparison)));
    const releases = (await inspect(good)).releases;
    assert.deepEqual(releases.map((r) => r.name), ['triton']);
    assert.deepEqual(releases[0]!.revisions.map((r) => [r.revision, r.status]), [[1, 'superseded'], [2, 'deployed']]);
    assert.equal(releases[0]!.revisions[0]!.values['modelRepositoryPath'], first.repositoryUri);
    const record = await readRecord(good);
    assert.deepEqual(record.events.map((e) => e.kind), ['promoted', 'promoted']);
    assert.equal(record.live?.helmRevision, 2);
  });

  it('in place: deploy, regress (rolled back), the same regression again (rolled back again), a good deploy: succeeds', async () => {
    const good = testSpec();
    const first = await (await start(good)).result();

    for (const attempt of [1, 2]) {
      const regressing = await start(inPlace(variantOf(good, 0.4)));
      const failure = await failureOf(regressing.result());
      if (attempt === 2) await recordHistory('deploy-in-place-rolled-back-again', regressing);
      assert.equal(failure.type, 'SlaRegression', `attempt ${attempt}: ${failure.message}`);
      const evidence = failure.details?.[0] as SlaEvidence;
      assert.ok(evidence.rollback?.verified, `attempt ${attempt}`);
      assert.ok(evidence.variants.some((v) => v.comparison.regressed && v.baselineThroughput !== null), `attempt ${attempt} was gated against a baseline`);
      assert.match(failure.message, /against the live release \(record generation 1/);
    }

    const lastRun = await start(good);
    const last = await lastRun.result();
    await recordHistory('deploy-preview-promoted-after-rollbacks', lastRun);
    await recordHistory('engine-build-cached', env.client.workflow.getHandle(`${lastRun.workflowId}/engine/resnet50`));
    assert.equal(last.outcome, 'succeeded');
    assert.ok(last.variants.every((v) => v.baselineThroughput !== null && !v.comparison.regressed), JSON.stringify(last.variants.map((v) => v.comparison)));

    const release = (await inspect(good)).releases[0]!;
    assert.deepEqual(release.revisions.map((r) => r.status), ['superseded', 'superseded', 'superseded', 'superseded', 'superseded', 'deployed']);
    assert.equal(release.revisions[2]!.values['modelRepositoryPath'], first.repositoryUri, 'revision 3 is the rollback to the first');
    assert.equal(release.revisions[4]!.values['modelRepositoryPath'], first.repositoryUri, 'revision 5 is the rollback to it again');

    const record = await readRecord(good);
    assert.deepEqual(record.events.map((e) => e.kind), ['promoted', 'rolled-back', 'rolled-back', 'promoted']);
    assert.equal(record.generation, 4);
    assert.equal(record.live?.repositoryUri, last.repositoryUri);
    assert.equal(record.live?.helmRevision, 6);
    assert.equal(record.previous[0]?.repositoryUri, first.repositoryUri);
    assert.equal(record.previous[0]?.helmRevision, 5, 'the rollbacks moved the live entry to the revisions they made');

    // `status` shows the record.
    const file = join(stateDir, `${good.project}-status.json`);
    await writeFile(file, JSON.stringify(good));
    const lines: string[] = [];
    assert.equal(await runCli(['status', '-f', file], { log: (l) => lines.push(l), error: (l) => lines.push(l) }, async () => env.client), EXIT.ok);
    await recordHistory('read-release-record', env.client.workflow.getHandle(`record/${good.project}/nvidia-gcp-gke/default/triton`));
    const text = lines.join('\n');
    assert.match(text, /release record .*\/triton, generation 4/);
    assert.match(text, new RegExp(`live: ${last.repositoryVersion} at Helm revision 6`));
    assert.match(text, /rolled back .*serving .* at revision 5; performance regressed/);
  });

  it('keeps separate records for two clusters that share one bucket and release name', async () => {
    const fast = testSpec((s) => {
      s.cluster = { ...s.cluster, name: 'cluster-a' };
      // Loose SLAs: both clusters' releases meet them; only the baselines tell them apart.
      for (const model of s.models) model.sla = { ...model.sla, latencyMs: model.sla.latencyMs * 4, minThroughput: 1 };
    });
    // 20% slower than cluster-a: a regression, were cluster-a's numbers its baseline.
    const slow = variantOf({ ...structuredClone(fast), cluster: { name: 'cluster-b' } }, 0.2);
    const a = await withCauses((await start(fast)).result());
    const b1 = await withCauses((await start(slow)).result());
    assert.ok(b1.variants.every((v) => v.baselineThroughput === null), 'cluster-b starts without a baseline, not with cluster-a\'s');
    // Gated against its own first release, not cluster-a's faster one.
    const b2 = await withCauses((await start(slow)).result());
    assert.equal(b2.outcome, 'succeeded');
    for (const v of b2.variants) {
      const own = b1.variants.find((x) => x.variant === v.variant)!;
      assert.equal(v.baselineThroughput, own.verdict.bestThroughput, v.variant);
    }
    const [recordA, recordB] = [await readRecord(fast), await readRecord(slow)];
    assert.equal(recordA.key.cluster, 'cluster-a');
    assert.equal(recordB.key.cluster, 'cluster-b');
    assert.equal(recordA.live?.repositoryUri, a.repositoryUri);
    assert.equal(recordB.live?.repositoryUri, b2.repositoryUri);
    assert.deepEqual([recordA.generation, recordB.generation], [1, 2]);
    const records = (await world().snapshot(fast.project)).objects.filter((uri) => uri.startsWith(`${fast.bucket}/releases/`));
    assert.deepEqual(records.map((uri) => uri.split('/releases/')[1]), [
      `${fast.project}/cluster-a/default/triton/generation-00000001.json`,
      `${fast.project}/cluster-b/default/triton/generation-00000001.json`,
      `${fast.project}/cluster-b/default/triton/generation-00000002.json`,
    ]);
  });

  it('measures an inconclusive sweep again instead of averaging it in as 0', async () => {
    const baseline = withRepeats(testSpec(), 3);
    await (await start(baseline)).result();
    const result = await (await start(variantOf(baseline, 0, [{ stage: 'validation', times: 1, kind: 'latency-spike' }]))).result();
    for (const v of result.variants) {
      assert.equal(v.inconclusiveSweeps, 1, v.variant);
      assert.equal(v.sweeps?.length, 3, v.variant);
      assert.equal(v.repeated?.mean, v.baselineThroughput, `${v.variant}: the mean of 3 conclusive sweeps`);
    }
  });

  it('does not pass a 20% slower release whose sweeps include one with no point within the SLA', async () => {
    // The per-release noise gate read [0.8x, 0, 0.8x] as noise, widened to its 95% cap and passed it.
    const baseline = withRepeats(testSpec(), 3);
    await (await start(baseline)).result();
    const failure = await failureOf((await start(variantOf(baseline, 0.2, [{ stage: 'validation', times: 1, kind: 'latency-spike' }]))).result());
    assert.equal(failure.type, 'SlaRegression');
    const evidence = failure.details?.[0] as SlaEvidence;
    const resnet = evidence.variants.find((v) => v.variant === 'ResNet50-INT8-2')!;
    assert.equal(resnet.inconclusiveSweeps, 1);
    assert.ok(resnet.comparison.regressed && resnet.comparison.change! < -0.15, resnet.comparison.reason);
    assert.ok(resnet.repeated!.tolerance < 0.2, `tolerance ${resnet.repeated!.tolerance}`);
  });

  it('in place: fails a release whose sweeps stay inconclusive, and rolls it back', async () => {
    const baseline = withRepeats(testSpec(), 3);
    await (await start(baseline)).result();
    const failure = await failureOf((await start(inPlace(variantOf(baseline, 0, [{ stage: 'validation', times: 10, kind: 'latency-spike' }])))).result());
    assert.equal(failure.type, 'SlaRegression');
    const evidence = failure.details?.[0] as SlaEvidence;
    assert.ok(evidence.rollback?.verified);
    for (const v of evidence.variants) {
      assert.equal(v.inconclusiveSweeps, 3, v.variant);
      assert.match(v.comparison.reason, /inconclusive: 0 of 3 sweeps within p99/);
    }
  });
});
