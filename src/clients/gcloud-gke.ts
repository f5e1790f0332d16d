/**
 * GkeApi through gcloud (execa). Why gcloud rather than @google-cloud/container: it is already on
 * every GKE operator's machine and in Cloud Shell, it carries the user's own auth (ADC, workload
 * identity, access-token files) and endpoint overrides, and its flags are the sample's own
 * commands, so what the pipeline does is readable as the runbook. Creates, updates and deletes run
 * with --async; the workflow polls describe until RUNNING, the inverses poll `operations list` (GKE runs
 * one operation at a time per cluster and refuses a second with "Cluster is running incompatible
 * operation operation-…").
 */
import { ApiError, type ApiErrorCode } from '../ports/errors.js';
import type { ClusterInfo, ClusterMonitoring, ClusterRef, GkeApi, GkeOperation, Labelled, NodePoolInfo, ResourceStatus } from '../ports/systems.js';
import { type Exec, ExecError } from './exec.js';

export interface GcloudOptions {
  exec: Exec;
  /** The gcloud binary (default: gcloud on PATH). */
  gcloud?: string;
  /** Extra environment (CLOUDSDK_* settings such as an endpoint override); credentials stay ambient. */
  env?: Record<string, string>;
}

/**
 * gcloud's error text → an ApiError code. GKE runs one operation at a time per cluster and refuses
 * another with HTTP 400 FAILED_PRECONDITION: "Operation operation-… is currently upgrading cluster
 * C. Please wait and try again once it is done." (or "… is currently deleting a node pool for
 * cluster C …", "Cluster is running incompatible operation operation-…"): ABORTED here, a conflict
 * to retry once the operation is done, not a permanent precondition. Its rate limit, HTTP 429 "Too
 * many operations: cluster "C" hits the concurrent operations quota 5, please try again later.",
 * is not a quota to raise: UNAVAILABLE, retried. Real quota beats the HTTP status (GKE reports it
 * as 403).
 */
export function gcloudErrorCode(stderr: string): ApiErrorCode {
  if (/incompatible operation|operation \S+ is currently |operation .* is in progress|please wait and try again|ABORTED|code=409.*operation/i.test(stderr)) return 'ABORTED';
  if (/too many operations|concurrent operations quota|please try again later/i.test(stderr)) return 'UNAVAILABLE';
  if (/insufficient (regional )?quota|quota '[^']*' exceeded|quota exceeded|RESOURCE_EXHAUSTED|code=429/i.test(stderr)) return 'RESOURCE_EXHAUSTED';
  if (/NOT_FOUND|code=404|not found/i.test(stderr)) return 'NOT_FOUND';
  if (/ALREADY_EXISTS|code=409|already exists/i.test(stderr)) return 'ALREADY_EXISTS';
  if (/PERMISSION_DENIED|code=403|UNAUTHENTICATED|code=401|does not have .*permission/i.test(stderr)) return 'PERMISSION_DENIED';
  if (/INVALID_ARGUMENT|code=400|FAILED_PRECONDITION|invalid/i.test(stderr)) return 'INVALID_ARGUMENT';
  return 'UNAVAILABLE';
}

const STATUSES: readonly ResourceStatus[] = ['PROVISIONING', 'RUNNING', 'RECONCILING', 'STOPPING', 'ERROR'];

function statusOf(value: unknown): ResourceStatus {
  return STATUSES.includes(value as ResourceStatus) ? (value as ResourceStatus) : 'ERROR';
}

interface GkeNodePoolJson {
  name: string;
  status?: string;
  statusMessage?: string;
  initialNodeCount?: number;
  config?: {
    machineType?: string;
    resourceLabels?: Record<string, string>;
    accelerators?: Array<{ acceleratorType?: string; acceleratorCount?: string | number; gpuDriverInstallationConfig?: { gpuDriverVersion?: string } }>;
  };
  autoscaling?: { enabled?: boolean; minNodeCount?: number; maxNodeCount?: number };
}

interface GkeClusterJson {
  name: string;
  status?: string;
  statusMessage?: string;
  nodeConfig?: { machineType?: string };
  nodePools?: GkeNodePoolJson[];
  releaseChannel?: { channel?: string };
  resourceLabels?: Record<string, string>;
  monitoringConfig?: {
    componentConfig?: { enableComponents?: string[] };
    managedPrometheusConfig?: { enabled?: boolean };
  };
}

interface GkeOperationJson {
  name?: string;
  operationType?: string;
  status?: string;
  targetLink?: string;
}

const OPERATION_STATUSES: readonly GkeOperation['status'][] = ['PENDING', 'RUNNING', 'DONE', 'ABORTING'];

function labelsOf(labels: Record<string, string> | undefined): Labelled {
  return labels !== undefined && Object.keys(labels).length > 0 ? { labels } : {};
}

/** --labels k=v,k2=v2 (GCP labels hold neither ',' nor '='); none when there are none. */
function labelsFlag(labels: Record<string, string> | undefined): string[] {
  const pairs = Object.entries(labels ?? {});
  return pairs.length === 0 ? [] : ['--labels', pairs.map(([k, v]) => `${k}=${v}`).join(',')];
}

