/**
 * The pipeline CLI, also the CI client script. `deploy` starts a run, streams stage progress and
 * exits with the outcome (EXIT below; the help text documents each code).
 */
import { readFile, stat, writeFile } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import {
  ScheduleAlreadyRunning,
  ScheduleNotFoundError,
  ScheduleOverlapPolicy,
  WorkflowExecutionAlreadyStartedError,
  WorkflowFailedError,
  WorkflowUpdateFailedError,
  type Client,
  type WorkflowHandle,
  type WorkflowHandleWithFirstExecutionRunId,
} from '@temporalio/client';
import { ApplicationFailure, type Duration } from '@temporalio/common';
import { stringify } from 'yaml';
import { loadDriverInstaller, loadMetricsAdapter } from '../assets.js';
import { applicationFailureIn, FailureType } from '../ports/errors.js';
import { planDeployment } from '../plan/deployment-plan.js';
import { helmWait } from '../plan/helm-wait.js';
import { describePrerequisites } from '../plan/prerequisites.js';
import { deploymentWorkflowId, reoptimizationWorkflowId, scheduleIdFor, taskQueueFor } from '../plan/ids.js';
import { tritonValuesJsonSchema } from '../plan/triton-values.js';
import { describeKey, releaseKeyOf, type ReleaseRecord } from '../release/record.js';
import { reoptimizeRequestOf } from '../spec/reoptimize-request.js';
import { candidateKey } from '../search/config-search.js';
import { PIPELINE_OUTCOME, TRITON_MODELS, TRITON_RELEASE, TRITON_TARGET } from '../temporal/search-attributes.js';
import { MAX_SPEC_BYTES, parseSpecText, specJsonSchema, specTooLarge } from '../spec/load.js';
import type { DeploymentSpec } from '../spec/schema.js';
import { formatSpecErrors, validateSpec } from '../spec/validate.js';
import { abortSignal, abortUpdate, approveSignal, approveUpdate, progressQuery } from '../workflows/definitions.js';
import type { DeployProgress, DeployResult, OperatorRequest, SlaEvidence } from '../ports/results.js';
import type { deployTriton } from '../workflows/deploy.js';
import type { readReleaseRecord } from '../workflows/record.js';
import type { ReoptimizeResult, reoptimizeTriton } from '../workflows/reoptimize.js';
import { clientConfigFromEnv, connectClient, ensureSearchAttributes } from './temporal.js';

export const EXIT = { ok: 0, failed: 1, invalid: 2, sla: 3, busy: 4, aborted: 5, expired: 6, refused: 7 } as const;

export class UsageError extends Error {}

const HELP = `triton-pipeline: durable Triton-on-GKE deployments on Temporal

Usage: npm run cli -- <command> [options]

Commands:
  deploy -f SPEC [--detach] [--load-drill]
                              start a deployment, stream its stages, exit with its outcome;
                              --load-drill then holds a load until the release and its GPU pool
                              scale up, and watches them scale back (autoscaling.loadDrill)
  plan -f SPEC                dry run: stages, config.pbtxt files, Helm values, manifests; on gke
                              first what the project needs (APIs, IAM, GPU quota) as gcloud commands
                              (touches nothing)
  validate -f SPEC            check a spec; print the field-path errors
  status -f SPEC              progress of the release's current or last run, and its release record
                              (what serves, its baselines, promotions and rollbacks)
  approve -f SPEC [--run ID] [--by NAME] [--comment C]
                              approve the validated run waiting at the approval gate (default: the
                              release's current run; refused unless that run awaits approval)
  abort -f SPEC [--run ID] [--reason R]
                              abort a running deployment (the preview is removed; a live release
                              it already upgraded is rolled back)
  input -f SPEC               print the JSON input for starting deployTriton from the Web UI
  reoptimize -f SPEC          search better Triton configs for the live release now (its spec comes from
                              the release record; SPEC names the release and the search settings);
                              promote only a config better by the margin and the noise
  schedule create -f SPEC [--every 24h | --cron "0 3 * * *"]
                              re-optimize on a Temporal Schedule (re-running updates it); it stores
                              the release and the search settings, never the spec
  schedule list               the pipeline's schedules
  schedule delete -f SPEC     remove the release's schedule
  schema [spec | triton-values] [--out FILE]
                              print or write a JSON Schema: the spec's (default), or the triton
                              chart's values (deploy/charts/triton/values.schema.json); npm run
                              schema regenerates both committed files

Environment: TEMPORAL_ADDRESS (127.0.0.1:7233), TEMPORAL_NAMESPACE (default), TEMPORAL_API_KEY,
             TEMPORAL_TLS_CLIENT_CERT_PATH / _KEY_PATH, or a profile: TEMPORAL_PROFILE, TEMPORAL_CONFIG_FILE.
Exit codes: 0 succeeded (approve/abort: accepted)
            1 failed (any other failure)
            2 invalid spec or usage
            3 SLA regression or SLA not met: rejected on the preview (live release untouched), or
              rolled back (in place, or found in the bake period)
            4 the release is busy (a deployment or re-optimization of it is running)
            5 aborted by an operator
            6 approval expired (approval.timeoutSeconds): aborted
            7 approve/abort refused (nothing to approve or abort, or another run named)`;

