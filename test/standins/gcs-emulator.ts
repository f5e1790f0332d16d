/** The real GCS emulator (fake-gcs-server, built by scripts/setup.sh) in memory on a free loopback port. */
import { createServer } from 'node:net';
import { startGcsEmulator as startOnPort, type GcsEmulator } from '../../src/targets/local/gcs-emulator.js';

export type { GcsEmulator };

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

export async function startGcsEmulator(): Promise<GcsEmulator> {
  return startOnPort({ port: await freePort() });
}
