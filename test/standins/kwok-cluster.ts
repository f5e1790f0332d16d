/**
 * A real Kubernetes control plane for tests, started by scripts/local-cluster.sh (kube-apiserver,
 * kube-controller-manager, kube-scheduler and etcd run by kwokctl's binary runtime, kwok playing
 * the nodes' kubelets) in a directory of its own. Loopback only. A Job's pod runs until its exit
 * code is set (deploy/kwok/stages.yaml).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { EXIT_CODE_ANNOTATION } from '../../src/targets/local/nodes.js';
import { PROJECT_ROOT } from '../helpers/specs.js';


export interface KwokCluster {
  name: string;
  kubeconfig: string;
  kubectl(args: string[], input?: string): Promise<string>;
  /** What a GPU device plugin does once the driver is installed: report the node's GPUs. */
  setNodeGpus(node: string, gpus: number): Promise<void>;
  /** Ends each running Job pod of the namespace with this exit code, as its container would, until stopped. */
  exitJobPods(namespace: string, exitCode: number): { stop(): void };
  stop(): Promise<void>;
}

export async function startKwokCluster(name: string): Promise<KwokCluster> {
  const dir = await mkdtemp(join(tmpdir(), 'kwok-'));
  const script = (command: string) =>
    execa('bash', [join(PROJECT_ROOT, 'scripts/local-cluster.sh'), command, name], { env: { ...process.env, PIPELINE_KWOK_DIR: dir } });
  await script('start');
  const kubeconfig = join(dir, `${name}.kubeconfig`);
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
    exitJobPods(namespace, exitCode) {
      let stopped = false;
      void (async () => {
        while (!stopped) {
          const pods = await execa('kubectl', ['--kubeconfig', kubeconfig, 'get', 'pods', '-n', namespace, '-l', 'job-name', '--field-selector=status.phase=Running', '-o', 'name'], { reject: false });
          for (const pod of pods.stdout.split('\n').filter(Boolean)) {
            await execa('kubectl', ['--kubeconfig', kubeconfig, 'annotate', '--overwrite', '-n', namespace, pod, `${EXIT_CODE_ANNOTATION}=${exitCode}`], { reject: false });
          }
          await new Promise((r) => setTimeout(r, 300));
        }
      })();
      return { stop: () => void (stopped = true) };
    },
    async stop() {
      await script('stop').catch(() => undefined);
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
