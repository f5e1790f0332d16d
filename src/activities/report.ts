/** The run report: a self-contained HTML page written locally and to the bucket. */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { reportUri } from '../plan/layout.js';
import { renderReportHtml, type RunReport } from '../report/html.js';
import type { RunContext } from './context.js';
import { calling } from './errors.js';
import type { ObjectStore } from './ports.js';

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
      await calling('upload report', () => store.write(uri, html, { contentType: 'text/html' }));
      return { path, uri };
    },
  };
}
