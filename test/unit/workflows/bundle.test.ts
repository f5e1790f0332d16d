/** The workflow code bundles for the Temporal sandbox, and forbidden imports are caught twice: lint and bundler. */
import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { bundleWorkflowCode } from '@temporalio/worker';
import { ESLint } from 'eslint';
import { WORKFLOW_BUNDLER_OPTIONS } from '../../../src/temporal/workflow-bundle.js';
import { PROJECT_ROOT } from '../../helpers/temporal.js';

const silent = { info: () => undefined, warn: () => undefined, error: () => undefined, debug: () => undefined, trace: () => undefined, log: () => undefined };

/** Each module of a (development-mode) bundle and the modules it requires at run time, by webpack's module ID. */
function runtimeImports(code: string): Map<string, Set<string>> {
  const headers = [...code.matchAll(/^\/\*\*\*\/ "([^"]+)"$/gm)];
  return new Map(
    headers.map((header, i) => {
      const body = code.slice(header.index, headers[i + 1]?.index ?? code.length);
      return [header[1]!, new Set([...body.matchAll(/__webpack_require__\(\/\*![^*]*\*\/ "([^"]+)"\)/g)].map((m) => m[1]!))];
    }),
  );
}

function reachableFrom(root: string, imports: Map<string, Set<string>>): Set<string> {
  const seen = new Set<string>();
  const visit = (id: string) => {
    if (seen.has(id)) return;
    seen.add(id);
    for (const next of imports.get(id) ?? []) visit(next);
  };
  visit(root);
  return seen;
}

/** The modules evaluated for each run: their exports are proxies of lazily built schemas, which the SDK's freezing would break. */
const PER_RUN_PURE_MODULES = ['./src/spec/legacy.ts', './src/spec/reoptimize-request.ts', './src/spec/schema.ts', './src/spec/validate.ts'];

describe('workflow bundle', () => {
  let code: string;
  before(async () => {
    ({ code } = await bundleWorkflowCode({ workflowsPath: join(PROJECT_ROOT, 'src/workflows/index.ts'), ...WORKFLOW_BUNDLER_OPTIONS, logger: silent }));
  });

  it('bundles the workflows', () => {
    for (const name of ['deployTriton', 'buildModelEngine', 'reoptimizeTriton']) assert.ok(code.includes(name), name);
  });

  it('preloads every pure module the workflows import, and none of the schema modules', () => {
    const imports = runtimeImports(code);
    const shared = reachableFrom('./src/temporal/shared-workflow-modules.ts', imports);
    const pure = [...imports.keys()].filter((id) => id.startsWith('./src/') && !id.startsWith('./src/workflows/'));
    assert.ok(pure.length > 20, pure.join(' '));
    assert.deepEqual(pure.filter((id) => !shared.has(id) && !PER_RUN_PURE_MODULES.includes(id)), [], 'add them to src/temporal/shared-workflow-modules.ts');
    assert.deepEqual(PER_RUN_PURE_MODULES.filter((id) => shared.has(id)), []);
    assert.ok(PER_RUN_PURE_MODULES.every((id) => imports.has(id)));
    assert.ok(![...shared].some((id) => id.startsWith('./src/workflows/')));
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