export interface Output {
  log(line: string): void;
  error(line: string): void;
}

/** The spec in the file; with `withLoadDrill`, asking for a load drill (its defaults unless the file sets them). */
async function loadSpec(path: string | undefined, out: Output, withLoadDrill = false): Promise<DeploymentSpec | null> {
  if (path === undefined) throw new UsageError('missing -f SPEC (a YAML or JSON deployment spec)');
  const cannotRead = (error: NodeJS.ErrnoException): never => {
    throw new UsageError(`cannot read ${path}: ${error.code ?? error.message}`);
  };
  const { size } = await stat(path).catch(cannotRead);
  const read = size > MAX_SPEC_BYTES ? specTooLarge(size) : parseSpecText(await readFile(path, 'utf8').catch(cannotRead));
  const result = read.ok && withLoadDrill ? validateSpec({ ...read.spec, autoscaling: { ...read.spec.autoscaling, loadDrill: read.spec.autoscaling.loadDrill ?? {} } }) : read;
  if (!result.ok) {
    out.error(`${path} is not a valid deployment spec:\n${formatSpecErrors(result.errors)}`);
    return null;
  }
  return result.spec;
}

function seconds(from?: string, to?: string): string {
  if (from === undefined) return '';
  const ms = (to === undefined ? Date.now() : Date.parse(to)) - Date.parse(from);
  return `${(ms / 1000).toFixed(1)}s`;
}

export function stageTable(progress: DeployProgress): string {
  const rows = progress.stages.map((s) => [s.name, s.status, seconds(s.startedAt, s.endedAt), s.detail ?? '']);
  const widths = [12, 12, 8];
  const line = (cells: string[]) => cells.map((c, i) => (i < widths.length ? c.padEnd(widths[i]!) : c)).join(' ');
  return [line(['STAGE', 'STATUS', 'TIME', 'DETAIL']), ...rows.map(line)].join('\n');
}

async function streamProgress(handle: WorkflowHandle<typeof deployTriton>, out: Output): Promise<DeployProgress | null> {
  const seen = new Map<string, string>();
  let last: DeployProgress | null = null;
  let done = false;
  const result = handle.result().finally(() => {
    done = true;
  });
  result.catch(() => undefined);
  while (!done) {
    try {
      last = await handle.query(progressQuery);
      for (const s of last.stages) {
        if (seen.get(s.name) !== s.status && s.status !== 'pending') {
          seen.set(s.name, s.status);
          out.log(`  ${s.name.padEnd(12)} ${s.status.padEnd(11)} ${seconds(s.startedAt, s.endedAt).padStart(7)}  ${s.status === 'running' ? '' : (s.detail ?? '')}`);
        }
      }
      if (last.awaitingApproval && seen.get('approval') === undefined) {
        seen.set('approval', 'waiting');
        const run = last.approval ? ` --run ${last.approval.runId}` : '';
        out.log(`  waiting for approval${last.approval ? ` until ${last.approval.expiresAt}` : ''}: npm run cli -- approve -f <spec>${run}  (or abort)`);
      }
    } catch {
      // The query fails while no worker is polling; keep waiting for the result.
    }
    await Promise.race([result.catch(() => undefined), new Promise((r) => setTimeout(r, 500))]);
  }
  try {
    last = await handle.query(progressQuery);
  } catch {
    // closed workflows answer queries only while a worker is polling
  }
  return last;
}

