// ESLint flat config: typescript-eslint with type information, plus the
// workflow-determinism rule (workflows/ may not import Node modules, I/O
// libraries or activity implementations — only activity *types* — and of src/
// only the pure rules in src/domain, which therefore may not import I/O either).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { builtinModules } from 'node:module';

const nodeModules = [...builtinModules, ...builtinModules.map((m) => `node:${m}`)];
const noIo = { group: ['pg', 'kysely', 'ssh2', 'express', '@temporalio/worker', '@temporalio/client', '@temporalio/activity'], message: 'Workflows may not do I/O.' };

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
            noIo,
            { group: ['**/src/*', '**/src/**', '!**/src/domain', '!**/src/domain/**'], message: 'Workflows may import only the pure rules of src/domain (no database, secrets, API or services).' },
            { group: ['**/activities/**', '!**/activities/types', '!**/activities/types.js'], message: 'Import activity types only (activities/types).' },
          ],
        },
      ],
    },
  },
  {
    // The application core serves the API, never the other way round (docs/architecture.md).
    files: ['src/tasks/**/*.ts', 'src/templates/**/*.ts', 'src/execUsers/**/*.ts', 'src/accounts/**/*.ts', 'src/audit/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['**/api/**', '**/api'], message: 'The core (tasks, templates, execUsers, accounts, audit) may not import the API.' }] }],
    },
  },
  {
    // Pure rules: workflows import them, so they must be as deterministic as workflow code.
    files: ['src/domain/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: nodeModules.map((name) => ({ name, message: 'src/domain holds pure rules: no Node modules.' })),
          patterns: [
            { ...noIo, message: 'src/domain holds pure rules: no I/O.' },
            { group: ['../*'], message: 'src/domain may import only itself: the rules depend on nothing else.' },
          ],
        },
      ],
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
