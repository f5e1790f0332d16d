/**
 * How the workflow bundle is built. The SDK evaluates a bundle's modules again for every workflow
 * run, child and replay (module state is per workflow) except the modules it preloads: those it
 * evaluates once per worker thread, freezes and shares. Shared here: the schema library every
 * workflow validates its input with, the store its schemas are built into once (exported functions
 * only, which freezing leaves working), and the SLA's statistics; none holds a workflow's state, so
 * sharing them leaks nothing from one workflow to another.
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