function exitCodeFor(failure: unknown): number {
  const cause = applicationFailureIn(failure);
  if (cause !== undefined) {
    switch (cause.type) {
      case FailureType.SlaRegression:
      case FailureType.SlaNotMet:
        return EXIT.sla;
      case FailureType.InvalidSpec:
        return EXIT.invalid;
      case FailureType.Aborted:
        return EXIT.aborted;
      case FailureType.ApprovalExpired:
        return EXIT.expired;
    }
  }
  return EXIT.failed;
}

/** Names what holds the release's ID: a deployment or a re-optimization, with its run. */
async function busyWith(client: Client, workflowId: string, spec: DeploymentSpec): Promise<string> {
  const running = await client.workflow.getHandle(workflowId).describe().catch(() => null);
  const what = running?.type === 'reoptimizeRelease' ? 're-optimization' : 'deployment';
  return (
    `release ${spec.release.namespace}/${spec.release.name} already has a ${what} running: workflow ${workflowId}` +
    (running ? ` (${running.type}, run ${running.runId}, started ${running.startTime.toISOString()})` : '')
  );
}

async function deploy(client: Client, spec: DeploymentSpec, detach: boolean, out: Output): Promise<number> {
  await ensureSearchAttributes(client);
  const workflowId = deploymentWorkflowId(spec);
  let handle: WorkflowHandleWithFirstExecutionRunId<typeof deployTriton>;
  try {
    handle = await client.workflow.start<typeof deployTriton>('deployTriton', {
      workflowId,
      taskQueue: taskQueueFor(spec.target),
      args: [{ spec }],
      workflowIdConflictPolicy: 'FAIL',
      workflowIdReusePolicy: 'ALLOW_DUPLICATE',
      typedSearchAttributes: [
        { key: TRITON_MODELS, value: spec.models.map((m) => m.name) },
        { key: TRITON_TARGET, value: spec.target },
        { key: TRITON_RELEASE, value: `${spec.release.namespace}/${spec.release.name}` },
        { key: PIPELINE_OUTCOME, value: 'running' },
      ],
    });
  } catch (error) {
    if (error instanceof WorkflowExecutionAlreadyStartedError) {
      out.error(`refused: ${await busyWith(client, workflowId, spec)}. Wait for it, or abort it with: npm run cli -- abort -f <spec>`);
      return EXIT.busy;
    }
    throw error;
  }
  out.log(`started ${workflowId} (run ${handle.firstExecutionRunId}) on task queue ${taskQueueFor(spec.target)}`);
  if (detach) return EXIT.ok;
  const progress = await streamProgress(handle, out);
  try {
    const result: DeployResult = await handle.result();
    if (progress) out.log(`\n${stageTable(progress)}`);
    out.log(`\nsucceeded: ${result.release} revision ${result.revision}, repository ${result.repositoryUri}`);
    for (const v of result.variants) {
      out.log(`  ${v.variant.padEnd(20)} ${v.verdict.reason}`);
      const noise = v.repeated ? `; mean of ${v.repeated.samples} sweeps, CV ${((v.repeated.cv ?? 0) * 100).toFixed(1)}%` : '';
      if (v.comparison.change !== null) out.log(`  ${''.padEnd(20)} ${v.comparison.reason}${noise}`);
    }
    if (result.report) out.log(`report: ${result.report.path}`);
    if (result.loadDrill !== undefined) {
      const drill = result.loadDrill;
      const passed = drill.outcome === 'scaled-up-and-back';
      if (!passed) {
        out.error(`load drill failed (${drill.outcome}): ${drill.message}`);
        return EXIT.failed;
      }
      out.log(`load drill passed: ${drill.message}`);
    }
    return EXIT.ok;
  } catch (error) {
    if (progress) out.log(`\n${stageTable(progress)}`);
    const cause = applicationFailureIn(error) ?? (error instanceof WorkflowFailedError ? error.cause : error);
    out.error(`\nfailed: ${cause instanceof Error ? `${cause instanceof ApplicationFailure ? `[${cause.type}] ` : ''}${cause.message}` : String(cause)}`);
    if (cause instanceof ApplicationFailure && cause.type === FailureType.SlaRegression) {
      const evidence = cause.details?.[0] as SlaEvidence | undefined;
      for (const v of evidence?.variants ?? []) out.error(`  ${v.variant.padEnd(20)} ${v.comparison.reason}`);
    }
    return exitCodeFor(error);
  }
}

