import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { planDeployment } from '../../../src/plan/deployment-plan.js';
import { describePrerequisites, projectPrerequisites } from '../../../src/plan/prerequisites.js';
import { loadDriverInstaller, loadMetricsAdapter } from '../../../src/assets.js';
import type { DeploymentSpec } from '../../../src/spec/schema.js';
import { validateSpec } from '../../../src/spec/validate.js';
import { exampleSpec } from '../../helpers/specs.js';

function example(name: string): DeploymentSpec {
  const result = validateSpec(exampleSpec(name));
  assert.ok(result.ok);
  return result.spec;
}

const pool = 'iam.googleapis.com/projects/$PROJECT_NUMBER/locations/global/workloadIdentityPools/my-gcp-project.svc.id.goog';

describe('project prerequisites (pure)', () => {
  it('grants each workload identity only what it uses, on the bucket or the project', () => {
    const spec = example('gke');
    const { grants, apis } = projectPrerequisites(spec);
    assert.deepEqual(apis, ['container.googleapis.com', 'compute.googleapis.com', 'storage.googleapis.com', 'monitoring.googleapis.com', 'artifactregistry.googleapis.com']);
    const rolesOf = (member: string) => grants.find((g) => g.member === member)?.roles.map((r) => `${r.role} on ${r.on}`);
    assert.deepEqual(rolesOf('serviceAccount:triton-pipeline-worker@my-gcp-project.iam.gserviceaccount.com'), [
      'roles/container.admin on my-gcp-project',
      'roles/storage.objectUser on gs://my-triton-models',
      'roles/iam.serviceAccountUser on serviceAccount:$PROJECT_NUMBER-compute@developer.gserviceaccount.com',
    ]);
    // The release, its preview and the canary read the repository: every ServiceAccount of the namespace.
    assert.deepEqual(rolesOf(`principalSet://${pool}/namespace/inference`), ['roles/storage.objectViewer on gs://my-triton-models']);
    assert.deepEqual(rolesOf(`principal://${pool}/subject/ns/triton-pipeline/sa/default`), ['roles/storage.objectUser on gs://my-triton-models']);
    assert.deepEqual(rolesOf(`principal://${pool}/subject/ns/custom-metrics/sa/custom-metrics-stackdriver-adapter`), ['roles/monitoring.viewer on my-gcp-project']);
    const withoutAdapter = projectPrerequisites({ ...spec, autoscaling: { ...spec.autoscaling, installMetricsAdapter: false } });
    assert.ok(!withoutAdapter.grants.some((g) => g.member.includes('custom-metrics')), 'no adapter, no grant for it');
  });

  it('asks for the GPU quota the node pool can grow to, in its region and across regions', () => {
    const spec = example('gke');
    const grown = { ...spec, nodePool: { ...spec.nodePool, machineType: 'g2-standard-24', acceleratorType: 'nvidia-l4' as const, acceleratorCount: 2, maxNodes: 4 } };
    assert.deepEqual(projectPrerequisites(grown).quotas, [
      { metric: 'NVIDIA_L4_GPUS', scope: 'us-central1', needed: 8 },
      { metric: 'GPUS_ALL_REGIONS', scope: 'global', needed: 8 },
    ]);
  });

  it('prints the gcloud commands in the order they apply, the project number first', () => {
    const { commands } = projectPrerequisites(example('gke'));
    assert.match(commands[0]!, /^PROJECT_NUMBER=\$\(gcloud projects describe my-gcp-project --format='value\(projectNumber\)'\)$/);
    assert.match(commands[1]!, /^gcloud services enable container\.googleapis\.com .* --project=my-gcp-project$/);
    assert.ok(commands.includes(`gcloud storage buckets add-iam-policy-binding gs://my-triton-models --member="principalSet://${pool}/namespace/inference" --role=roles/storage.objectViewer`));
    assert.ok(commands.includes('gcloud projects add-iam-policy-binding my-gcp-project --member="serviceAccount:triton-pipeline-worker@my-gcp-project.iam.gserviceaccount.com" --role=roles/container.admin --condition=None'));
    // The in-cluster worker acts as the worker's Google service account; the nodes pull the pipeline's images.
    assert.ok(commands.includes('gcloud iam service-accounts add-iam-policy-binding triton-pipeline-worker@my-gcp-project.iam.gserviceaccount.com --project=my-gcp-project --member="serviceAccount:my-gcp-project.svc.id.goog[triton-pipeline-system/triton-pipeline-worker]" --role=roles/iam.workloadIdentityUser'));
    assert.ok(commands.includes('gcloud artifacts repositories add-iam-policy-binding triton-pipeline --location=us-central1 --project=my-gcp-project --member="serviceAccount:$PROJECT_NUMBER-compute@developer.gserviceaccount.com" --role=roles/artifactregistry.reader'));
    assert.ok(commands.indexOf('gcloud artifacts repositories create triton-pipeline --repository-format=docker --location=us-central1 --project=my-gcp-project') < commands.findIndex((c) => c.startsWith('gcloud artifacts repositories add-iam-policy-binding')));
    assert.match(commands.at(-1)!, /quotas\.metric=GPUS_ALL_REGIONS/);
  });

  it('is part of the plan on the gke target only', async () => {
    const assets = { driverInstaller: await loadDriverInstaller(), metricsAdapter: await loadMetricsAdapter() };
    const gke = planDeployment(example('gke'), assets);
    assert.match(describePrerequisites(gke.prerequisites!), /GPU quota .*\n {4}- NVIDIA_T4_GPUS \(us-central1\) >= 3/);
    assert.equal(planDeployment(example('sim-seed'), assets).prerequisites, null);
  });
});
