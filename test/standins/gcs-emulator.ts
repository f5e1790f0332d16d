/** The real GCS emulator (fake-gcs-server, built by scripts/setup.sh) on a free loopback port. */
import { createServer } from 'node:net';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { createStorage } from '../../src/clients/gcs.js';
import { PROJECT_ROOT } from '../helpers/specs.js';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address !== null ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

export interface GcsEmulator {
  url: string;
  storage: ReturnType<typeof createStorage>;
  stop(): Promise<void>;
}

export async function startGcsEmulator(): Promise<GcsEmulator> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child: ResultPromise = execa(
    join(PROJECT_ROOT, '.tools/bin/fake-gcs-server'),
    ['-scheme', 'http', '-host', '127.0.0.1', '-port', String(port), '-backend', 'memory', '-external-url', url, '-public-host', `127.0.0.1:${port}`, '-log-level', 'error'],
    { reject: false },
  );
  for (let i = 0; i < 100; i++) {
    const up = await fetch(`${url}/storage/v1/b`).then(
      (r) => r.ok,
      () => false,
    );
    if (up) break;
    if (child.exitCode !== null) throw new Error(`fake-gcs-server exited with ${child.exitCode}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const storage = createStorage({ apiEndpoint: url, projectId: 'test-project' });
  return {
    url,
    storage,
    async stop() {
      child.kill('SIGTERM');
      await child;
    },
  };
}