async function reoptimize(client: Client, spec: DeploymentSpec, out: Output): Promise<number> {
  await ensureSearchAttributes(client);
  const workflowId = reoptimizationWorkflowId(releaseKeyOf(spec));
  let handle: WorkflowHandleWithFirstExecutionRunId<typeof reoptimizeTriton>;
  try {
    handle = await client.workflow.start<typeof reoptimizeTriton>('reoptimizeTriton', {
      workflowId,
      taskQueue: taskQueueFor(spec.target),
      args: [{ release: reoptimizeRequestOf(spec) }],
      workflowIdConflictPolicy: 'FAIL',
    });
  } catch (error) {
    if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
    out.error(`refused: a re-optimization of ${describeKey(releaseKeyOf(spec))} is already running: workflow ${workflowId}`);
    return EXIT.busy;
  }
  out.log(`started ${workflowId} (run ${handle.firstExecutionRunId}); the live spec comes from the release record`);
  try {
    const result = await handle.result();
    printReoptimization(result, out);
    if (result.outcome === 'busy') {
      out.error(`refused: ${await busyWith(client, deploymentWorkflowId(spec), spec)}`);
      return EXIT.busy;
    }
    return EXIT.ok;
  } catch (error) {
    const cause = applicationFailureIn(error);
    out.error(`failed: ${cause ? `[${cause.type}] ${cause.message}` : String(error)}`);
    return exitCodeFor(error);
  }
}

export function printReoptimization(result: ReoptimizeResult, out: Output): void {
  const fmt = (x: number | null) => (x === null ? 'none within SLA' : `${x.toFixed(1)} infer/s`);
  for (const m of result.models) {
    out.log(`  ${m.model}/${m.variant}: incumbent on the canary ${m.incumbentScreens.map(fmt).join(', then ')}, best screen ${candidateKey(m.best.candidate)} ${fmt(m.best.score)} of ${m.measured.length} screened`);
    for (const f of m.confirmation?.finalists ?? []) {
      out.log(`    finalist ${candidateKey(f.candidate)}: ${f.verdict.reason}${f.verdict.promote ? ' -> promote' : ''}`);
    }
  }
  out.log(`outcome: ${result.outcome}${result.detail ? ` (${result.detail})` : ''}${result.deployment ? ` (revision ${result.deployment.revision})` : ''}`);
}

async function createSchedule(client: Client, spec: DeploymentSpec, when: { every?: string; cron?: string }, out: Output): Promise<number> {
  if (when.every !== undefined && when.cron !== undefined) throw new UsageError('give --every or --cron, not both');
  const scheduleId = scheduleIdFor(releaseKeyOf(spec));
  const scheduleSpec = when.cron !== undefined ? { cronExpressions: [when.cron] } : { intervals: [{ every: (when.every ?? '24h') as Duration }] };
  const action = {
    type: 'startWorkflow' as const,
    workflowType: 'reoptimizeTriton',
    workflowId: reoptimizationWorkflowId(releaseKeyOf(spec)),
    taskQueue: taskQueueFor(spec.target),
    // The release and the search settings, not the spec: each run reads the live spec from the record.
    args: [{ release: reoptimizeRequestOf(spec) }] as [{ release: unknown }],
  };
  await ensureSearchAttributes(client);
  try {
    await client.schedule.create({
      scheduleId,
      spec: scheduleSpec,
      action,
      policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 hour' },
      memo: { release: `${spec.release.namespace}/${spec.release.name}` },
    });
    out.log(`created schedule ${scheduleId}: re-optimize ${spec.release.namespace}/${spec.release.name} ${when.cron ? `on cron "${when.cron}"` : `every ${when.every ?? '24h'}`}`);
  } catch (error) {
    if (!(error instanceof ScheduleAlreadyRunning)) throw error;
    await client.schedule.getHandle(scheduleId).update((previous) => ({ ...previous, spec: scheduleSpec, action }));
    out.log(`updated schedule ${scheduleId}`);
  }
  return EXIT.ok;
}

