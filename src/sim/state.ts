/**
 * The simulated world's persisted state: one journal per GCP project under <stateDir>/projects,
 * guarded by an in-process mutex per file. Every call runs as one transaction: load, advance
 * simulated time (settle), apply the call, write back if anything changed. A new process on the
 * same directory continues the world.
 * A journal (<project>.jsonl) holds one whole document per line, the last complete line being the
 * state: a write appends a line (creating and renaming a file per write was most of the store's
 * cost), and the journal is compacted to its last line, atomically (temp file + rename), when it
 * outgrows a bound or its last line was torn by a crash.
 * Sealed values (sealed.ts) stand in a document as {"$sealed": hash}: a journal defines each on a
 * line of its own, once, before the first document that refers to it.
 * The document last read or written is kept, parsed, with the file's identity (inode, size, mtime
 * in ns): a call reads and parses the file again only when another writer changed it. A read
 * (a call that changes nothing itself) writes only what settling changed. Results leave a
 * transaction as copies, so nothing outside it can change the kept document. The file calls are
 * synchronous but the renames: each is one small local operation under the project's lock, and the
 * asynchronous API's cost per call was most of the simulator's at a few hundred concurrent
 * deployments.
 */
import { randomUUID } from 'node:crypto';
import { appendFileSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { rename } from 'node:fs/promises';
import path from 'node:path';
import { ApiError } from '../ports/errors.js';
import type { ClusterRef, HelmRevision, JobStatus, KubeObject, NodePoolCreateRequest, ObjectStore, ResourceStatus } from '../ports/systems.js';
import { withLock } from './mutex.js';
import { type ReferringJson, SEALED_KEY, sealedValue, stringifyReferring } from './sealed.js';
import type { OperationLog } from './oplog.js';

export interface ProjectState {
  project: string;
  /** Keyed by clusterKey(zone, name). */
  clusters: Record<string, ClusterState>;
  /** GKE's long-running operations, oldest first (absent in worlds written before they were kept). */
  operations?: GkeOperationState[];
}

/**
 * A GKE operation (projects.locations.operations): RUNNING until its deadline, then DONE with its
 * effect applied (settleGke). GKE runs one at a time per cluster, node pools included.
 */
export interface GkeOperationState {
  name: string;
  operationType: 'CREATE_CLUSTER' | 'DELETE_CLUSTER' | 'CREATE_NODE_POOL' | 'DELETE_NODE_POOL' | 'UPDATE_CLUSTER';
  status: 'RUNNING' | 'DONE';
  zone: string;
  cluster: string;
  nodePool?: string;
  startedAt: number;
  doneAt: number;
}

export interface ClusterState {
  zone: string;
  name: string;
  machineType: string;
  releaseChannel: string;
  /** Nodes of the default pool (no GPUs). */
  nodes: number;
  /** GKE resourceLabels given at create. */
  labels?: Record<string, string>;
  status: ResourceStatus;
  operation: string;
  createdAt: number;
  readyAt: number;
  nodePools: Record<string, NodePoolState>;
  /** Kubernetes objects keyed by objectKey(). */
  objects: Record<string, KubeRecord>;
  /** Helm releases keyed by "<namespace>/<name>". */
  releases: Record<string, ReleaseState>;
}

export interface NodePoolState extends NodePoolCreateRequest {
  /** GKE's config.resourceLabels given at create. */
  labels?: Record<string, string>;
  status: ResourceStatus;
  operation: string;
  createdAt: number;
  readyAt: number;
}

export interface KubeRecord {
  object: KubeObject;
  createdAt: number;
  /** Speed of the context that created it: scales its simulated durations (driver install). */
  speed: number;
  /** Present for batch/v1 Jobs. */
  job?: JobRun;
}

export interface JobRun {
  component: string;
  /** The deployment that created the Job: its effects are logged under it. */
  deploymentId: string;
  startAt: number;
  doneAt: number;
  phase: JobStatus['phase'];
  message?: string;
  logs: string;
}

export interface ReleaseState {
  name: string;
  namespace: string;
  revisions: RevisionRecord[];
}

export interface RevisionRecord extends HelmRevision {
  chart: string;
  values: Record<string, unknown>;
  /** Slowdown the served models show (from the context that deployed this revision). */
  regression: number;
  deploymentId: string;
  createdAt: number;
  /** When the rollout finishes (helm --wait returns). */
  readyAt: number;
  /** Why Triton did not become ready (a failed revision). */
  failure?: string;
}

/** Advances time-driven state (statuses, Job completions, rollouts) to `now`; true if it changed anything. */
export type Settle = (project: string, state: ProjectState, now: number) => Promise<boolean>;

/** Documents kept at most (the most recently used): a world of many projects stays bounded. */
const KEPT_DOCUMENTS = 256;

/** A journal is compacted to its last document once it is larger (a load reads it whole). */
const JOURNAL_BYTES_AT_MOST = 1 << 20;

/** The document as this store last read or wrote it, and what the file was then. */
interface KnownDocument {
  text: string;
  state: ProjectState;
  /** The file's identity; null when there is no journal (yet). */
  identity: string | null;
  /** The journal's size, if the next write may append to it (it ends with a complete line). */
  appendableAt?: number;
  /** The sealed values the journal defines, by hash. */
  defined: Set<string>;
}

export class ProjectStore {
  private readonly projectsDir: string;
  private readonly tmpDir: string;
  private readonly known = new Map<string, KnownDocument>();

  constructor(
    stateDir: string,
    private readonly clock: () => number,
    private readonly settle: Settle,
  ) {
    this.projectsDir = path.join(stateDir, 'projects');
    this.tmpDir = path.join(stateDir, 'tmp');
  }

  /** Runs fn on the project's settled state under the project's lock; persists what fn changed. */
  transact<T>(project: string, fn: (state: ProjectState, now: number) => T | Promise<T>): Promise<T> {
    return this.run(project, fn, true);
  }

  /** As transact, for a call that only reads the state (fn must change nothing): only what settling changed is written. */
  read<T>(project: string, fn: (state: ProjectState, now: number) => T): Promise<T> {
    return this.run(project, fn, false);
  }

  private async run<T>(project: string, fn: (state: ProjectState, now: number) => T | Promise<T>, changes: boolean): Promise<T> {
    const file = this.file(project);
    return withLock(file, async () => {
      const loaded = this.load(project, file);
      const { state } = loaded;
      const now = this.clock();
      // Until settle says otherwise (it may also throw half-way), the state may have changed.
      let settled = true;
      try {
        settled = await this.settle(project, state, now);
        return structuredClone(await fn(state, now));
      } finally {
        // Also on error: what settle advanced (a completed Job's effect) must stay recorded.
        if (changes || settled) {
          const after = stringifyReferring(state);
          if (after.text !== loaded.text) await this.write(file, after, state, loaded);
        }
      }
    });
  }

  /**
   * The persisted state as it is, without advancing time or writing anything, so inspecting a
   * world (tests, another process) never plays a Job's effect itself.
   */
  async peek(project: string): Promise<ProjectState> {
    const file = this.file(project);
    return withLock(file, async () => structuredClone(this.load(project, file).state));
  }

  private file(project: string): string {
    return path.join(this.projectsDir, `${encodeURIComponent(project)}.jsonl`);
  }

  /** The document to work on: the kept one while the file is unchanged (a transaction may change it). */
  private load(project: string, file: string): KnownDocument {
    const identity = identityOf(file);
    const known = this.known.get(file);
    if (known !== undefined && known.identity === identity) {
      this.keep(file, known);
      return known;
    }
    this.known.delete(file);
    if (identity === null) {
      const text = readIfExists(legacyFile(file)) ?? JSON.stringify({ project, clusters: {} });
      return { text, state: JSON.parse(text) as ProjectState, identity, defined: new Set() };
    }
    const journal = readFileSync(file, 'utf8');
    // A line torn by a crash is not part of the state; the next write compacts it away.
    const complete = journal.endsWith('\n');
    const lines = journal.split('\n').slice(0, -1);
    const definitions = new Map<string, string>();
    let text = JSON.stringify({ project, clusters: {} });
    for (const line of lines) {
      const definition = parseDefinition(line);
      if (definition === undefined) text = line;
      else definitions.set(definition.hash, definition.json);
    }
    const state = JSON.parse(text, (_key, value: unknown) => {
      const hash = sealedReference(value);
      if (hash === undefined) return value;
      return sealedValue(hash, () => {
        const json = definitions.get(hash);
        if (json === undefined) throw new Error(`the simulated world's state is damaged: ${file} refers to a value it does not define (${hash})`);
        return json;
      });
    }) as ProjectState;
    const document: KnownDocument = { text, state, identity, defined: new Set(definitions.keys()), ...(complete ? { appendableAt: Buffer.byteLength(journal) } : {}) };
    // Kept only if the file did not change while it was read.
    if (identityOf(file) === identity) this.keep(file, document);
    return document;
  }

  /** Keeps a document as the most recently used, dropping the least recently used beyond the bound. */
  private keep(file: string, document: KnownDocument): void {
    this.known.delete(file);
    this.known.set(file, document);
    if (this.known.size > KEPT_DOCUMENTS) this.known.delete(this.known.keys().next().value!);
  }

  /**
   * Appends the document to the journal, after the definitions of the sealed values it is the
   * first to refer to, in one write; or compacts the journal to the document and what it refers to.
   */
  private async write(file: string, document: ReferringJson, state: ProjectState, before: KnownDocument): Promise<void> {
    // Until the write lands the kept document (changed in place) is not what the file holds.
    this.known.delete(file);
    const defined = new Set(before.defined);
    let lines = '';
    for (const [hash, value] of document.sealed) {
      if (defined.has(hash)) continue;
      lines += definitionLine(hash, value);
      defined.add(hash);
    }
    lines += `${document.text}\n`;
    const size = Buffer.byteLength(lines);
    if (before.appendableAt !== undefined && before.appendableAt + size <= JOURNAL_BYTES_AT_MOST) {
      appendFileSync(file, lines);
      this.keep(file, { text: document.text, state, identity: identityOf(file), appendableAt: before.appendableAt + size, defined });
      return;
    }
    let compacted = '';
    for (const [hash, value] of document.sealed) compacted += definitionLine(hash, value);
    compacted += `${document.text}\n`;
    const tmp = path.join(this.tmpDir, randomUUID());
    try {
      writeFileSync(tmp, compacted);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      for (const dir of [this.projectsDir, this.tmpDir]) mkdirSync(dir, { recursive: true });
      writeFileSync(tmp, compacted);
    }
    const identity = identityOf(tmp);
    // Waits on the file system's journal (behind the Temporal server's syncs, at load):
    // asynchronous, so other projects' calls go on meanwhile.
    await rename(tmp, file);
    rmSync(legacyFile(file), { force: true });
    this.keep(file, { text: document.text, state, identity, appendableAt: Buffer.byteLength(compacted), defined: new Set(document.sealed.keys()) });
  }
}

/** A journal line defining a sealed value: {"$sealed":"<sha256 hex>","value":<its JSON>}. */
const DEFINITION_PREFIX = `{"${SEALED_KEY}":"`;
const DEFINITION_VALUE_AT = DEFINITION_PREFIX.length + 64 + '","value":'.length;

function definitionLine(hash: string, value: object): string {
  return `${DEFINITION_PREFIX}${hash}","value":${JSON.stringify(value)}}\n`;
}

function parseDefinition(line: string): { hash: string; json: string } | undefined {
  if (!line.startsWith(DEFINITION_PREFIX)) return undefined;
  return { hash: line.slice(DEFINITION_PREFIX.length, DEFINITION_PREFIX.length + 64), json: line.slice(DEFINITION_VALUE_AT, -1) };
}

/** The hash a document's value refers to, if it is a sealed reference. */
function sealedReference(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const keys = Object.keys(value);
  const hash = (value as Record<string, unknown>)[SEALED_KEY];
  return keys.length === 1 && typeof hash === 'string' ? hash : undefined;
}

/** The one document an earlier version kept per project; the first write moves it into the journal. */
function legacyFile(journal: string): string {
  return journal.replace(/\.jsonl$/, '.json');
}

function readIfExists(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/** A file's inode, size and modification time in ns; null if it does not exist. */
function identityOf(file: string): string | null {
  const s = statSync(file, { bigint: true, throwIfNoEntry: false });
  return s === undefined ? null : `${s.ino}:${s.size}:${s.mtimeNs}`;
}

/** What the simulated systems share: the project state, the bucket files and the operation log. */
export interface SimServices {
  store: ProjectStore;
  objects: ObjectStore;
  log: OperationLog;
}

export function clusterKey(zone: string, name: string): string {
  return `${zone}/${name}`;
}

/** Resource names in the operation log start with the cluster's GKE resource name. */
export function clusterResource(ref: ClusterRef): string {
  return `projects/${ref.project}/zones/${ref.zone}/clusters/${ref.cluster}`;
}

/** The cluster behind a kube/helm client: its API server answers only once it is RUNNING. */
export function runningCluster(state: ProjectState, ref: ClusterRef): ClusterState {
  const cluster = state.clusters[clusterKey(ref.zone, ref.cluster)];
  if (cluster === undefined) {
    throw new ApiError('NOT_FOUND', `cluster ${ref.cluster} not found in ${ref.project}/${ref.zone}`);
  }
  if (cluster.status !== 'RUNNING') {
    throw new ApiError('UNAVAILABLE', `the API server of cluster ${ref.cluster} is not reachable yet (${cluster.status})`);
  }
  return cluster;
}
