/**
 * What a GCP project needs before a first `gke` run, as the gcloud commands that provide it: the
 * APIs, the IAM roles of each identity the pipeline's workloads run as, and the GPU quota the node
 * pool can grow to. Workloads get their Google identity from Workload Identity Federation for GKE
 * (the cluster is created with a workload pool, the pool with GKE_METADATA): roles are granted to
 * the Kubernetes ServiceAccounts' principals directly, as GKE documents, so no Google service
 * account keys or annotations are needed. Pure.
 */
import type { DeploymentSpec } from '../spec/schema.js';
import type { AcceleratorType } from '../spec/accelerators.js';
import { ENGINE_BUILDER_REPOSITORY, JOB_NAMESPACE } from './jobs.js';

/** The in-cluster worker's ServiceAccount (deploy/charts/pipeline-worker). */
const WORKER_KSA = { namespace: 'triton-pipeline-system', serviceAccount: 'triton-pipeline-worker' };

/** The metrics adapter's ServiceAccount (deploy/manifests/custom-metrics-adapter.yaml). */
const METRICS_ADAPTER = { namespace: 'custom-metrics', serviceAccount: 'custom-metrics-stackdriver-adapter' };

/** Compute Engine's quota metric of each accelerator type the spec allows. */
export const GPU_QUOTA_METRIC: Readonly<Record<AcceleratorType, string>> = {
  'nvidia-tesla-t4': 'NVIDIA_T4_GPUS',
  'nvidia-l4': 'NVIDIA_L4_GPUS',
  'nvidia-tesla-a100': 'NVIDIA_A100_GPUS',
  'nvidia-tesla-v100': 'NVIDIA_V100_GPUS',
  'nvidia-h200-141gb': 'NVIDIA_H200_GPUS',
};

export interface IdentityGrant {
  /** Who: the worker, Triton's pods, the engine builds, the metrics adapter, the nodes. */
  identity: string;
  /** The principal roles are granted to. */
  member: string;
  roles: Array<{ role: string; on: string; why: string }>;
}

export interface GpuQuota {
  metric: string;
  /** A region, or "global" (GPUS_ALL_REGIONS). */
  scope: string;
  needed: number;
}

export interface ProjectPrerequisites {
  apis: string[];
  grants: IdentityGrant[];
  quotas: GpuQuota[];
  /** The commands, in order: project number, APIs, grants, then quota checks. */
  commands: string[];
}

/** The worker's Google service account, as the runbook creates it. */
export function workerServiceAccount(project: string): string {
  return `triton-pipeline-worker@${project}.iam.gserviceaccount.com`;
}

function workloadPool(project: string): string {
  return `principal://iam.googleapis.com/projects/$PROJECT_NUMBER/locations/global/workloadIdentityPools/${project}.svc.id.goog`;
}

function kubernetesPrincipal(project: string, namespace: string, serviceAccount: string): string {
  return `${workloadPool(project)}/subject/ns/${namespace}/sa/${serviceAccount}`;
}

function grantCommand(project: string, member: string, { role, on }: { role: string; on: string }): string {
  if (on.startsWith('gs://')) return `gcloud storage buckets add-iam-policy-binding ${on} --member="${member}" --role=${role}`;
  if (on.startsWith('artifacts:')) {
    const [location, repository] = on.slice('artifacts:'.length).split('/');
    return `gcloud artifacts repositories add-iam-policy-binding ${repository} --location=${location} --project=${project} --member="${member}" --role=${role}`;
  }
  if (on.startsWith('serviceAccount:')) {
    return `gcloud iam service-accounts add-iam-policy-binding ${on.slice('serviceAccount:'.length)} --project=${project} --member="${member}" --role=${role}`;
  }
  return `gcloud projects add-iam-policy-binding ${project} --member="${member}" --role=${role} --condition=None`;
}