async function status(client: Client, spec: DeploymentSpec, out: Output): Promise<number> {
  const workflowId = deploymentWorkflowId(spec);
  const handle = client.workflow.getHandle(workflowId);
  const description = await handle.describe().catch(() => null);
  if (description === null) out.log(`${workflowId}: no run yet`);
  else {
    out.log(`${workflowId} (${description.type}) run ${description.runId}: ${description.status.name}`);
    const progress = await handle.query(progressQuery).catch(() => null);
    if (progress) out.log(stageTable(progress));
    if (progress?.approval) out.log(`awaiting approval until ${progress.approval.expiresAt}: npm run cli -- approve -f <spec> --run ${progress.approval.runId}`);
  }
  const key = releaseKeyOf(spec);
  try {
    const record = await client.workflow.execute<typeof readReleaseRecord>('readReleaseRecord', {
      workflowId: `record/${describeKey(key)}`,
      taskQueue: taskQueueFor(spec.target),
      args: [{ target: spec.target, bucket: spec.bucket, key }],
      workflowIdConflictPolicy: 'USE_EXISTING',
      // The bucket is read by the target's worker; without one, say so instead of waiting forever.
      workflowExecutionTimeout: '1 minute',
    });
    out.log(`\n${describeRecord(record)}`);
    return EXIT.ok;
  } catch (error) {
    out.error(`release record not read: ${applicationFailureIn(error)?.message ?? (error as Error).message} (is a worker polling ${taskQueueFor(spec.target)}?)`);
    return EXIT.failed;
  }
}

/** The release record as `status` prints it: what serves, its baselines, the recent history. */
export function describeRecord(record: ReleaseRecord): string {
  const lines = [`release record ${describeKey(record.key)}, generation ${record.generation}`];
  const live = record.live;
  if (live === null) lines.push('  live: none (nothing promoted, or the last release was uninstalled)');
  else {
    lines.push(`  live: ${live.repositoryVersion} at Helm revision ${live.helmRevision}, promoted ${live.promotedAt} by ${live.workflowId} (${live.reason})`);
    lines.push(`  image ${live.spec.release.image}; models ${live.spec.models.map((m) => `${m.name} [${m.variants.map((v) => `${v.name} x${v.instances} b${v.maxBatchSize}`).join(', ')}]`).join('; ')}`);
    for (const b of live.baselines) {
      lines.push(`  baseline ${b.variant}: ${b.bestThroughput === null ? 'none within SLA' : `${b.bestThroughput.toFixed(1)} infer/s`} from ${b.samples.length} sweeps [${b.samples.map((x) => x.toFixed(0)).join(', ')}]`);
    }
  }
  for (const e of record.events.slice(-10)) {
    lines.push(
      e.kind === 'promoted'
        ? `  ${e.at} promoted ${e.repositoryVersion} (revision ${e.helmRevision}, ${e.reason})`
        : `  ${e.at} rolled back ${e.attemptedRepositoryVersion}: ${e.servingRepositoryUri === null ? 'uninstalled' : `serving ${e.servingRepositoryUri} at revision ${e.helmRevision}`}; ${e.cause}`,
    );
  }
  return lines.join('\n');
}

/**
 * Approve or abort, as an Update that names its run: the release's current run unless --run names
 * one. The run refuses it (and says why) when there is nothing to approve or abort.
 */
