/**
 * The deployment workflow: the sample's chapters, in order, made durable. Each stage is one call;
 * a failure after the release changed rolls it back (saga) and ends the run with the real cause.
 */
import { patched } from '@temporalio/workflow';
import type { DeployResult } from '../ports/results.js';
import { tritonValues } from '../plan/helm-values.js';
import type { PromotionReason } from '../release/record.js';
import type { DeploymentSpec } from '../spec/schema.js';
import { requireValidSpec } from './common.js';
import { type DeployRun, finish, publishSearchAttributes, startRun, writeReport } from './deploy-run.js';
import { awaitApproval, handleOperator } from './operator.js';
import { buildEngines, enableAutoscaling, ensureCluster, ensureDriver, publishRepository, runLoadDrill } from './provision.js';
import { deployPreview, promote, recordPromotion, removePreview } from './release.js';
import { undoAndFail } from './saga.js';
import { bakeLiveRelease, validate } from './validation.js';

export interface DeployInput {
  /** The deployment spec as JSON (validated again here: Web UI starts skip the CLI). */
  spec: unknown;
}

export async function deployTriton(input: DeployInput): Promise<DeployResult> {
  // The whole argument: a Web UI start may send none at all.
  return runDeployment(requireValidSpec(input), 'deploy');
}

/** Release records replace per-revision baselines; runs started before keep the old gate. */
export const RELEASE_RECORD_PATCH = 'release-record';

/**
 * Validation on a preview before traffic, a bake period after promotion, approvals as Updates that
 * name their run and expire: runs started before keep the in-place flow and the approval signals.
 */
export const PREVIEW_PATCH = 'validate-before-traffic';

/**
 * The deployment's chapters for a validated spec; also run by re-optimization to promote, inside
 * the workflow that holds the release's ID.
 */
export async function runDeployment(spec: DeploymentSpec, reason: PromotionReason): Promise<DeployResult> {
  const lineage = patched(RELEASE_RECORD_PATCH);
  const validatesBeforeTraffic = patched(PREVIEW_PATCH);
  const deploy = startRun(spec, reason, { lineage, validatesBeforeTraffic });
  handleOperator(deploy);
  publishSearchAttributes(deploy);
  try {
    await deploy.main.run(() => chapters(deploy));
  } catch (error) {
    return undoAndFail(deploy, error);
  }
  return succeeded(deploy);
}

async function chapters(deploy: DeployRun): Promise<void> {
  await ensureCluster(deploy);
  await ensureDriver(deploy);
  await buildEngines(deploy);
  const repositoryUri = await publishRepository(deploy);
  const values = tritonValues(deploy.spec, repositoryUri, { deploymentId: deploy.run.deploymentId, repositoryVersion: deploy.repositoryVersion });
  if (deploy.strategy === 'preview') {
    const live = await deployPreview(deploy, values);
    await validate(deploy, deploy.previewRef, live);
    await awaitApproval(deploy);
    await removePreview(deploy);
    await promote(deploy, values);
    await bakeLiveRelease(deploy);
  } else {
    const promotion = await promote(deploy, values);
    await validate(deploy, deploy.releaseRef, promotion.previous);
    await awaitApproval(deploy);
  }
  await recordPromotion(deploy);
  await enableAutoscaling(deploy);
  await runLoadDrill(deploy);
}

async function succeeded(deploy: DeployRun): Promise<DeployResult> {
  const { spec, repositoryVersion, engines, variants, strategy, bake } = deploy;
  finish(deploy, 'succeeded');
  const report = await writeReport(deploy, 'succeeded');
  return {
    outcome: 'succeeded',
    release: `${spec.release.namespace}/${spec.release.name}`,
    revision: deploy.revision!,
    repositoryVersion,
    repositoryUri: deploy.repositoryUri!,
    engines,
    variants: variants.map(({ points: _points, ...summary }) => summary),
    ...(deploy.validatesBeforeTraffic ? { strategy, bake } : {}),
    ...(deploy.loadDrill === undefined ? {} : { loadDrill: deploy.loadDrill }),
    report,
  };
}
