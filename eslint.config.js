import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', '.tools/', '.pipeline/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { console: 'readonly', process: 'readonly', setTimeout: 'readonly', setInterval: 'readonly', clearInterval: 'readonly', Buffer: 'readonly', URL: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      '@typescript-eslint/no-floating-promises': 'off',
    },
  },
  {
    // Workflows are deterministic orchestration: no I/O, no Node built-ins, no side-effect SDKs.
    files: ['src/workflows/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['node:*'], message: 'Workflows must not import Node built-ins; do I/O in an activity.' },
            { group: ['@temporalio/activity', '@temporalio/client', '@temporalio/worker', '@temporalio/testing'], message: 'Workflows import only @temporalio/workflow.' },
            { group: ['@google-cloud/*', '@kubernetes/*', 'execa'], message: 'Side effects belong in activities.' },
            { group: ['**/activities/**', '**/targets/**', '**/sim/**'], allowTypeImports: true, message: 'Workflows may only import activity types.' },
          ],
          paths: ['fs', 'path', 'os', 'child_process', 'crypto', 'http', 'https', 'net'].map((name) => ({
            name,
            message: 'Workflows must not import Node built-ins; do I/O in an activity.',
          })),
        },
      ],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-restricted-globals': ['error', { name: 'process', message: 'No process.env reads inside orchestration.' }],
    },
  },
  {
    // Pure code (decisions, rendering, maths) sees the ports, never what performs side effects.
    files: ['src/{spec,plan,triton,sla,search,report,release,ports}/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/activities/**', '**/workflows/**', '**/targets/**', '**/clients/**', '**/sim/**', '**/cli/**', '**/worker.js'],
              message: 'Pure modules import only other pure modules and src/ports.',
            },
            { group: ['@temporalio/activity', '@temporalio/client', '@temporalio/worker', '@temporalio/workflow'], message: 'Pure modules do not orchestrate or perform activities.' },
            { group: ['@google-cloud/*', 'execa', 'node:child_process', 'node:fs', 'node:fs/*', 'node:net', 'node:http', 'node:https'], message: 'Pure modules do no I/O.' },
            { group: ['@kubernetes/*'], allowTypeImports: true, message: 'Pure modules use only the Kubernetes model types.' },
          ],
        },
      ],
    },
  },
);
