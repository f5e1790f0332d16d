/** The real GCS emulator (fake-gcs-server, built by scripts/setup.sh) in memory on a free loopback port. */
import { type GcsEmulator, startGcsEmulator as startOnPort } from '../../src/targets/local/gcs-emulator.js';
import { freePort } from '../../src/targets/local/free-port.js';

export type { GcsEmulator };
export { freePort };

export async function startGcsEmulator(): Promise<GcsEmulator> {
  return startOnPort({ port: await freePort() });
}
