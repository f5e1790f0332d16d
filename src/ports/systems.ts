/**
 * The systems the activities talk to, as narrow interfaces. The gke target wires real clients
 * (gcloud, @kubernetes/client-node, helm, @google-cloud/storage); the sim target wires the
 * simulated world; the activity code above them is the same.
 */
import type { V1ObjectMeta, V1ResourceRequirements } from '@kubernetes/client-node';

export interface ClusterRef {
  project: string;
  zone: string;
  cluster: string;
}

export type ResourceStatus = 'PROVISIONING' | 'RUNNING' | 'RECONCILING' | 'STOPPING' | 'ERROR';

/**
 * GCP resource labels (GKE's resourceLabels: a cluster's, or a node pool's config.resourceLabels).
 * Keys: a lowercase letter, then lowercase letters, digits, '_' or '-', at most 63; values the same
 * (may start with a digit), at most 63.
 */
export interface Labelled {
  labels?: Record<string, string>;
}

/** A GKE long-running operation (projects.locations.operations) as the inverses need it. */
export interface GkeOperation {
  name: string;
  /** CREATE_CLUSTER, DELETE_CLUSTER, CREATE_NODE_POOL, DELETE_NODE_POOL, UPDATE_CLUSTER, UPGRADE_NODES ... */
  operationType: string;
  status: 'PENDING' | 'RUNNING' | 'DONE' | 'ABORTING';
  /** The cluster or node pool it changes (…/clusters/<name>[/nodePools/<pool>]). */
  targetLink: string;
}

/**
 * What GKE sends to Cloud Monitoring: the monitoring components, named as gcloud's --monitoring
 * flag names them (SYSTEM, DCGM, API_SERVER ...), and whether Managed Service for Prometheus
 * collects.
 */
export interface ClusterMonitoring {
  components: string[];
  managedPrometheus: boolean;
}

export interface ClusterInfo extends Labelled {
  name: string;
  status: ResourceStatus;
  machineType: string;
  releaseChannel: string;
  statusMessage?: string;
  /** Absent where the target does not report it (the sim and local targets). */
  monitoring?: ClusterMonitoring;
}

export interface ClusterCreateRequest extends Labelled {
  name: string;
  machineType: string;
  nodes: number;
  releaseChannel: string;
  /** Monitoring components to enable (gcloud names); absent: GKE's defaults. */
  monitoring?: string[];
}

export interface NodePoolInfo extends Labelled {
  name: string;
  status: ResourceStatus;
  machineType: string;
  acceleratorType: string;
  acceleratorCount: number;
  nodeCount: number;
  autoscaling: { enabled: boolean; minNodes: number; maxNodes: number };
  gpuDriver: 'installer-daemonset' | 'gke-default' | 'gke-latest';
  statusMessage?: string;
}

export interface NodePoolCreateRequest extends Labelled {
  name: string;
  machineType: string;
  acceleratorType: string;
  acceleratorCount: number;
  diskSizeGb: number;
  initialNodes: number;
  minNodes: number;
  maxNodes: number;
  autoRepair: boolean;
  gpuDriver: 'installer-daemonset' | 'gke-default' | 'gke-latest';
}

/** GKE control plane (clusters, node pools, long-running operations). */
export interface GkeApi {
  getCluster(ref: ClusterRef): Promise<ClusterInfo | null>;
  createCluster(ref: ClusterRef, request: ClusterCreateRequest): Promise<{ operation: string }>;
  getNodePool(ref: ClusterRef, name: string): Promise<NodePoolInfo | null>;
  createNodePool(ref: ClusterRef, request: NodePoolCreateRequest): Promise<{ operation: string }>;
  setNodePoolAutoscaling(ref: ClusterRef, name: string, minNodes: number, maxNodes: number): Promise<void>;
  /** Saga inverses; deleting what is not there is not an error. */
  deleteNodePool(ref: ClusterRef, name: string): Promise<void>;
  deleteCluster(ref: ClusterRef): Promise<void>;
  /** Operations on the cluster or its node pools that are not DONE; absent where they cannot be listed (the local target). */
  runningOperations?(ref: ClusterRef): Promise<GkeOperation[]>;
  /**
   * Sets the cluster's monitoring components (the whole list, gcloud names) with Managed
   * Prometheus on; a long-running operation. Absent where monitoring is not configurable (sim, local).
   */
  updateClusterMonitoring?(ref: ClusterRef, components: string[]): Promise<{ operation: string }>;
}

/** Any Kubernetes object, as the port applies and reads it: every typed Manifest is one. */
export type KubeObject = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [field: string]: unknown;
};

/**
 * A @kubernetes/client-node model type as the JSON sent to the API server. The generated classes
 * describe what the client deserializes, which differs from the wire in two places: timestamps are
 * Date there (RFC 3339 strings in JSON), and resource quantities are strings (the API also takes a
 * JSON number, e.g. nvidia.com/gpu: 1).
 */
