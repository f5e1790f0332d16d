/**
 * Values the simulated world stores and never changes again (applied manifests, finished Jobs):
 * deep-frozen, named by the hash of their JSON, and shared, so identical content is one instance in
 * memory. A project's journal defines each once and its documents refer to it (state.ts): a
 * transaction then serialises and writes only what can still change (a pipeline's project document
 * is 8 KB instead of 93 KB, most of which was manifests and Job logs).
 */
import { createHash } from 'node:crypto';

const hashes = new WeakMap<object, string>();
/** The most recently sealed or loaded values by hash (a bounded cache: a miss costs a parse). */
const interned = new Map<string, object>();
const INTERNED_AT_MOST = 4096;

/** The value, frozen and sealed; an identical value sealed before is returned in its place. */
export function sealed<T extends object>(value: T): T {
  if (hashes.has(value)) return value;
  const hash = createHash('sha256').update(JSON.stringify(value)).digest('hex');
  return adopt(hash, value);
}

/** A copy of the value whose JSON this is, frozen and sealed, the text hashed as it is (no second serialisation). */
export function sealedJson<T extends object>(json: string): T {
  const hash = createHash('sha256').update(json).digest('hex');
  return adopt(hash, (interned.get(hash) ?? JSON.parse(json)) as T);
}

/** The key of a reference to a sealed value in stored JSON: {"$sealed": hash}. */
export const SEALED_KEY = '$sealed';

/** While stringifyReferring runs: the sealed values met, by hash. */
let referred: Map<string, object> | undefined;

/** A sealed value's toJSON: a reference while stringifyReferring runs, else the value itself. */
function asReference(this: object): object {
  const hash = hashes.get(this);
  if (referred === undefined || hash === undefined) return this;
  referred.set(hash, this);
  return { [SEALED_KEY]: hash };
}

/** The JSON of a value, each sealed value in it a reference, and the sealed values it refers to by hash. */
export interface ReferringJson {
  text: string;
  sealed: Map<string, object>;
}

export function stringifyReferring(value: unknown): ReferringJson {
  const sealed = new Map<string, object>();
  referred = sealed;
  try {
    return { text: JSON.stringify(value), sealed };
  } finally {
    referred = undefined;
  }
}

/** The sealed value of this hash, read by `read` (its stored JSON) unless it is in memory. */
export function sealedValue(hash: string, read: () => string): object {
  return interned.get(hash) ?? adopt(hash, JSON.parse(read()) as object);
}

function adopt<T extends object>(hash: string, value: T): T {
  const known = interned.get(hash);
  interned.delete(hash);
  if (known !== undefined) {
    interned.set(hash, known);
    return known as T;
  }
  // Without a replacer, JSON.stringify keeps to its fast path: a sealed value turns itself into a reference.
  Object.defineProperty(value, 'toJSON', { value: asReference });
  deepFreeze(value);
  hashes.set(value, hash);
  interned.set(hash, value);
  if (interned.size > INTERNED_AT_MOST) interned.delete(interned.keys().next().value!);
  return value;
}

/** Freezes a value and everything it holds. */
export function deepFreeze(value: object): void {
  for (const child of Object.values(value)) {
    if (typeof child === 'object' && child !== null && !Object.isFrozen(child)) deepFreeze(child as object);
  }
  Object.freeze(value);
}
