/**
 * Where things live in the bucket. One place, so activities, the simulator and the docs agree.
 * Model repository versions are immutable prefixes; a version's manifest sits outside the
 * repository (Triton scans the repository directory) and is written last.
 */
export function joinUri(...parts: string[]): string {
  return parts.map((p, i) => (i === 0 ? p.replace(/\/+$/, '') : p.replace(/^\/+|\/+$/g, ''))).join('/');
}

export function repositoryVersionUri(bucket: string, prefix: string, version: string): string {
  return joinUri(bucket, prefix, 'versions', version);
}

export function repositoryManifestUri(bucket: string, prefix: string, version: string): string {
  return joinUri(bucket, prefix, 'manifests', `${version}.json`);
}

export function engineUris(bucket: string, model: string, engineKey: string): { plan: string; record: string } {
  const dir = joinUri(bucket, 'engines', model, engineKey);
  return { plan: `${dir}/model.plan`, record: `${dir}/build-record.json` };
}

export function baselineUri(bucket: string, namespace: string, release: string, revision: number): string {
  return joinUri(bucket, 'baselines', namespace, release, `revision-${revision}.json`);
}

export function reportUri(bucket: string, reportName: string): string {
  return joinUri(bucket, 'reports', reportName);
}

export interface RepositoryManifest {
  version: string;
  deploymentId: string;
  models: Array<{ name: string; files: Array<{ path: string; md5: string; size: number }> }>;
}

/** A release record's generations: one immutable object per change, the highest is current. */
export function releaseRecordPrefix(bucket: string, key: { project: string; cluster: string; namespace: string; release: string }): string {
  return `${joinUri(bucket, 'releases', key.project, key.cluster, key.namespace, key.release)}/`;
}

export function releaseRecordUri(bucket: string, key: Parameters<typeof releaseRecordPrefix>[1], generation: number): string {
  return `${releaseRecordPrefix(bucket, key)}generation-${String(generation).padStart(8, '0')}.json`;
}
