// ESLint flat config: typescript-eslint with type information, plus the
// workflow-determinism rule (workflows/ may not import Node modules, I/O
// libraries or activity implementations — only activity *types*).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { builtinModules } from 'node:module';

const nodeModules = [...builtinModules, ...builtinModules.map((m) => `node:${m}`)];

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', '.data/', '.tools/', 'bench/results/', 'eslint.config.mjs'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false } }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['workflows/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: nodeModules.map((name) => ({ name, message: 'Workflows must be deterministic: no Node modules.' })),
          patterns: [
            { group: ['pg', 'kysely', 'ssh2', 'express', '@temporalio/worker', '@temporalio/client', '@temporalio/activity'], message: 'Workflows may not do I/O.' },
            { group: ['**/src/db/**', '**/src/security/**', '**/src/api/**'], message: 'Workflows may not touch the database, secrets or the API.' },
            { group: ['**/activities/**', '!**/activities/types', '!**/activities/types.js'], message: 'Import activity types only (activities/types).' },
          ],
        },
      ],
    },
  },
  {
    // The application core serves the API, never the other way round (docs/architecture.md).
    files: ['src/tasks/**/*.ts', 'src/templates/**/*.ts', 'src/execUsers/**/*.ts', 'src/accounts/**/*.ts', 'src/audit/**/*.ts', 'src/domain/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['**/api/**', '**/api'], message: 'The core (tasks, templates, execUsers, accounts, audit, domain) may not import the API.' }] }],
    },
  },
  {
    // The operator console: plain browser ES modules (no build step, not in tsconfig).
    files: ['web/**/*.js'],
    extends: [tseslint.configs.disableTypeChecked],
    languageOptions: {
      sourceType: 'module',
      globals: Object.fromEntries(
        ['window', 'document', 'location', 'fetch', 'EventSource', 'URLSearchParams', 'Node', 'setTimeout', 'clearTimeout', 'console', 'Intl'].map((g) => [g, 'readonly']),
      ),
    },
  },
);
