// ESLint flat config (ESLint 9). Run with `npm run lint` (which also runs prettier and dependency-cruiser).
//
// Deliberately NOT the full recommended-type-checked sets: plain `@eslint/js` + `typescript-eslint`
// recommended, plus a few type-aware rules that catch real bugs (floating/misused promises) and the
// architecture guards (deterministic workflows, services independent of the HTTP layer).
// test/lint.test.ts proves the guards fire.
import { builtinModules } from 'node:module';
import js from '@eslint/js';
import { defineConfig, globalIgnores } from 'eslint/config';
import prettier from 'eslint-config-prettier';
import globals from 'globals';
import tseslint from 'typescript-eslint';

const TS_FILES = ['{src,workflows,activities,test,bench,migrations,scripts,clients}/**/*.ts', 'knexfile.ts', 'web/vite.config.mts'];
// The web studio: browser code with its own tsconfig (DOM libraries, Preact's JSX).
const WEB_FILES = ['web/src/**/*.{ts,tsx}'];

const escapeRegex = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

// Node built-ins, bare (`fs`, `fs/promises`) or prefixed (`node:fs`, also `node:test`, `node:sqlite`, ...).
const builtinNames = builtinModules.filter((m) => !m.startsWith('_')).map(escapeRegex);
const NODE_BUILTIN = `node:.*|(?:${builtinNames.join('|')})(?:/.*)?`;

// Everything a workflow may import as a value: the workflow SDK, and relative paths that stay inside
// workflows/ (`./x`, `./dir/x`, but no `..` segment anywhere).
const WORKFLOW_ALLOWED = String.raw`@temporalio/workflow|\./(?!(?:.*/)?\.\.(?:/|$)).+`;

const workflowImportRules = {
  patterns: [
    {
      regex: `^(?:${NODE_BUILTIN})$`,
      message: 'workflows are deterministic sandboxed code: no Node built-ins.',
      allowTypeImports: true,
    },
    {
      // Anything that is neither allowed nor a built-in (the built-ins get the message above).
      regex: `^(?!(?:${WORKFLOW_ALLOWED}|${NODE_BUILTIN})$)`,
      message:
        'workflows are deterministic sandboxed code: value imports only from @temporalio/workflow and ./ files inside workflows/ (use `import type` for types from elsewhere).',
      allowTypeImports: true,
    },
  ],
};

export default defineConfig([
  globalIgnores([
    '**/node_modules/',
    '.tools/',
    '.data/',
    'dist/',
    'coverage/',
    'web/dist/',
    '.artifacts/',
    'test/fixtures/**/*.json',
    'clients/typescript/schema.d.ts',
  ]),

  {
    files: ['**/*.{js,mjs,cjs,ts,mts,tsx}'],
    extends: [js.configs.recommended],
    languageOptions: { globals: { ...globals.node } },
  },

  {
    files: TS_FILES,
    extends: [tseslint.configs.recommended],
    languageOptions: {
      parserOptions: {
        projectService: {
          // scripts/ is not in tsconfig.json's include; any scripts/*.ts gets a default project.
          allowDefaultProject: ['scripts/*.ts'],
          defaultProject: 'tsconfig.json',
        },
        tsconfigRootDir: import.meta.dirname,
      },
      globals: { ...globals.node, ...globals.mocha },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false, attributes: false } }],

      // Style-ish recommended rules that would flood the existing code base.
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_', ignoreRestSiblings: true },
      ],
    },
  },

  {
    files: WEB_FILES,
    extends: [tseslint.configs.recommended],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
      globals: { ...globals.browser },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false, attributes: false } }],
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_' }],
      // User text is never HTML: Preact escapes text children; these are the ways around it.
      'no-restricted-properties': [
        'error',
        { property: 'innerHTML', message: 'never insert text as HTML' },
        { property: 'outerHTML', message: 'never insert text as HTML' },
      ],
      'no-restricted-syntax': ['error', { selector: "JSXAttribute[name.name='dangerouslySetInnerHTML']", message: 'never insert text as HTML' }],
    },
  },

  {
    files: ['workflows/**/*.ts'],
    rules: {
      'no-restricted-imports': 'off',
      '@typescript-eslint/no-restricted-imports': ['error', workflowImportRules],
    },
  },

  {
    files: ['src/services/**/*.ts'],
    rules: {
      'no-restricted-imports': 'off',
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              // ../api, ../api/x, ../../api/x (from nested dirs), and ../../src/api/x style paths.
              regex: String.raw`^(?:\.\./)+(?:src/)?api(?:/.*)?$`,
              message: 'services must not depend on the HTTP layer (src/api).',
            },
          ],
        },
      ],
    },
  },

  prettier,
]);
