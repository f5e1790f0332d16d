/**
 * The libraries a workflow bundle preloads (src/temporal/workflow-bundle.ts), imported the way the
 * workflow code imports them, so the module the SDK shares is the one the workflows resolve to.
 */
import { config, core, locales } from 'zod';
import '@stdlib/stats-base-dists-normal-cdf';
import '@stdlib/stats-base-dists-normal-quantile';
import '@stdlib/stats-base-dists-t-quantile';
// The schemas' store: a schema is built once per thread and kept for every workflow after.
import '../spec/lazy-schema.js';

// What zod writes into its own module state on first use, done here, before the SDK freezes the
// shared modules: its defaults (English messages, the memoizer) in its global config, written when
// it builds its first schema, and whether it may compile parsers, found out on its first parse.
// It is told not to compile them: a workflow parses its input once, and a compiled parser would
// cost it more time and memory than it saves.
config({ ...locales.en(), memoizer: core.memoizer(), jitless: true });
void core.util.allowsEval.value;