async function operate(client: Client, workflowId: string, action: 'approve' | 'abort', request: Omit<OperatorRequest, 'runId'>, runId: string | undefined, out: Output): Promise<number> {
  const current = runId ?? (await client.workflow.getHandle(workflowId).describe().catch(() => null))?.runId;
  if (current === undefined) {
    out.error(`refused: ${workflowId} has no run`);
    return EXIT.refused;
  }
  const handle = client.workflow.getHandle(workflowId, current);
  try {
    const answer = await handle.executeUpdate(action === 'approve' ? approveUpdate : abortUpdate, { args: [{ ...request, runId: current }] });
    out.log(`${action === 'approve' ? 'approved' : 'abort requested for'} ${workflowId} run ${answer.runId} (repository version ${answer.repositoryVersion}, stage ${answer.stage ?? '-'})`);
    return EXIT.ok;
  } catch (error) {
    const cause = error instanceof WorkflowUpdateFailedError ? error.cause : error;
    if (cause instanceof Error && cause.message.startsWith('No registered handler for update')) {
      // A run started before approvals became Updates answers the old signals (it cannot refuse them).
      await handle.signal(action === 'approve' ? approveSignal : abortSignal, request);
      out.log(`${action === 'approve' ? 'approved' : 'abort requested for'} ${workflowId} run ${current} (started before approvals became Updates: sent the ${action} signal)`);
      return EXIT.ok;
    }
    out.error(`refused: ${workflowId} run ${current}: ${cause instanceof Error ? cause.message : String(cause)}`);
    return EXIT.refused;
  }
}

/** The Web UI's "Start Workflow" form for a spec: the JSON input on stdout, the other fields on stderr. */
function printWebUiInput(spec: DeploymentSpec, out: Output): number {
  out.error(`Web UI > Start Workflow: workflow type deployTriton, workflow ID ${deploymentWorkflowId(spec)}, task queue ${taskQueueFor(spec.target)}, input (JSON):`);
  out.log(JSON.stringify({ spec }, null, 2));
  return EXIT.ok;
}

async function listSchedules(client: Client, out: Output): Promise<number> {
  let count = 0;
  for await (const schedule of client.schedule.list()) {
    if (schedule.action?.type !== 'startWorkflow' || schedule.action.workflowType !== 'reoptimizeTriton') continue;
    count += 1;
    const next = schedule.info.nextActionTimes[0];
    out.log(`${schedule.scheduleId}  next ${next ? next.toISOString() : '-'}  recent ${schedule.info.recentActions.length} runs`);
  }
  if (count === 0) out.log('no re-optimization schedules');
  return EXIT.ok;
}

async function deleteSchedule(client: Client, spec: DeploymentSpec, out: Output): Promise<number> {
  const scheduleId = scheduleIdFor(releaseKeyOf(spec));
  try {
    await client.schedule.getHandle(scheduleId).delete();
    out.log(`deleted schedule ${scheduleId}`);
  } catch (error) {
    if (!(error instanceof ScheduleNotFoundError)) throw error;
    out.log(`no schedule ${scheduleId} (nothing to delete)`);
  }
  return EXIT.ok;
}

