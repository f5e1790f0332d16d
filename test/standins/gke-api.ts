/**
 * A local stand-in of the GKE REST API (container.googleapis.com v1, location-based paths), as
 * much as the pipeline uses: get/list/create/update/delete clusters (updates: a node pool's
 * autoscaling, the monitoring config), get/create/delete node pools,
 * get/list operations, and the Service Usage check gcloud makes before a create, with realistic
 * states and errors in GCP's JSON error shape. Every create, delete and update is a long-running
 * operation, RUNNING for a few reads (PROVISIONING, or STOPPING while it deletes), then DONE; as GKE,
 * it runs ONE operation at a time per cluster (node pools included) and refuses a second mutating
 * call while one runs with 400 FAILED_PRECONDITION and GKE's text for the running operation ("Operation
 * operation-… is currently deleting a node pool for cluster C. Please wait and try again once it is
 * done.", or "Cluster is running incompatible operation operation-…"). Real gcloud talks to it
 * through its container endpoint override.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

type Status = 'PROVISIONING' | 'RUNNING' | 'STOPPING' | 'ERROR' | 'RECONCILING';

interface NodePool {
  name: string;
  status: Status;
  config: Record<string, unknown>;
  initialNodeCount: number;
  autoscaling?: { enabled?: boolean; minNodeCount?: number; maxNodeCount?: number };
  management?: Record<string, unknown>;
}

/** Cluster.monitoringConfig as the API reads and writes it (container.googleapis.com v1). */
export interface MonitoringConfig {
  componentConfig?: { enableComponents?: string[] };
  managedPrometheusConfig?: { enabled?: boolean };
}

/**
 * What a create leaves in monitoringConfig: the request's, with SYSTEM_COMPONENTS where it names
 * no components. GKE fills in its own defaults there, which depend on its version (recent ones
 * turn DCGM on too); the stand-in keeps the minimum, so a run has to ask for what it needs. No
 * check of the combination: what GKE answers to DCGM without Managed Prometheus is not documented.
 */
function monitoringConfigOf(request: Record<string, unknown>): MonitoringConfig {
  const asked = (request['monitoringConfig'] as MonitoringConfig | undefined) ?? {};
  return {
    ...asked,
    componentConfig: { enableComponents: asked.componentConfig?.enableComponents ?? ['SYSTEM_COMPONENTS'] },
    managedPrometheusConfig: { enabled: asked.managedPrometheusConfig?.enabled ?? false },
  };
}

interface Cluster {
  name: string;
  location: string;
  status: Status;
  body: Record<string, unknown>;
  nodePools: Map<string, NodePool>;
}

export interface InjectedError {
  method: string;
  path: RegExp;
  code: number;
  status: string;
  message: string;
  times: number;
}

export interface RecordedRequest {
  method: string;
  path: string;
  body: unknown;
  /** The HTTP status the stand-in answered. */
  status?: number;
}

export interface StandInOperation {
  name: string;
  operationType: 'CREATE_CLUSTER' | 'DELETE_CLUSTER' | 'CREATE_NODE_POOL' | 'DELETE_NODE_POOL' | 'UPDATE_CLUSTER';
  status: 'RUNNING' | 'DONE';
  project: string;
  location: string;
  cluster: string;
  /** clusters/<name>[/nodePools/<pool>] */
  target: string;
  startTime: string;
  endTime?: string;
}

export interface GkeStandIn {
  url: string;
  requests: RecordedRequest[];
  /** GPUs per accelerator type the project may use in a region (the quota GKE checks). */
  gpuQuota: Map<string, number>;
  inject(error: Omit<InjectedError, 'times'> & { times?: number }): void;
  cluster(project: string, location: string, name: string): Cluster | undefined;
  /** Every operation started, oldest first. */
  operations: StandInOperation[];
  /** Operations started from now on stay RUNNING for this many reads (undefined: the defaults), as a slow GKE. */
  slowOperations(reads: number | undefined): void;
  close(): Promise<void>;
}

/**
 * How many reads an operation stays RUNNING (GKE takes minutes): a new cluster or node pool answers
 * PROVISIONING, a deleted one STOPPING. Counted in reads of the cluster, its pools or its
 * operations, not in time, so tests do not depend on the machine's speed; gcloud's create itself
 * reads once.
 */
const READS_UNTIL_RUNNING = 3;
const READS_UNTIL_DELETED = 3;
const READS_UNTIL_UPDATED = 1;

