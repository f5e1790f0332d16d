/**
 * A real Kubernetes control plane for tests: kube-apiserver, kube-controller-manager,
 * kube-scheduler and etcd (built by scripts/setup-kube.sh) run by kwokctl's binary runtime, with
 * kwok playing the nodes' kubelets. Loopback only; its own work directory and kubeconfig.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { PROJECT_ROOT } from '../helpers/specs.js';

const BIN = join(PROJECT_ROOT, '.tools/bin');

export interface KwokCluster {
  name: string;
  kubeconfig: string;
  kubectl(args: string[], input?: string): Promise<string>;
  /** What a GPU device plugin does once the driver is installed: report the node's GPUs. */
  setNodeGpus(node: string, gpus: number): Promise<void>;
  stop(): Promise<void>;
}

export async function startKwokCluster(name: string): Promise<KwokCluster> {
  const dir = await mkdtemp(join(tmpdir(), 'kwok-'));
  const config = join(dir, 'kwok.yaml');
  await writeFile(
    config,
    [
      'kind: KwokctlConfiguration',
      'apiVersion: config.kwok.x-k8s.io/v1alpha1',
      'options:',
      '  runtime: binary',
      '  bindAddress: 127.0.0.1',
      `  kubeApiserverBinary: ${BIN}/kube-apiserver`,
      `  kubeControllerManagerBinary: ${BIN}/kube-controller-manager`,
      `  kubeSchedulerBinary: ${BIN}/kube-scheduler`,
      `  kwokControllerBinary: ${BIN}/kwok`,
      `  etcdBinary: ${BIN}/etcd`,
      '',
    ].join('\n'),
  );
  const env = { ...process.env, KWOK_WORKDIR: join(dir, 'work') };
  const kwokctl = (args: string[]) => execa(join(BIN, 'kwokctl'), ['--config', config, ...args], { env });
  await kwokctl(['create', 'cluster', '--name', name, '--wait', '3m', '--kubeconfig', join(dir, 'unused-kubeconfig')]);
  const kubeconfig = join(dir, 'kubeconfig');
  await writeFile(kubeconfig, (await kwokctl(['get', 'kubeconfig', '--name', name])).stdout);
  return {
    name,
    kubeconfig,
    async kubectl(args, input) {
      const result = await execa('kubectl', ['--kubeconfig', kubeconfig, ...args], input === undefined ? {} : { input });
      return result.stdout;
    },
    async setNodeGpus(node, gpus) {
      const resources = { cpu: '8', memory: '30Gi', pods: '110', 'nvidia.com/gpu': String(gpus) };
      await execa('kubectl', ['--kubeconfig', kubeconfig, 'patch', 'node', node, '--subresource=status', '--type=merge', '-p', JSON.stringify({ status: { capacity: resources, allocatable: resources } })]);
    },
    async stop() {
      await kwokctl(['delete', 'cluster', '--name', name]).catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** A simulated GKE GPU node (kwok plays its kubelet): GKE's pool labels and GPU taint; GPUs once "the driver" is up. */
export function gpuNode(name: string, pool: string, gpus: number): string {
  return node(name, { 'cloud.google.com/gke-nodepool': pool, 'cloud.google.com/gke-accelerator': 'nvidia-tesla-t4' }, gpus, [
    { key: 'nvidia.com/gpu', value: 'present', effect: 'NoSchedule' },
  ]);
}

/** A simulated GKE node without GPUs (the default pool, where the load generator runs). */
export function cpuNode(name: string, pool: string): string {
  return node(name, { 'cloud.google.com/gke-nodepool': pool }, 0, []);
}

function node(name: string, labels: Record<string, string>, gpus: number, taints: object[]): string {
  const resources = { cpu: '8', memory: '30Gi', pods: '110', ...(gpus > 0 || labels['cloud.google.com/gke-accelerator'] ? { 'nvidia.com/gpu': String(gpus) } : {}) };
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, annotations: { 'kwok.x-k8s.io/node': 'fake' }, labels: { type: 'kwok', ...labels } },
    spec: { taints },
    status: { capacity: resources, allocatable: resources },
  });
}
