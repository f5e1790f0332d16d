/** The run report: a self-contained HTML page written locally and to the bucket. */
import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { reportUri } from '../plan/layout.js';
import { renderReportHtml } from '../report/page.js';
import type { RunReport } from '../report/types.js';
import type { RunContext } from '../ports/run.js';
import { calling } from '../ports/errors.js';
import type { ObjectStore } from '../ports/systems.js';

function reportFileName(workflowId: string, runId: string): string {
  return `${workflowId.replace(/[^A-Za-z0-9_.-]+/g, '_')}-${runId.slice(0, 8)}.html`;
}

export function createReportActivities({ store, reportDir }: { store: ObjectStore; reportDir: string }) {
  return {
    async writeReport({ bucket, report }: { run: RunContext; bucket: string; report: RunReport }): Promise<{ path: string; uri: string }> {
      const html = renderReportHtml(report);
      const name = reportFileName(report.workflowId, report.runId);
      await mkdir(reportDir, { recursive: true });
      const path = join(reportDir, name);
      await writeFile(path, html);
      const uri = reportUri(bucket, name);
      // A retry after a lost reply finds the same report uploaded: not written again (a GCS
      // overwrite is a new object generation). A different one (a report re-rendered) replaces it.
      const md5 = createHash('md5').update(html).digest('base64');
      const existing = await calling('stat report', () => store.stat(uri));
      if (existing?.md5 !== md5) await calling('upload report', () => store.write(uri, html, { contentType: 'text/html' }));
      return { path, uri };
    },
  };
}