export async function runCli(argv: string[], out: Output, connect: () => Promise<Client>): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      file: { type: 'string', short: 'f' },
      detach: { type: 'boolean', default: false },
      by: { type: 'string' },
      reason: { type: 'string' },
      comment: { type: 'string' },
      run: { type: 'string' },
      out: { type: 'string' },
      every: { type: 'string' },
      cron: { type: 'string' },
      'load-drill': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const [command] = positionals;
  if (values.help || command === undefined || command === 'help') {
    out.log(HELP);
    return command === undefined && !values.help ? EXIT.invalid : EXIT.ok;
  }
  if (command === 'schema') {
    const which = positionals[1] ?? 'spec';
    const schemas: Record<string, () => Record<string, unknown>> = { spec: specJsonSchema, 'triton-values': tritonValuesJsonSchema };
    const schemaOf = schemas[which];
    if (schemaOf === undefined) throw new UsageError(`unknown schema "${which}"; one of: ${Object.keys(schemas).join(', ')}`);
    const schema = `${JSON.stringify(schemaOf(), null, 2)}\n`;
    if (values.out) await writeFile(values.out, schema);
    else out.log(schema);
    return EXIT.ok;
  }
  if (command === 'schedule' && positionals[1] === 'list') {
    return listSchedules(await connect(), out);
  }
  const known = ['deploy', 'plan', 'validate', 'status', 'approve', 'abort', 'reoptimize', 'schedule', 'input'];
  if (!known.includes(command)) throw new UsageError(`unknown command "${command}"; run with --help`);
  if (command === 'schedule' && !['create', 'delete'].includes(positionals[1] ?? '')) {
    throw new UsageError('schedule needs one of: create, list, delete');
  }
  if (values['load-drill'] && command !== 'deploy' && command !== 'plan' && command !== 'input') throw new UsageError('--load-drill goes with deploy, plan or input');
  const spec = await loadSpec(values.file, out, values['load-drill']);
  if (spec === null) return EXIT.invalid;
  if (command === 'validate') {
    out.log(`${values.file}: valid (target ${spec.target}, ${spec.models.length} models, workflow ID ${deploymentWorkflowId(spec)})`);
    return EXIT.ok;
  }
  if (command === 'input') return printWebUiInput(spec, out);
  if (command === 'plan') {
    const plan = planDeployment(spec, { driverInstaller: await loadDriverInstaller(), metricsAdapter: await loadMetricsAdapter() });
    out.log(`plan for ${plan.workflowId} (task queue ${plan.taskQueue}); nothing is applied\n`);
    if (plan.prerequisites !== null) out.log(`${describePrerequisites(plan.prerequisites)}\n`);
    for (const s of plan.stages) out.log(`${s.stage}:\n${s.actions.map((a) => `  - ${a}`).join('\n')}`);
    for (const c of plan.modelConfigs) out.log(`\n# ${c.path}\n${c.text}`);
    const wait = helmWait(spec);
    out.log(`\n# helm --wait --timeout ${wait.seconds}s: ${wait.parts.map((p) => `${p.part} ${p.seconds}s`).join(' + ')}`);
    out.log(`\n# helm values (deploy/charts/triton)\n${stringify(plan.helmValues)}`);
    for (const m of plan.manifests) out.log(`---\n${stringify(m)}`);
    return EXIT.ok;
  }
  const client = await connect();
  const workflowId = deploymentWorkflowId(spec);
  const by = values.by ?? process.env['USER'] ?? 'cli';
  switch (command) {
    case 'deploy':
      return deploy(client, spec, values.detach ?? false, out);
    case 'status':
      return status(client, spec, out);
    case 'approve':
      return operate(client, workflowId, 'approve', { by, ...(values.comment ? { comment: values.comment } : {}) }, values.run, out);
    case 'reoptimize':
      return reoptimize(client, spec, out);
    case 'schedule':
      return positionals[1] === 'create'
        ? createSchedule(client, spec, { every: values.every, cron: values.cron }, out)
        : deleteSchedule(client, spec, out);
    case 'abort':
      return operate(client, workflowId, 'abort', { by, ...(values.reason ? { reason: values.reason } : {}) }, values.run, out);
  }
  return EXIT.invalid;
}

async function main(): Promise<void> {
  // `cli ... | head` closes the pipe early; that is not an error.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  });
  const out: Output = { log: (l) => console.log(l), error: (l) => console.error(l) };
  let client: Client | undefined;
  try {
    const code = await runCli(process.argv.slice(2), out, async () => (client = await connectClient(clientConfigFromEnv(process.env))));
    process.exitCode = code;
  } catch (error) {
    if (error instanceof UsageError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      out.error(`${(error as Error).message}\n\n${HELP}`);
      process.exitCode = EXIT.invalid;
    } else {
      out.error(String(error instanceof Error ? error.message : error));
      process.exitCode = EXIT.failed;
    }
  } finally {
    await client?.connection.close();
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  void main();
}
