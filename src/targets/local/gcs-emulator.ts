/**
 * The local target's Cloud Storage: fake-gcs-server (built by scripts/setup.sh) on loopback,
 * objects in memory or under a directory. The pipeline talks to it through @google-cloud/storage.
 */
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { PROJECT_ROOT } from '../../assets.js';
import { createStorage } from '../../clients/gcs.js';

export interface GcsEmulator {
  url: string;
  storage: ReturnType<typeof createStorage>;
  stop(): Promise<void>;
}

export function emulatorStorage(url: string): ReturnType<typeof createStorage> {
  return createStorage({ apiEndpoint: url, projectId: 'local' });
}

export async function gcsEmulatorAnswers(url: string): Promise<boolean> {
  return fetch(`${url}/storage/v1/b`).then(
    (r) => r.ok,
    () => false,
  );
}

/** Starts fake-gcs-server on the port; with dataDir objects persist there, otherwise in memory. */
export async function startGcsEmulator({ port, dataDir }: { port: number; dataDir?: string }): Promise<GcsEmulator> {
  const url = `http://127.0.0.1:${port}`;
  const backend = dataDir === undefined ? ['-backend', 'memory'] : ['-backend', 'filesystem', '-filesystem-root', dataDir];
  const child: ResultPromise = execa(
    join(PROJECT_ROOT, '.tools/bin/fake-gcs-server'),
    ['-scheme', 'http', '-host', '127.0.0.1', '-port', String(port), ...backend, '-external-url', url, '-public-host', `127.0.0.1:${port}`, '-log-level', 'error'],
    { reject: false, cleanup: true },
  );
  for (let i = 0; i < 100 && !(await gcsEmulatorAnswers(url)); i++) {
    if (child.exitCode !== null) throw new Error(`fake-gcs-server exited with code ${child.exitCode}: ${String((await child).stderr).slice(-500)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    storage: emulatorStorage(url),
    async stop() {
      child.kill('SIGTERM');
      await child;
    },
  };
}