export type KubeJson<T> = 0 extends 1 & T
  ? T
  : T extends Date
    ? string
    : T extends ReadonlyArray<infer U>
      ? Array<KubeJson<U>>
      : T extends V1ResourceRequirements
        ? { [K in keyof T]: K extends 'limits' | 'requests' ? Record<string, string | number> : KubeJson<T[K]> }
        : T extends object
          ? { [K in keyof T]: KubeJson<T[K]> }
          : T;

/**
 * A manifest the pipeline builds from a model type (Manifest<V1Job>): apiVersion, kind and
 * metadata.name required, no status (the server's), every other field checked against the model.
 */
export type Manifest<T extends { apiVersion?: string; kind?: string; metadata?: V1ObjectMeta }> = KubeJson<
  Omit<T, 'apiVersion' | 'kind' | 'metadata' | 'status'>
> & {
  apiVersion: string;
  kind: string;
  metadata: KubeJson<V1ObjectMeta> & { name: string };
};

export interface NodeInfo {
  name: string;
  ready: boolean;
  labels: Record<string, string>;
  allocatableGpus: number;
}

export interface JobStatus {
  phase: 'pending' | 'running' | 'succeeded' | 'failed';
  message?: string;
}

/** The Kubernetes API of one cluster. */
export interface KubeApi {
  /** Server-side apply with the pipeline's field manager. */
  apply(object: KubeObject): Promise<void>;
  get(apiVersion: string, kind: string, namespace: string | undefined, name: string): Promise<KubeObject | null>;
  /** Idempotent: a missing object is not an error. */
  delete(apiVersion: string, kind: string, namespace: string | undefined, name: string): Promise<void>;
  listNodes(labelSelector: Record<string, string>): Promise<NodeInfo[]>;
  jobStatus(namespace: string, name: string): Promise<JobStatus | null>;
  /** Logs of the Job's (last) pod, stdout and stderr merged. */
  jobLogs(namespace: string, name: string): Promise<string>;
}

export interface HelmRevision {
  revision: number;
  status: 'deployed' | 'superseded' | 'failed' | 'pending-install' | 'pending-upgrade' | 'pending-rollback';
  description: string;
}

export interface HelmUpgradeRequest {
  release: string;
  namespace: string;
  chart: string;
  values: Record<string, unknown>;
  timeoutSeconds: number;
}

/** Helm 3 against one cluster. upgrade and rollback wait for readiness (--wait). */
export interface HelmApi {
  upgradeInstall(request: HelmUpgradeRequest, signal?: AbortSignal): Promise<{ revision: number }>;
  history(release: string, namespace: string): Promise<HelmRevision[]>;
  values(release: string, namespace: string, revision: number): Promise<Record<string, unknown>>;
  rollback(release: string, namespace: string, revision: number, timeoutSeconds: number, signal?: AbortSignal): Promise<void>;
  /** helm uninstall; a release that is not installed is not an error. */
  uninstall(release: string, namespace: string): Promise<void>;
}

export interface ObjectInfo {
  uri: string;
  md5: string;
  size: number;
}

/** GCS (gs://bucket/path URIs). */
export interface ObjectStore {
  stat(uri: string): Promise<ObjectInfo | null>;
  read(uri: string): Promise<Uint8Array | null>;
  /** ifAbsent: fail with a precondition error instead of overwriting (GCS ifGenerationMatch=0). */
  write(uri: string, data: Uint8Array | string, options?: { ifAbsent?: boolean; contentType?: string }): Promise<ObjectInfo>;
  copy(source: string, destination: string): Promise<ObjectInfo>;
  list(prefix: string): Promise<string[]>;
  delete(uri: string): Promise<void>;
}

/** Reachability of a release's Triton endpoint (HTTP /v2/health/ready and the served repository). */
export interface TritonProbe {
  ready(target: { release: string; namespace: string }): Promise<{ ready: boolean; modelRepository?: string; models: string[] }>;
  /** Prometheus text of each serving pod's metrics port; absent where no Triton exports metrics (the sim target). */
  scrapeMetrics?(target: { release: string; namespace: string }): Promise<Array<{ pod: string; text: string }>>;
}

export interface TargetClients {
  gke: GkeApi;
  /** Clients of one cluster: created after the cluster exists (credentials come from it). */
  kube(ref: ClusterRef): KubeApi;
  helm(ref: ClusterRef): HelmApi;
  triton(ref: ClusterRef): TritonProbe;
  store: ObjectStore;
  /** Where HTML reports are written locally (a directory); reports also go to the bucket. */
  reportDir: string;
  /** Triton chart reference passed to helm (a path to deploy/charts/triton or a chart ref). */
  tritonChart: string;
  /** Files the target's Triton needs beside each model file (the local target's python-backend model.py). */
  modelSupportFiles?: Record<string, string>;
}
