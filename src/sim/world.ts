/**
 * A SIMULATED GKE + T4 world for the `sim` target — not GKE. It implements the ports the
 * activities use (src/ports/systems.ts) on local state: a GKE control plane (clusters, GPU node
 * pools, resource labels, regional quota, and their long-running operations, one at a time per
 * cluster), each cluster's Kubernetes API (nodes, GPU driver, Jobs that build TensorRT engines or
 * run perf_analyzer), Helm releases of the Triton chart, Triton readiness, and GCS (objects as
 * files). Operations take simulated time (timing.ts) scaled by the acting context (context.ts);
 * perf numbers come from the calibrated model (perf-model.ts).
 *
 * Layout of stateDir (a worker restart on the same directory continues the same world):
 *   projects/<project>.jsonl clusters, node pools, kube objects, Jobs, Helm releases: a journal
 *                            of whole documents, the last the state (state.ts)
 *   gcs/<bucket>/<object>    bucket objects
 *   operations.jsonl         one line per API call (SimOperation)
 *   reports/                 reportDir of the clients
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { ClusterInfo, ClusterRef, KubeObject, Labelled, NodeInfo, NodePoolInfo, TargetClients } from '../ports/systems.js';
import { clusterInfo, nodePoolInfo, settleGke, SimGke } from './gke.js';
import { settleReleases, SimHelm } from './helm.js';
import { settleJobs, SimKube } from './kube.js';
import { nodesOf } from './nodes.js';
import { OperationLog, type SimOperation } from './oplog.js';
import { ProjectStore, type RevisionRecord, type SimServices } from './state.js';
import { SimObjectStore } from './storage.js';
import { SimTritonProbe } from './triton.js';

export interface SimProjectSnapshot {
  project: string;
  clusters: Array<{
    zone: string;
    /** With its resource labels (the created-by mark). */
    cluster: ClusterInfo & Labelled;
    nodePools: Array<NodePoolInfo & Labelled>;
    nodes: NodeInfo[];
    objects: KubeObject[];
    releases: Array<{ name: string; namespace: string; revisions: RevisionRecord[] }>;
  }>;
  /** Every bucket object (buckets are global, not owned by a project, in the simulator). */
  objects: string[];
}

export interface SimWorld {
  clients(): TargetClients;
  /** Read-only view of the persisted state: never advances time, so inspecting plays no Job effect. */
  snapshot(project: string): Promise<SimProjectSnapshot>;
  operations(): Promise<SimOperation[]>;
}

export function createSimWorld(options: { stateDir: string; clock?: () => number }): SimWorld {
  const { stateDir } = options;
  const clock = options.clock ?? Date.now;
  const reportDir = path.join(stateDir, 'reports');
  mkdirSync(reportDir, { recursive: true });
  const log = new OperationLog(path.join(stateDir, 'operations.jsonl'), clock);
  const objects = new SimObjectStore(stateDir, log);
  const store = new ProjectStore(stateDir, clock, async (project, state, now) => {
    let changed = settleGke(state, now);
    for (const cluster of Object.values(state.clusters)) {
      changed = (await settleReleases(objects, cluster, now)) || changed;
      changed = (await settleJobs({ objects, log }, { project, zone: cluster.zone, cluster: cluster.name }, cluster, now)) || changed;
    }
    return changed;
  });
  const services: SimServices = { store, objects, log };
  const gke = new SimGke(services);

  return {
    clients: () => ({
      gke,
      kube: (ref: ClusterRef) => new SimKube(services, ref),
      helm: (ref: ClusterRef) => new SimHelm(services, ref),
      triton: (ref: ClusterRef) => new SimTritonProbe(services, ref),
      store: objects,
      reportDir,
      tritonChart: 'deploy/charts/triton',
    }),

    async snapshot(project) {
      const now = clock();
      const clusters = Object.values((await store.peek(project)).clusters).map((cluster) => ({
        zone: cluster.zone,
        cluster: clusterInfo(cluster),
        nodePools: Object.values(cluster.nodePools).map(nodePoolInfo),
        nodes: nodesOf(cluster, now),
        objects: Object.values(cluster.objects).map((record) => record.object),
        releases: Object.values(cluster.releases),
      }));
      return { project, clusters, objects: await objects.listAll() };
    },

    operations: () => log.list(),
  };
}
