export { deployTriton } from './deploy.js';
export { buildModelEngine } from './engine-build.js';
export { measureServingCandidate } from './candidate.js';
export { reoptimizeTriton } from './reoptimize.js';
