export { deployTriton } from './deploy.js';
export { buildModelEngine } from './engine-build.js';
