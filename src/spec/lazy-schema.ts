/**
 * A zod schema built on its first use. Workflow code evaluates its modules again for every run
 * (the SDK isolates module state per workflow), so a module of eagerly built schemas costs every
 * workflow run, child and replay the whole construction; built lazily, a run pays only for the
 * schemas it parses with. Every operation is forwarded to the built schema.
 */
export function lazySchema<T extends object>(build: () => T): T {
  let built: T | undefined;
  const real = (): T => {
    if (built === undefined) {
      built = build();
      transient?.push(() => (built = undefined));
    }
    return built;
  };
  return new Proxy({} as T, {
    get: (_, key) => Reflect.get(real(), key),
    has: (_, key) => Reflect.has(real(), key),
    set: (_, key, value) => Reflect.set(real(), key, value),
    ownKeys: () => Reflect.ownKeys(real()),
    getOwnPropertyDescriptor: (_, key) => {
      const descriptor = Reflect.getOwnPropertyDescriptor(real(), key);
      // The proxy's own target has no such property: it may only be reported as configurable.
      return descriptor === undefined ? undefined : { ...descriptor, configurable: true };
    },
    getPrototypeOf: () => Reflect.getPrototypeOf(real()),
  });
}

/** While withTransientSchemas runs: how to forget each schema built meanwhile. */
let transient: Array<() => void> | undefined;

/**
 * Runs fn and then forgets the schemas it built. A workflow validates its input once, at its
 * start; kept, the built schema graph (about 1 MB for a deployment spec) would stay in memory
 * with every cached workflow for as long as it runs.
 */
export function withTransientSchemas<T>(fn: () => T): T {
  const outer = transient;
  transient = [];
  try {
    return fn();
  } finally {
    for (const forget of transient) forget();
    transient = outer;
  }
}
