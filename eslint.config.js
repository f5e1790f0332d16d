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
);
