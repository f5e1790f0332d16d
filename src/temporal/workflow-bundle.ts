/**
 * How the workflow bundle is built. The SDK evaluates a bundle's modules again for every workflow
 * run, child and replay (module state is per workflow) except the modules it preloads: those it
 * evaluates once per worker thread, freezes and shares. Shared here: the schema library every
 * workflow validates its input with, the store its schemas are built into once (exported functions
 * only, which freezing leaves working), the SLA's statistics, and the pure modules the workflows
 * call (src/temporal/shared-workflow-modules.ts); none holds a workflow's state, so sharing them
 * leaks nothing from one workflow to another. Each run keeps only its own workflow and schema
 * modules: 198 KiB of the workflow thread's heap per parked pipeline run, 243 KiB when the pure
 * modules were evaluated per run too (bench/workflow-heap.ts).
 */
import { fileURLToPath } from 'node:url';
import type { BundleOptions } from '@temporalio/worker';

type WebpackConfiguration = Parameters<NonNullable<BundleOptions['webpackConfigHook']>>[0];

/** Imported as ES modules, as the workflows import them (a bare require would resolve zod's CommonJS build). */
const SHARED_MODULES_ENTRY = fileURLToPath(new URL('./shared-workflow-modules.ts', import.meta.url));

/**
 * zod declares itself free of side effects, so webpack would drop the entry's bare import of it
 * and link the workflows' imports past its entry module; marked as having them, the preloaded
 * entry is the module every import resolves through.
 */
function keepSharedEntries(config: WebpackConfiguration): WebpackConfiguration {
  const rules = [...(config.module?.rules ?? []), { test: /[\\/]node_modules[\\/]zod[\\/]/, sideEffects: true }];
  return { ...config, module: { ...config.module, rules } };
}

export const WORKFLOW_BUNDLER_OPTIONS = { preloadModules: [SHARED_MODULES_ENTRY], webpackConfigHook: keepSharedEntries };