function send(res: ServerResponse, code: number, body: unknown): void {
  res.writeHead(code, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

function error(res: ServerResponse, code: number, status: string, message: string): void {
  send(res, code, { error: { code, message, status } });
}

async function readBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  return text === '' ? undefined : (JSON.parse(text) as unknown);
}

export async function startGkeStandIn(): Promise<GkeStandIn> {
  const clusters = new Map<string, Cluster>();
  const injected: InjectedError[] = [];
  const requests: RecordedRequest[] = [];
  const gpuQuota = new Map<string, number>([['nvidia-tesla-t4', 8]]);
  const operations: Array<StandInOperation & { readsLeft: number; complete: () => void }> = [];
  const key = (project: string, location: string, name: string) => `${project}/${location}/${name}`;
  let slowReads: number | undefined;

  const operationJson = (op: StandInOperation) => ({
    name: op.name,
    zone: op.location,
    location: op.location,
    operationType: op.operationType,
    status: op.status,
    selfLink: `https://container.googleapis.com/v1/projects/${op.project}/locations/${op.location}/operations/${op.name}`,
    targetLink: `https://container.googleapis.com/v1/projects/${op.project}/locations/${op.location}/${op.target}`,
    startTime: op.startTime,
    ...(op.endTime ? { endTime: op.endTime } : {}),
  });

  const runningOn = (project: string, location: string, cluster: string) =>
    operations.find((op) => op.status === 'RUNNING' && op.project === project && op.location === location && op.cluster === cluster);

  /** Starts an operation: RUNNING for `reads` reads, then DONE with `complete` applied. */
  const startOperation = (
    project: string,
    location: string,
    cluster: string,
    operationType: StandInOperation['operationType'],
    target: string,
    reads: number,
    complete: () => void,
  ) => {
    const op = {
      name: `operation-${Date.now()}-${randomBytes(4).toString('hex')}`,
      operationType,
      status: 'RUNNING' as const,
      project,
      location,
      cluster,
      target,
      startTime: new Date().toISOString(),
      readsLeft: slowReads ?? reads,
      complete,
    };
    operations.push(op);
    return operationJson(op);
  };

  /** Each read of a cluster, its pools or its operations brings its running operation closer to its end. */
  const advance = (project: string, location: string, cluster: string) => {
    const op = runningOn(project, location, cluster);
    if (op === undefined) return;
    op.readsLeft -= 1;
    if (op.readsLeft > 0) return;
    op.status = 'DONE';
    op.endTime = new Date().toISOString();
    op.complete();
  };

  /** GKE's texts for a call refused while `op` runs (they name what the operation does). */
  const conflictMessage = (op: StandInOperation): string => {
    const wait = 'Please wait and try again once it is done.';
    if (op.operationType === 'DELETE_NODE_POOL') return `Operation ${op.name} is currently deleting a node pool for cluster ${op.cluster}. ${wait}`;
    if (op.operationType === 'UPDATE_CLUSTER') return `Operation ${op.name} is currently upgrading cluster ${op.cluster}. ${wait}`;
    return `Cluster is running incompatible operation ${op.name}.`;
  };

  /** GKE's answer to a mutating call while an operation runs on the cluster. */
  const busy = (res: ServerResponse, project: string, location: string, cluster: string): boolean => {
    const op = runningOn(project, location, cluster);
    if (op === undefined) return false;
    error(res, 400, 'FAILED_PRECONDITION', conflictMessage(op));
    return true;
  };

  const poolJson = (cluster: Cluster, pool: NodePool) => ({
    name: pool.name,
    status: pool.status,
    config: pool.config,
    initialNodeCount: pool.initialNodeCount,
    autoscaling: pool.autoscaling ?? {},
    management: pool.management ?? {},
    selfLink: `projects/x/locations/${cluster.location}/clusters/${cluster.name}/nodePools/${pool.name}`,
  });

  const clusterJson = (cluster: Cluster) => ({
    ...cluster.body,
    name: cluster.name,
    location: cluster.location,
    zone: cluster.location,
    status: cluster.status,
    endpoint: '10.0.0.2',
    nodePools: [...cluster.nodePools.values()].map((p) => poolJson(cluster, p)),
  });

  const gpusInUse = (project: string, type: string) =>
    [...clusters.entries()]
      .filter(([k]) => k.startsWith(`${project}/`))
      .flatMap(([, c]) => [...c.nodePools.values()])
      .flatMap((p) => ((p.config['accelerators'] as Array<{ acceleratorType: string; acceleratorCount: string }> | undefined) ?? []).map((a) => ({ a, max: p.autoscaling?.maxNodeCount ?? p.initialNodeCount })))
      .filter(({ a }) => a.acceleratorType === type)
      .reduce((sum, { a, max }) => sum + Number(a.acceleratorCount) * max, 0);

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://standin');
    const method = req.method ?? 'GET';
    const body = await readBody(req);
    const recorded: RecordedRequest = { method, path: url.pathname, body };
    requests.push(recorded);
    res.on('finish', () => (recorded.status = res.statusCode));
    const fault = injected.find((f) => f.times > 0 && f.method === method && f.path.test(url.pathname));
    if (fault) {
      fault.times -= 1;
      return error(res, fault.code, fault.status, fault.message);
    }
    // gcloud checks that the Container API is enabled (Service Usage) before creating a cluster.
    const service = /^\/v1\/projects\/([^/]+)\/services\/([^/]+)$/.exec(url.pathname);
    if (service !== null && method === 'GET') {
      return send(res, 200, { name: `projects/${service[1]}/services/${service[2]}`, state: 'ENABLED' });
    }
    const m = /^\/v1\/projects\/([^/]+)\/locations\/([^/]+)\/(.*)$/.exec(url.pathname);
    if (m === null) return error(res, 404, 'NOT_FOUND', `unknown path ${url.pathname}`);
    const [, project, location, rest] = m as unknown as [string, string, string, string];
    const parts = rest.split('/');

    if (parts[0] === 'operations' && method === 'GET') {
      const inLocation = (op: StandInOperation) => op.project === project && (location === '-' || op.location === location);
      if (parts[1] === undefined) {
        for (const op of operations.filter((o) => inLocation(o) && o.status === 'RUNNING')) advance(op.project, op.location, op.cluster);
        return send(res, 200, { operations: operations.filter(inLocation).map(operationJson) });
      }
      const op = operations.find((o) => inLocation(o) && o.name === parts[1]);
      if (op === undefined) return error(res, 404, 'NOT_FOUND', `Not found: projects/${project}/locations/${location}/operations/${parts[1]}.`);
      advance(op.project, op.location, op.cluster);
      return send(res, 200, operationJson(op));
    }
    if (parts[0] !== 'clusters') return error(res, 404, 'NOT_FOUND', `unknown path ${url.pathname}`);

    if (parts.length === 1) {
      if (method === 'GET') {
        const list = [...clusters.entries()]
          .filter(([k]) => k.startsWith(`${project}/`) && (location === '-' || k.startsWith(`${project}/${location}/`)))
          .map(([, c]) => clusterJson(c));
        return send(res, 200, { clusters: list });
      }
      if (method === 'POST') {
        const request = (body as { cluster: Record<string, unknown> }).cluster;
        const name = String(request['name']);
        if (clusters.has(key(project, location, name))) {
          return error(res, 409, 'ALREADY_EXISTS', `Already exists: projects/${project}/locations/${location}/clusters/${name}.`);
        }
        const pools = new Map<string, NodePool>();
        for (const pool of (request['nodePools'] as Array<Record<string, unknown>> | undefined) ?? []) {
          pools.set(String(pool['name']), {
            name: String(pool['name']),
            status: 'PROVISIONING',
            config: (pool['config'] as Record<string, unknown>) ?? {},
            initialNodeCount: Number(pool['initialNodeCount'] ?? 1),
          });
        }
        const created: Cluster = { name, location, status: 'PROVISIONING', body: { ...request, monitoringConfig: monitoringConfigOf(request) }, nodePools: pools };
        clusters.set(key(project, location, name), created);
        return send(res, 200, startOperation(project, location, name, 'CREATE_CLUSTER', `clusters/${name}`, READS_UNTIL_RUNNING, () => {
          created.status = 'RUNNING';
          for (const pool of created.nodePools.values()) pool.status = 'RUNNING';
        }));
      }
    }

    const cluster = clusters.get(key(project, location, parts[1] ?? ''));
    const notFound = () => error(res, 404, 'NOT_FOUND', `Not found: projects/${project}/locations/${location}/clusters/${parts[1]}.`);

    if (cluster !== undefined && method === 'GET') advance(project, location, cluster.name);
    // The read may have ended the cluster's deletion.
    if (cluster !== undefined && !clusters.has(key(project, location, cluster.name))) return notFound();

    if (parts.length === 2) {
      if (cluster === undefined) return notFound();
      if (method === 'GET') return send(res, 200, clusterJson(cluster));
      if (method === 'DELETE') {
        if (busy(res, project, location, cluster.name)) return;
        cluster.status = 'STOPPING';
        return send(res, 200, startOperation(project, location, cluster.name, 'DELETE_CLUSTER', `clusters/${cluster.name}`, READS_UNTIL_DELETED, () => {
          clusters.delete(key(project, location, cluster.name));
        }));
      }
      if (method === 'PUT') {
        const update = (body as { update: { desiredNodePoolId?: string; desiredNodePoolAutoscaling?: NodePool['autoscaling']; desiredMonitoringConfig?: MonitoringConfig } }).update;
        if (update.desiredMonitoringConfig !== undefined) {
          if (busy(res, project, location, cluster.name)) return;
          // GKE reconciles the cluster while it turns components on; the new config shows once the operation is done.
          const desired = update.desiredMonitoringConfig;
          cluster.status = 'RECONCILING';
          return send(res, 200, startOperation(project, location, cluster.name, 'UPDATE_CLUSTER', `clusters/${cluster.name}`, READS_UNTIL_UPDATED, () => {
            const current = (cluster.body['monitoringConfig'] as MonitoringConfig | undefined) ?? {};
            cluster.body['monitoringConfig'] = { ...current, ...desired };
            cluster.status = 'RUNNING';
          }));
        }
        const pool = cluster.nodePools.get(update.desiredNodePoolId ?? '');
        if (pool === undefined) return error(res, 404, 'NOT_FOUND', `Not found: node pool ${update.desiredNodePoolId}.`);
        if (busy(res, project, location, cluster.name)) return;
        if (update.desiredNodePoolAutoscaling) pool.autoscaling = update.desiredNodePoolAutoscaling;
        return send(res, 200, startOperation(project, location, cluster.name, 'UPDATE_CLUSTER', `clusters/${cluster.name}`, READS_UNTIL_UPDATED, () => undefined));
      }
    }

    if (parts[2] === 'nodePools') {
      if (cluster === undefined) return notFound();
      if (parts.length === 3 && method === 'POST') {
        const request = (body as { nodePool: Record<string, unknown> }).nodePool;
        const name = String(request['name']);
        if (busy(res, project, location, cluster.name)) return;
        if (cluster.nodePools.has(name)) return error(res, 409, 'ALREADY_EXISTS', `Already exists: node pool ${name}.`);
        const pool: NodePool = {
          name,
          status: 'PROVISIONING',
          config: (request['config'] as Record<string, unknown>) ?? {},
          initialNodeCount: Number(request['initialNodeCount'] ?? 1),
          autoscaling: request['autoscaling'] as NodePool['autoscaling'],
          management: request['management'] as Record<string, unknown>,
        };
        for (const accelerator of (pool.config['accelerators'] as Array<{ acceleratorType: string; acceleratorCount: string }> | undefined) ?? []) {
          const limit = gpuQuota.get(accelerator.acceleratorType) ?? 0;
          const wanted = gpusInUse(project, accelerator.acceleratorType) + Number(accelerator.acceleratorCount) * (pool.autoscaling?.maxNodeCount ?? pool.initialNodeCount);
          if (wanted > limit) {
            const resource = `NVIDIA_${accelerator.acceleratorType.replace(/^nvidia-(tesla-)?/, '').toUpperCase()}_GPUS`;
            return error(res, 403, 'PERMISSION_DENIED', `Insufficient regional quota to satisfy request: resource "${resource}": request requires '${wanted}.0' and is short '${wanted - limit}.0'. project has a quota of '${limit}.0' with '${limit}.0' available.`);
          }
        }
        cluster.nodePools.set(name, pool);
        return send(res, 200, startOperation(project, location, cluster.name, 'CREATE_NODE_POOL', `clusters/${cluster.name}/nodePools/${name}`, READS_UNTIL_RUNNING, () => {
          pool.status = 'RUNNING';
        }));
      }
      const pool = cluster.nodePools.get(parts[3] ?? '');
      if (pool === undefined) return error(res, 404, 'NOT_FOUND', `Not found: projects/${project}/locations/${location}/clusters/${cluster.name}/nodePools/${parts[3]}.`);
      if (method === 'GET') return send(res, 200, poolJson(cluster, pool));
      if (method === 'DELETE') {
        if (busy(res, project, location, cluster.name)) return;
        pool.status = 'STOPPING';
        return send(res, 200, startOperation(project, location, cluster.name, 'DELETE_NODE_POOL', `clusters/${cluster.name}/nodePools/${pool.name}`, READS_UNTIL_DELETED, () => {
          cluster.nodePools.delete(pool.name);
        }));
      }
    }
    return error(res, 404, 'NOT_FOUND', `unsupported ${method} ${url.pathname}`);
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => error(res, 500, 'INTERNAL', String(e)));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (typeof address !== 'object' || address === null) throw new Error('no address');
  return {
    url: `http://127.0.0.1:${address.port}/`,
    requests,
    gpuQuota,
    inject: (e) => injected.push({ ...e, times: e.times ?? 1 }),
    cluster: (project, location, name) => clusters.get(key(project, location, name)),
    operations,
    slowOperations: (reads) => (slowReads = reads),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
