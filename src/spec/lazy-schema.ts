/**
 * A zod schema built on its first use, once per thread. Workflow code evaluates its modules again
 * for every run (the SDK isolates module state per workflow), except the modules a worker preloads
 * and shares; this one is (src/temporal/workflow-bundle.ts). So a schema module evaluated for a
 * run only makes proxies, and the schemas behind them are built by the first run that parses with
 * them and kept here, by name, for every later run, child and replay on the thread: built per run,
 * a deployment spec's schema graph was about 1 MB of garbage each, and the workflow thread's heap
 * grew by some 200 MiB when 200 pipelines started at once. A schema holds no state of a run: zod
 * parses with it as often as it is asked. Every operation is forwarded to the built schema.
 */
const built = new Map<string, object>();

/** The schema `build` makes; `name` (unique, the exported constant's) is what it is kept under. */
export function lazySchema<T extends object>(name: string, build: () => T): T {
  const real = (): T => {
    let schema = built.get(name) as T | undefined;
    if (schema === undefined) {
      schema = build();
      built.set(name, schema);
    }
    return schema;
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
