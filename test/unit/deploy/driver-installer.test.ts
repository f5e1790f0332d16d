/**
 * deploy/manifests/nvidia-driver-installer.yaml against the contract of upstream's
 * nvidia-driver-installer/cos/daemonset-preloaded.yaml (GoogleCloudPlatform/container-engine-accelerators):
 * it stays off nodes whose driver GKE installs, skips a node with a driver loaded, and pins the
 * images it pulls by digest.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { V1Container, V1NodeSelectorRequirement } from '@kubernetes/client-node';
import { loadDriverInstaller } from '../../../src/assets.js';

describe('the NVIDIA driver installer DaemonSet', () => {
  it('runs only on GPU nodes whose driver GKE does not install (gpu-driver-version=disabled), confidential nodes excepted', async () => {
    const daemonSet = await loadDriverInstaller();
    const terms = daemonSet.spec?.template.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? [];
    assert.equal(terms.length, 1, 'one term: every expression must hold');
    const expressions = (terms[0]!.matchExpressions ?? []) as V1NodeSelectorRequirement[];
    assert.deepEqual(
      expressions.map((e) => [e.key, e.operator]),
      [
        ['cloud.google.com/gke-accelerator', 'Exists'],
        // GKE labels the nodes it installs a driver on (gpu-driver-version default or latest): managed DCGM's pools.
        ['cloud.google.com/gke-gpu-driver-version', 'DoesNotExist'],
        ['cloud.google.com/gke-confidential-nodes-instance-type', 'DoesNotExist'],
      ],
    );
  });

  it('leaves a node whose NVIDIA module is already loaded as it is, then partitions the GPUs', async () => {
    const pod = (await loadDriverInstaller()).spec!.template.spec!;
    const init = (pod.initContainers ?? []) as V1Container[];
    assert.deepEqual(init.map((c) => c.name), ['nvidia-driver-installer', 'partition-gpus']);
    const script = (init[0]!.command ?? []).join(' ');
    assert.match(script, /if lsmod \| grep -q '\^nvidia'; then[\s\S]*exit 0[\s\S]*fi[\s\S]*\/cos-gpu-installer install/, 'the guard comes before the install');
    assert.equal(init[0]!.image, 'cos-nvidia-installer:fixed');
    assert.equal(init[0]!.imagePullPolicy, 'Never', 'preloaded on GKE\'s COS nodes');
    assert.ok(init[1]!.volumeMounts?.some((m) => m.mountPath === '/etc/nvidia'), 'partition-gpus reads the node\'s GPU config');
    for (const container of [...init.slice(1), ...(pod.containers as V1Container[])]) {
      assert.match(container.image ?? '', /@sha256:[0-9a-f]{64}$/, `${container.name}: pulled by digest`);
    }
  });
});