/** The unfinished operations of `gcloud container operations list` that change this cluster or its node pools. */
export function clusterOperations(json: GkeOperationJson[], cluster: string): GkeOperation[] {
  const targets = (link: string) => link.endsWith(`/clusters/${cluster}`) || link.includes(`/clusters/${cluster}/`);
  return json
    .filter((op) => op.status !== 'DONE' && targets(op.targetLink ?? ''))
    .map((op) => ({
      name: op.name ?? 'unknown-operation',
      operationType: op.operationType ?? 'TYPE_UNSPECIFIED',
      status: OPERATION_STATUSES.includes(op.status as GkeOperation['status']) ? (op.status as GkeOperation['status']) : 'RUNNING',
      targetLink: op.targetLink ?? '',
    }));
}

export function nodePoolInfo(json: GkeNodePoolJson): NodePoolInfo {
  const accelerator = json.config?.accelerators?.[0];
  const driver = accelerator?.gpuDriverInstallationConfig?.gpuDriverVersion;
  return {
    name: json.name,
    status: statusOf(json.status),
    machineType: json.config?.machineType ?? '',
    acceleratorType: accelerator?.acceleratorType ?? '',
    acceleratorCount: Number(accelerator?.acceleratorCount ?? 0),
    nodeCount: json.initialNodeCount ?? 0,
    autoscaling: {
      enabled: json.autoscaling?.enabled ?? false,
      minNodes: json.autoscaling?.minNodeCount ?? 0,
      maxNodes: json.autoscaling?.maxNodeCount ?? 0,
    },
    gpuDriver: driver === 'DEFAULT' ? 'gke-default' : driver === 'LATEST' ? 'gke-latest' : 'installer-daemonset',
    ...(json.statusMessage ? { statusMessage: json.statusMessage } : {}),
    ...labelsOf(json.config?.resourceLabels),
  };
}

/**
 * The API's monitoring component enum values that gcloud's --monitoring flag spells differently
 * (gcloud's api_adapter maps SYSTEM to SYSTEM_COMPONENTS, API_SERVER to APISERVER, WORKLOAD to
 * WORKLOADS); every other component has the same name in both.
 */
const GCLOUD_COMPONENT: Record<string, string> = { SYSTEM_COMPONENTS: 'SYSTEM', APISERVER: 'API_SERVER', WORKLOADS: 'WORKLOAD' };

/** The cluster's monitoringConfig, components in gcloud's names (what `--monitoring` takes back). */
export function clusterMonitoring(json: GkeClusterJson['monitoringConfig']): ClusterMonitoring {
  return {
    components: (json?.componentConfig?.enableComponents ?? []).map((c) => GCLOUD_COMPONENT[c] ?? c),
    managedPrometheus: json?.managedPrometheusConfig?.enabled ?? false,
  };
}

export function clusterInfo(json: GkeClusterJson): ClusterInfo {
  return {
    name: json.name,
    status: statusOf(json.status),
    // nodeConfig mirrors the default pool; clusters created without it only list the pool.
    machineType: json.nodeConfig?.machineType ?? json.nodePools?.[0]?.config?.machineType ?? '',
    releaseChannel: (json.releaseChannel?.channel ?? 'UNSPECIFIED').toLowerCase(),
    monitoring: clusterMonitoring(json.monitoringConfig),
    ...(json.statusMessage ? { statusMessage: json.statusMessage } : {}),
    ...labelsOf(json.resourceLabels),
  };
}

/** --monitoring=A,B (gcloud refuses a list without SYSTEM); none when the request leaves GKE's defaults. */
function monitoringFlag(components: readonly string[] | undefined): string[] {
  return components === undefined || components.length === 0 ? [] : [`--monitoring=${components.join(',')}`];
}

const DRIVER_FLAG: Record<NodePoolInfo['gpuDriver'], string> = {
  'installer-daemonset': 'disabled',
  'gke-default': 'default',
  'gke-latest': 'latest',
};

