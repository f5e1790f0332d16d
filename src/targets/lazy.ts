/** An object whose methods wait for the real one, built on first use (a cluster's credentials exist only once it runs). */
export function lazy<T extends object>(build: () => Promise<T>): T {
  let pending: Promise<T> | undefined;
  const load = () => {
    pending ??= build().catch((error: unknown) => {
      pending = undefined;
      throw error;
    });
    return pending;
  };
  return new Proxy({} as T, {
    get: (_, method) => async (...args: unknown[]) => {
      const target = (await load()) as Record<PropertyKey, (...a: unknown[]) => unknown>;
      return target[method]!(...args);
    },
  });
}