export function projectPrerequisites(spec: DeploymentSpec): ProjectPrerequisites {
  const { project, bucket, nodePool, release } = spec;
  const nodeServiceAccount = '$PROJECT_NUMBER-compute@developer.gserviceaccount.com';
  const worker = workerServiceAccount(project);
  const grants: IdentityGrant[] = [
    {
      identity: 'the pipeline worker',
      member: `serviceAccount:${worker}`,
      roles: [
        { role: 'roles/container.admin', on: project, why: 'create and delete the cluster and node pool; as cluster admin, install the driver, Jobs, Helm releases, the adapter and the HPA' },
        { role: 'roles/storage.objectUser', on: bucket, why: 'publish repository versions, release records and reports' },
        { role: 'roles/iam.serviceAccountUser', on: `serviceAccount:${nodeServiceAccount}`, why: 'create node pools that run as the nodes\' service account' },
      ],
    },
    {
      identity: `the in-cluster worker (ServiceAccount ${WORKER_KSA.namespace}/${WORKER_KSA.serviceAccount}, deploy/charts/pipeline-worker)`,
      member: `serviceAccount:${project}.svc.id.goog[${WORKER_KSA.namespace}/${WORKER_KSA.serviceAccount}]`,
      roles: [{ role: 'roles/iam.workloadIdentityUser', on: `serviceAccount:${worker}`, why: 'act as the worker\'s Google service account (gcloud, Cloud Storage, the clusters) through Workload Identity' }],
    },
    {
      // The release, its preview and the re-optimization's canary each run as their own ServiceAccount.
      identity: `Triton's pods (the ServiceAccounts of namespace ${release.namespace}: ${release.name}, its preview and canary)`,
      member: `${workloadPool(project).replace('principal://', 'principalSet://')}/namespace/${release.namespace}`,
      roles: [{ role: 'roles/storage.objectViewer', on: bucket, why: 'read the model repository' }],
    },
    {
      identity: `the engine build Jobs (ServiceAccount ${JOB_NAMESPACE}/default)`,
      member: kubernetesPrincipal(project, JOB_NAMESPACE, 'default'),
      roles: [{ role: 'roles/storage.objectUser', on: bucket, why: 'read the ONNX sources, write each engine and its build record' }],
    },
    ...(spec.autoscaling.enabled && spec.autoscaling.installMetricsAdapter
      ? [
          {
            identity: `the custom metrics adapter (ServiceAccount ${METRICS_ADAPTER.namespace}/${METRICS_ADAPTER.serviceAccount})`,
            member: kubernetesPrincipal(project, METRICS_ADAPTER.namespace, METRICS_ADAPTER.serviceAccount),
            roles: [{ role: 'roles/monitoring.viewer', on: project, why: 'read the HPA\'s metric from Cloud Monitoring' }],
          },
        ]
      : []),
    {
      identity: 'the nodes (Compute Engine default service account)',
      member: `serviceAccount:${nodeServiceAccount}`,
      roles: [
        { role: 'roles/container.defaultNodeServiceAccount', on: project, why: 'write logs and the Managed Prometheus metrics the HPA reads' },
        { role: 'roles/artifactregistry.reader', on: `artifacts:${spec.region}/${ENGINE_BUILDER_REPOSITORY}`, why: 'pull the engine builder and worker images' },
      ],
    },
  ];
  const needed = nodePool.acceleratorCount * nodePool.maxNodes;
  const metric = GPU_QUOTA_METRIC[nodePool.acceleratorType];
  const quotas: GpuQuota[] = [
    { metric, scope: spec.region, needed },
    { metric: 'GPUS_ALL_REGIONS', scope: 'global', needed },
  ];
  const apis = ['container.googleapis.com', 'compute.googleapis.com', 'storage.googleapis.com', 'monitoring.googleapis.com', 'artifactregistry.googleapis.com'];
  const commands = [
    `PROJECT_NUMBER=$(gcloud projects describe ${project} --format='value(projectNumber)')`,
    `gcloud services enable ${apis.join(' ')} --project=${project}`,
    `gcloud iam service-accounts create triton-pipeline-worker --project=${project} --display-name="Triton pipeline worker"`,
    `gcloud artifacts repositories create ${ENGINE_BUILDER_REPOSITORY} --repository-format=docker --location=${spec.region} --project=${project}`,
    ...grants.flatMap((grant) => grant.roles.map((role) => grantCommand(project, grant.member, role))),
    `gcloud compute regions describe ${spec.region} --project=${project} --flatten=quotas --filter="quotas.metric=${metric}" --format="value(quotas.limit,quotas.usage)"`,
    `gcloud compute project-info describe --project=${project} --flatten=quotas --filter="quotas.metric=GPUS_ALL_REGIONS" --format="value(quotas.limit,quotas.usage)"`,
  ];
  return { apis, grants, quotas, commands };
}

/** The prerequisites as the `plan` command prints them. */
export function describePrerequisites(prerequisites: ProjectPrerequisites): string {
  const lines = ['project prerequisites (run once per project; nothing here is applied by the plan):', `  APIs: ${prerequisites.apis.join(', ')}`, '  IAM:'];
  for (const grant of prerequisites.grants) {
    lines.push(`    ${grant.identity}:`);
    for (const role of grant.roles) lines.push(`      - ${role.role} on ${role.on}: ${role.why}`);
  }
  lines.push('  GPU quota (limit - usage must cover the node pool at its maximum size):');
  for (const quota of prerequisites.quotas) lines.push(`    - ${quota.metric} (${quota.scope}) >= ${quota.needed}`);
  lines.push('  commands:', ...prerequisites.commands.map((command) => `    ${command}`));
  return lines.join('\n');
}