export function createGcloudGke({ exec, gcloud = 'gcloud', env = {} }: GcloudOptions): GkeApi & Required<Pick<GkeApi, 'runningOperations' | 'updateClusterMonitoring'>> {
  const scope = (ref: ClusterRef) => ['--project', ref.project, '--zone', ref.zone, '--format', 'json', '--quiet'];

  async function run(args: string[]): Promise<unknown> {
    try {
      const { stdout } = await exec(gcloud, args, { env: { CLOUDSDK_CORE_DISABLE_PROMPTS: '1', ...env } });
      return stdout.trim() === '' ? null : (JSON.parse(stdout) as unknown);
    } catch (error) {
      if (error instanceof ExecError) {
        throw new ApiError(gcloudErrorCode(error.stderr), errorLines(error.stderr) || error.message, error.stderr);
      }
      throw error;
    }
  }

  async function describeOrNull<T>(args: string[]): Promise<T | null> {
    try {
      return (await run(args)) as T;
    } catch (error) {
      if (error instanceof ApiError && error.code === 'NOT_FOUND') return null;
      throw error;
    }
  }

  const operationName = (result: unknown) => {
    const op = (Array.isArray(result) ? result[0] : result) as { name?: string } | null;
    return op?.name ?? 'unknown-operation';
  };

  return {
    async getCluster(ref) {
      const json = await describeOrNull<GkeClusterJson>(['container', 'clusters', 'describe', ref.cluster, ...scope(ref)]);
      return json === null ? null : clusterInfo(json);
    },

    async createCluster(ref, request) {
      const result = await run([
        'container', 'clusters', 'create', request.name, ...scope(ref),
        '--machine-type', request.machineType,
        '--num-nodes', String(request.nodes),
        '--release-channel', request.releaseChannel,
        '--workload-pool', `${ref.project}.svc.id.goog`,
        '--enable-ip-alias',
        '--addons', 'HorizontalPodAutoscaling,HttpLoadBalancing,GcePersistentDiskCsiDriver',
        '--enable-managed-prometheus',
        ...monitoringFlag(request.monitoring),
        ...labelsFlag(request.labels),
        '--async',
      ]);
      return { operation: operationName(result) };
    },

    /** GKE's managed DCGM metrics need Managed Prometheus on (GKE docs, "Collect and view DCGM metrics"): both in one update. */
    async updateClusterMonitoring(ref, components) {
      const result = await run([
        'container', 'clusters', 'update', ref.cluster, ...scope(ref),
        ...monitoringFlag(components),
        '--enable-managed-prometheus',
        '--async',
      ]);
      return { operation: operationName(result) };
    },

    async getNodePool(ref, name) {
      const json = await describeOrNull<GkeNodePoolJson>(['container', 'node-pools', 'describe', name, '--cluster', ref.cluster, ...scope(ref)]);
      return json === null ? null : nodePoolInfo(json);
    },

    async createNodePool(ref, request) {
      const result = await run([
        'container', 'node-pools', 'create', request.name, '--cluster', ref.cluster, ...scope(ref),
        '--machine-type', request.machineType,
        '--accelerator', `type=${request.acceleratorType},count=${request.acceleratorCount},gpu-driver-version=${DRIVER_FLAG[request.gpuDriver]}`,
        '--disk-size', String(request.diskSizeGb),
        '--num-nodes', String(request.initialNodes),
        '--enable-autoscaling', '--min-nodes', String(request.minNodes), '--max-nodes', String(request.maxNodes),
        request.autoRepair ? '--enable-autorepair' : '--no-enable-autorepair',
        '--workload-metadata', 'GKE_METADATA',
        ...labelsFlag(request.labels),
        '--async',
      ]);
      return { operation: operationName(result) };
    },

    async setNodePoolAutoscaling(ref, name, minNodes, maxNodes) {
      await run([
        'container', 'clusters', 'update', ref.cluster, ...scope(ref),
        '--node-pool', name, '--enable-autoscaling', '--min-nodes', String(minNodes), '--max-nodes', String(maxNodes), '--async',
      ]);
    },

    /** Starts the delete (--async: gcloud returns the operation); a missing pool is not an error. */
    async deleteNodePool(ref, name) {
      await describeOrNull(['container', 'node-pools', 'delete', name, '--cluster', ref.cluster, ...scope(ref), '--async']);
    },

    /** Starts the delete (--async: gcloud prints nothing); a missing cluster is not an error. */
    async deleteCluster(ref) {
      await describeOrNull(['container', 'clusters', 'delete', ref.cluster, ...scope(ref), '--async']);
    },

    async runningOperations(ref) {
      const json = await run(['container', 'operations', 'list', ...scope(ref), '--filter', 'status!=DONE']);
      return clusterOperations(Array.isArray(json) ? (json as GkeOperationJson[]) : [], ref.cluster);
    },
  };
}

/**
 * gcloud's ERROR line and the lines that continue it: `clusters delete` puts GKE's answer on the
 * next one ("Some requests did not succeed:" / " - ResponseError: code=400, message=…").
 */
function errorLines(stderr: string): string {
  const lines = stderr.split('\n');
  const first = lines.findIndex((l) => l.startsWith('ERROR'));
  if (first < 0) return '';
  const rest = lines.slice(first + 1);
  const end = rest.findIndex((l) => !/^\s+(- )?\S/.test(l));
  return [lines[first], ...(end < 0 ? rest : rest.slice(0, end)).map((l) => l.trim())].join(' ');
}

/** `gcloud container clusters get-credentials` into a kubeconfig of its own (uses gke-gcloud-auth-plugin). */
export async function writeKubeconfig({ exec, gcloud = 'gcloud', env = {} }: GcloudOptions, ref: ClusterRef, path: string): Promise<void> {
  try {
    await exec(gcloud, ['container', 'clusters', 'get-credentials', ref.cluster, '--project', ref.project, '--zone', ref.zone, '--quiet'], {
      env: { CLOUDSDK_CORE_DISABLE_PROMPTS: '1', ...env, KUBECONFIG: path },
    });
  } catch (error) {
    if (error instanceof ExecError) throw new ApiError(gcloudErrorCode(error.stderr), error.message, error.stderr);
    throw error;
  }
}
