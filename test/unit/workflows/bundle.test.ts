/** The workflow code bundles for the Temporal sandbox, and forbidden imports are caught twice: lint and bundler. */
import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { bundleWorkflowCode } from '@temporalio/worker';
import { ESLint } from 'eslint';
import { PROJECT_ROOT } from '../../helpers/temporal.js';

const silent = { info: () => undefined, warn: () => undefined, error: () => undefined, debug: () => undefined, trace: () => undefined, log: () => undefined };

describe('workflow bundle', () => {
  it('bundles the workflows', async () => {
    const { code } = await bundleWorkflowCode({ workflowsPath: join(PROJECT_ROOT, 'src/workflows/index.ts'), logger: silent });
    for (const name of ['deployTriton', 'buildModelEngine', 'reoptimizeTriton']) assert.ok(code.includes(name), name);
  });

  it('the bundler rejects a workflow importing a Node built-in', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'bad-workflow-'));
    const path = join(dir, 'workflows.ts');
    await writeFile(path, "import { readFileSync } from 'node:fs';\nexport async function bad(): Promise<string> { return String(readFileSync('/etc/hostname')); }\n");
    await assert.rejects(bundleWorkflowCode({ workflowsPath: path, logger: silent }));
  });

  it('lint bans side-effect imports in workflow files', async () => {
    const eslint = new ESLint({ cwd: PROJECT_ROOT });
    const offending = [
      "import { execa } from 'execa';",
      "import { Storage } from '@google-cloud/storage';",
      "import { Context } from '@temporalio/activity';",
      "import { createSimWorld } from '../sim/world.js';",
    ];
    for (const line of offending) {
      const [result] = await eslint.lintText(`${line}\nexport const x = 1;\n`, { filePath: join(PROJECT_ROOT, 'src/workflows/offending.ts') });
      assert.ok(
        result!.messages.some((m) => m.ruleId === '@typescript-eslint/no-restricted-imports'),
        `${line}: ${JSON.stringify(result!.messages)}`,
      );
    }
    const [allowed] = await eslint.lintText("import type { PipelineActivities } from '../activities/index.js';\nexport type X = PipelineActivities;\n", {
      filePath: join(PROJECT_ROOT, 'src/workflows/allowed.ts'),
    });
    assert.deepEqual(allowed!.messages, []);
  });
});
