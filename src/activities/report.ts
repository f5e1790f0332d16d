/**
 * The run report: a self-contained HTML page written locally and to the bucket, and beside it in
 * the bucket its data as JSON (every sweep's perf points), which the run's result refers to
 * instead of carrying it.
 */
import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { reportUri } from '../plan/layout.js';
import { renderReportHtml } from '../report/page.js';
import type { RunReport } from '../report/types.js';
import type { RunContext } from '../ports/run.js';
import { calling } from '../ports/errors.js';
import type { ObjectStore } from '../ports/systems.js';

function reportBaseName(workflowId: string, runId: string): string {
  return `${workflowId.replace(/[^A-Za-z0-9_.-]+/g, '_')}-${runId.slice(0, 8)}`;
}

/** Uploads unless the bucket has this very content (a retry after a lost reply; an overwrite is a new object generation). */
async function uploadOnce(store: ObjectStore, uri: string, content: string, contentType: string): Promise<void> {
  const md5 = createHash('md5').update(content).digest('base64');
  const existing = await calling(`stat ${uri}`, () => store.stat(uri));
  if (existing?.md5 !== md5) await calling(`upload ${uri}`, () => store.write(uri, content, { contentType }));
}

export function createReportActivities({ store, reportDir }: { store: ObjectStore; reportDir: string }) {
  return {
    async writeReport({ bucket, report }: { run: RunContext; bucket: string; report: RunReport }): Promise<{ path: string; uri: string; dataUri: string }> {
      const html = renderReportHtml(report);
      const name = reportBaseName(report.workflowId, report.runId);
      await mkdir(reportDir, { recursive: true });
      const path = join(reportDir, `${name}.html`);
      await writeFile(path, html);
      const uri = reportUri(bucket, `${name}.html`);
      const dataUri = reportUri(bucket, `${name}.json`);
      await uploadOnce(store, dataUri, JSON.stringify(report), 'application/json');
      await uploadOnce(store, uri, html, 'text/html');
      return { path, uri, dataUri };
    },
  };
}
