/**
 * The gke target's per-cluster credentials: fetched once (`gcloud container clusters get-credentials`),
 * fetched again after this worker creates or deletes the cluster, and after a call suggests they
 * are stale (the endpoint is gone). gcloud is played by a recording Exec that writes the kubeconfig
 * as get-credentials does; the Kubernetes API is a real HTTP server the real client talks to.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { ApiError } from '../../../src/ports/errors.js';
import type { Exec } from '../../../src/clients/exec.js';
import { createGkeClients, suggestsStaleCredentials } from '../../../src/targets/gke.js';
import { tempDir } from '../../helpers/temp-dir.js';

const ref = { project: 'p', zone: 'us-central1-a', cluster: 'c' };

let api: Server;
let apiUrl: string;
let goneUrl: string;

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

before(async () => {
  api = createServer((request, response) => {
    response.setHeader('content-type', 'application/json');
    if (request.url?.startsWith('/api/v1/nodes')) response.end(JSON.stringify({ kind: 'NodeList', apiVersion: 'v1', metadata: {}, items: [] }));
    else response.writeHead(404).end(JSON.stringify({ kind: 'Status', code: 404, message: 'not found' }));
  });
  apiUrl = await listen(api);
  // An endpoint that existed and is gone: nothing listens there any more.
  const gone = createServer();
  goneUrl = await listen(gone);
  await new Promise((resolve) => gone.close(resolve));
});

after(() => api.close());

/** gcloud as the target calls it: get-credentials writes the next endpoint's kubeconfig; deletes succeed. */
function recordingGcloud(endpoints: string[]) {
  const calls: string[] = [];
  const exec: Exec = async (_command, args, options) => {
    const call = args.slice(0, 3).join(' ');
    calls.push(call);
    if (call === 'container clusters get-credentials') {
      const server = endpoints.shift() ?? apiUrl;
      const kubeconfig = [
        'apiVersion: v1', 'kind: Config', 'current-context: gke',
        'clusters: [{name: gke, cluster: {server: "' + server + '", insecure-skip-tls-verify: true}}]',
        'users: [{name: gke, user: {token: t}}]',
        'contexts: [{name: gke, context: {cluster: gke, user: gke}}]',
      ].join('\n');
      await writeFile(options!.env!['KUBECONFIG']!, kubeconfig);
    }
    return { stdout: '', stderr: '' };
  };
  return { exec, calls: () => calls.filter((c) => c.endsWith('get-credentials')).length };
}

async function clients(endpoints: string[]) {
  const gcloud = recordingGcloud(endpoints);
  const stateDir = await tempDir('gke-target');
  return { target: createGkeClients({ stateDir, exec: gcloud.exec }), fetches: gcloud.calls };
}

describe('gke target credentials', () => {
  it('are fetched once per cluster while they work', async () => {
    const { target, fetches } = await clients([apiUrl]);
    await target.kube(ref).listNodes({});
    await target.kube(ref).listNodes({});
    await target.helm(ref).history('r', 'n').catch(() => undefined);
    assert.equal(fetches(), 1);
  });

  it('are fetched again once a call finds the cached endpoint gone (the cluster was created again)', async () => {
    const { target, fetches } = await clients([goneUrl, apiUrl]);
    await assert.rejects(target.kube(ref).listNodes({}), (error: unknown) => suggestsStaleCredentials(error));
    // The activity's retry: new credentials, the new endpoint.
    assert.deepEqual(await target.kube(ref).listNodes({}), []);
    assert.equal(fetches(), 2);
  });

  it('are fetched again after this worker deletes the cluster', async () => {
    const { target, fetches } = await clients([apiUrl, apiUrl]);
    await target.kube(ref).listNodes({});
    await target.gke.deleteCluster(ref);
    await target.kube(ref).listNodes({});
    assert.equal(fetches(), 2);
  });

  it('are kept on errors that say nothing about them (forbidden, not found, invalid)', () => {
    assert.equal(suggestsStaleCredentials(new ApiError('PERMISSION_DENIED', 'list nodes: forbidden')), false);
    assert.equal(suggestsStaleCredentials(new ApiError('UNAVAILABLE', 'list nodes: etcdserver: request timed out')), false);
    assert.equal(suggestsStaleCredentials(new ApiError('UNAVAILABLE', 'list nodes: request to https://34.1.2.3/api/v1/nodes failed, reason: connect ECONNREFUSED 34.1.2.3:443')), true);
    assert.equal(suggestsStaleCredentials(new ApiError('UNAVAILABLE', 'helm history', 'Error: Kubernetes cluster unreachable: Get "https://34.1.2.3/version": tls: failed to verify certificate: x509: certificate signed by unknown authority')), true);
  });
});
