export { deployTriton } from './deploy.js';
export { buildModelEngine } from './engine-build.js';
export { measureServingCandidate } from './candidate.js';
export { reoptimizeRelease, reoptimizeTriton } from './reoptimize.js';
export { readReleaseRecord } from './record.js';
