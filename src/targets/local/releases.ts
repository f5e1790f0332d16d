/**
 * The local target's regression drill: a release revision deployed with simulation.regression
 * serves that much slower (the T4 numbers come from the simulator on this target). The slowdown
 * of each Helm revision is kept beside the cluster; a rollback's new revision inherits the
 * slowdown of the revision it restored. Helm itself is real and unchanged.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { HelmApi } from '../../activities/ports.js';
import { currentSimContext } from '../../sim/context.js';
import { withLock } from '../../sim/mutex.js';

type Slowdowns = Record<string, Record<string, number>>;

export interface ReleaseSlowdowns {
  of(namespace: string, release: string, revision: number): Promise<number>;
  record(namespace: string, release: string, revision: number, slowdown: number): Promise<void>;
}

export function releaseSlowdowns(file: string): ReleaseSlowdowns {
  const load = async (): Promise<Slowdowns> => {
    try {
      return JSON.parse(await readFile(file, 'utf8')) as Slowdowns;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {};
      throw error;
    }
  };
  return {
    async of(namespace, release, revision) {
      return (await load())[`${namespace}/${release}`]?.[String(revision)] ?? 0;
    },
    async record(namespace, release, revision, slowdown) {
      await withLock(file, async () => {
        const all = await load();
        (all[`${namespace}/${release}`] ??= {})[String(revision)] = slowdown;
        await mkdir(dirname(file), { recursive: true });
        await writeFile(`${file}.tmp`, JSON.stringify(all, null, 2));
        await rename(`${file}.tmp`, file);
      });
    },
  };
}

/** Real Helm, recording each new revision's slowdown (from the calling deployment's simulation settings). */
export function recordingSlowdowns(helm: HelmApi, slowdowns: ReleaseSlowdowns): HelmApi {
  return {
    ...helm,
    async upgradeInstall(request, signal) {
      const result = await helm.upgradeInstall(request, signal);
      await slowdowns.record(request.namespace, request.release, result.revision, currentSimContext().regression);
      return result;
    },
    async rollback(release, namespace, revision, timeoutSeconds, signal) {
      await helm.rollback(release, namespace, revision, timeoutSeconds, signal);
      const latest = (await helm.history(release, namespace)).at(-1);
      if (latest !== undefined) await slowdowns.record(namespace, release, latest.revision, await slowdowns.of(namespace, release, revision));
    },
  };
}
