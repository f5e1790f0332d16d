import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createHelmActivities } from '../../../src/activities/helm.js';
import { helmWait, MAX_HELM_WAIT_SECONDS, MIN_HELM_WAIT_SECONDS, rolloutGrowsPool } from '../../../src/plan/helm-wait.js';
import type { HelmApi, HelmRevision, HelmUpgradeRequest } from '../../../src/ports/systems.js';
import type { DeploymentSpec } from '../../../src/spec/schema.js';
import { validateSpec } from '../../../src/spec/validate.js';
import { runActivity } from '../../helpers/activity-env.js';
import { exampleSpec } from '../../helpers/specs.js';

function example(name: string): DeploymentSpec {
  const result = validateSpec(exampleSpec(name));
  assert.ok(result.ok);
  return result.spec;
}

const withPool = (spec: DeploymentSpec, minNodes: number, maxNodes: number, replicas = 1): DeploymentSpec => ({
  ...spec,
  nodePool: { ...spec.nodePool, minNodes, maxNodes },
  release: { ...spec.release, replicas },
  autoscaling: { ...spec.autoscaling, minReplicas: replicas },
});

describe('helm --wait timeout from the spec (pure)', () => {
  it('budgets the NGC image pull and, when the rollout needs another GPU node, its provisioning and driver', () => {
    const gke = example('gke');
    const grows = helmWait(withPool(gke, 1, 3));
    assert.deepEqual(grows.parts.map((p) => p.part), [
      'Triton start and model load',
      'first pull of the NGC Triton image',
      'a new GPU node from the cluster autoscaler',
      'the GPU driver on the new node',
    ]);
    assert.equal(grows.seconds, 1620);
    // A pool that keeps a spare node for the surge (or preview) pod does not wait for one.
    const spare = helmWait(withPool(gke, 2, 3));
    assert.equal(spare.seconds, 1020);
    assert.ok(spare.seconds < grows.seconds);
  });

  it('counts the surge pod beside every replica the HPA keeps', () => {
    const gke = example('gke');
    assert.equal(rolloutGrowsPool(withPool(gke, 3, 4, 2)), false);
    assert.equal(rolloutGrowsPool(withPool(gke, 3, 4, 3)), true);
    assert.equal(rolloutGrowsPool({ ...withPool(gke, 3, 4, 1), autoscaling: { ...gke.autoscaling, enabled: true, minReplicas: 3 } }), true);
  });

  it('a slim custom image is budgeted less than the full NGC image, and the total stays within bounds', () => {
    const gke = withPool(example('gke'), 2, 3);
    const custom = helmWait({ ...gke, release: { ...gke.release, image: 'us-docker.pkg.dev/p/r/triton-slim:1' } });
    assert.ok(custom.seconds < helmWait(gke).seconds);
    assert.ok(custom.seconds >= MIN_HELM_WAIT_SECONDS);
    assert.ok(helmWait(withPool(example('gke'), 0, 8, 8)).seconds <= MAX_HELM_WAIT_SECONDS);
  });

  it('keeps the floor where images are present and nodes exist (sim, local)', () => {
    assert.equal(helmWait(example('sim-seed')).seconds, MIN_HELM_WAIT_SECONDS);
    assert.equal(helmWait(example('local')).seconds, MIN_HELM_WAIT_SECONDS);
  });
});

describe('helm activities pass the release\'s wait to helm', () => {
  function recordingHelm() {
    const waits: number[] = [];
    const history: HelmRevision[] = [];
    const valuesOf: Array<Record<string, unknown>> = [];
    const append = (values: Record<string, unknown>) => {
      for (const earlier of history) earlier.status = 'superseded';
      history.push({ revision: history.length + 1, status: 'deployed', description: '' });
      valuesOf.push(values);
      return { revision: history.length };
    };
    const api: HelmApi = {
      async upgradeInstall(request: HelmUpgradeRequest) {
        waits.push(request.timeoutSeconds);
        return append(request.values);
      },
      async history() {
        return history.map((r) => ({ ...r }));
      },
      async values(_release, _namespace, revision) {
        return valuesOf[revision - 1] ?? {};
      },
      async rollback(_release, _namespace, revision, timeoutSeconds) {
        waits.push(timeoutSeconds);
        append(valuesOf[revision - 1] ?? {});
      },
      async uninstall() {},
    };
    return { api, waits };
  }

  it('uses ReleaseRef.helmWaitSeconds, and the floor for runs scheduled before it existed', async () => {
    const { api, waits } = recordingHelm();
    const activities = createHelmActivities({ helm: () => api, triton: () => { throw new Error('unused'); }, chart: 'chart', heartbeatIntervalMs: 1000 });
    const ref = { run: { deploymentId: 'd' }, cluster: { project: 'p', zone: 'z', cluster: 'c' }, release: 'triton', namespace: 'default' };
    const values = { pipeline: { deploymentId: 'd', repositoryVersion: 'v1' } };
    await runActivity(activities.upgradeRelease, { ...ref, helmWaitSeconds: 1620, values });
    await runActivity(activities.upgradeRelease, { ...ref, values: { pipeline: { deploymentId: 'd', repositoryVersion: 'v2' } } });
    await runActivity(activities.rollbackRelease, { ...ref, helmWaitSeconds: 1020, toRevision: 1 });
    assert.deepEqual(waits, [1620, MIN_HELM_WAIT_SECONDS, 1020]);
  });
});
