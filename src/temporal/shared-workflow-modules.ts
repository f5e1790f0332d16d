/**
 * The modules a workflow bundle preloads (src/temporal/workflow-bundle.ts), imported the way the
 * workflow code imports them, so the module the SDK shares is the one the workflows resolve to:
 * the libraries, and the pure modules the workflows use (they hold no state, so a shared instance
 * is what each run would have built for itself). The schema modules stay per run: their exports
 * are proxies of schemas built on first use, which the SDK's freezing would break.
 */
import { config, core, locales } from 'zod';
import '@stdlib/stats-base-dists-normal-cdf';
import '@stdlib/stats-base-dists-normal-quantile';
import '@stdlib/stats-base-dists-t-quantile';
// The schemas' store: a schema is built once per thread and kept for every workflow after.
import '../spec/lazy-schema.js';
import '../spec/accelerators.js';
import '../plan/engine-build.js';
import '../plan/helm-values.js';
import '../plan/helm-wait.js';
import '../plan/ids.js';
import '../plan/jobs.js';
import '../ports/errors.js';
import '../release/record.js';
import '../report/run-report.js';
import '../search/config-search.js';
import '../search/coordinate-ascent.js';
import '../sla/bake.js';
import '../sla/evaluate.js';
import '../sla/gate.js';
import '../sla/noise.js';
import '../sla/sweep-span.js';
import '../temporal/search-attributes.js';
import '../triton/metrics.js';
import '../triton/model-config.js';
import '../triton/perf-output.js';
import '../triton/perf-types.js';
import '../triton/serving-target.js';

// What zod writes into its own module state on first use, done here, before the SDK freezes the
// shared modules: its defaults (English messages, the memoizer) in its global config, written when
// it builds its first schema, and whether it may compile parsers, found out on its first parse.
// It is told not to compile them: a workflow parses its input once, and a compiled parser would
// cost it more time and memory than it saves.
config({ ...locales.en(), memoizer: core.memoizer(), jitless: true });
void core.util.allowsEval.value;
