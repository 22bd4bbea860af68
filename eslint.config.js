// @ts-check
import js from '@eslint/js';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';
import importX from 'eslint-plugin-import-x';
import reactHooks from 'eslint-plugin-react-hooks';
import globals from 'globals';
import tseslint from 'typescript-eslint';

/** Imports that would make an arrow of DESIGN.md point the wrong way. */
const SERVER = ['@lantern/server', '@lantern/server/*', '**/apps/server/**', '**/server/src/**'];
const APPS = [
  ...SERVER,
  '@lantern/web',
  '@lantern/web/*',
  '@lantern/cli',
  '@lantern/cli/*',
  '**/apps/**',
];
const layer = (patterns, message) => ({
  'no-restricted-imports': ['error', { patterns: [{ group: patterns, message }] }],
});

export default tseslint.config(
  {
    ignores: [
      '**/dist/**',
      '**/node_modules/**',
      'packages/sdk/src/generated/**',
      'test-results/**',
      'bench/out/**',
      '.lantern/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  importX.flatConfigs.typescript,
  {
    languageOptions: {
      parserOptions: {
        projectService: {
          allowDefaultProject: ['eslint.config.js', 'vitest.config.ts', 'apps/cli/bin/lantern.js'],
        },
        tsconfigRootDir: import.meta.dirname,
      },
      globals: { ...globals.node },
    },
    plugins: { 'import-x': importX },
    settings: {
      'import-x/resolver-next': [
        createTypeScriptImportResolver({
          project: ['apps/*/tsconfig.json', 'packages/*/tsconfig.json'],
          noWarnOnMultipleProjects: true,
        }),
      ],
      'import-x/ignore': ['node_modules'],
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-non-null-assertion': 'error',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
      // Fastify handlers and plugins are async by contract, awaiting or not.
      '@typescript-eslint/require-await': 'off',
      eqeqeq: ['error', 'always'],
      curly: ['error', 'all'],
      'no-console': 'error',
      'import-x/no-cycle': ['error', { ignoreExternal: true }],
    },
  },
  // The layers of DESIGN.md: apps -> packages -> core; web and cli reach the server only over HTTP.
  {
    files: ['apps/cli/**'],
    rules: layer(SERVER, 'cli reaches the server over HTTP through @lantern/sdk, never by import'),
  },
  {
    // Tests that need what only the server's own suite can make (people, a running instance, a
    // kernel reached through the proxy) start it with that suite's helpers; the command under test
    // still reaches it over HTTP only.
    files: ['apps/cli/src/**/*.test.ts'],
    rules: layer(
      [...SERVER, '!**/server/src/testing', '!**/server/src/testing/*.js'],
      "cli tests take only the server suite's testing helpers",
    ),
  },
  {
    files: ['apps/web/**'],
    rules: layer(
      [...SERVER, '@lantern/formats', '@lantern/formats/*', '**/packages/formats/**'],
      'web reaches the server over HTTP through @lantern/sdk, and runs no Node-side readers',
    ),
  },
  { files: ['packages/**'], rules: layer(APPS, 'packages never import apps') },
  {
    files: ['packages/formats/**'],
    rules: layer(
      [...APPS, '@lantern/sdk', '@lantern/sdk/*'],
      'formats may import core, never apps',
    ),
  },
  {
    files: ['packages/synth/**'],
    rules: layer(
      [...APPS, '@lantern/sdk', '@lantern/sdk/*'],
      'synth may import core and formats, never apps',
    ),
  },
  {
    files: ['packages/deid/**'],
    ignores: ['packages/deid/src/**/*.test.ts'],
    rules: layer(
      [...APPS, '@lantern/sdk', '@lantern/sdk/*', '@lantern/synth', '@lantern/synth/*'],
      'deid may import core and formats, never apps or the generators',
    ),
  },
  // deid's tests run its scans on the synthetic deliveries, the identifiers they plant included.
  {
    files: ['packages/deid/src/**/*.test.ts'],
    rules: layer(
      [...APPS, '@lantern/sdk', '@lantern/sdk/*'],
      'deid tests may import core, formats and the generators, never apps',
    ),
  },
  {
    files: ['packages/core/**'],
    rules: layer(
      [
        ...APPS,
        'node:fs',
        'node:fs/*',
        'node:net',
        'node:http',
        'node:child_process',
        'pg',
        'kysely',
        '@lantern/sdk',
      ],
      'core holds domain rules without I/O',
    ),
  },
  // Inside the server, one direction per request: http -> services -> repositories -> db.
  {
    files: ['apps/server/src/http/**'],
    rules: layer(
      ['**/repositories/**', '**/db/database*', '**/db/schema*'],
      'http calls services; SQL lives in repositories',
    ),
  },
  {
    files: ['apps/server/src/services/**'],
    rules: layer(['**/http/**'], 'services know nothing of HTTP'),
  },
  {
    files: ['apps/server/src/repositories/**'],
    rules: layer(['**/http/**', '**/services/**'], 'repositories hold SQL only'),
  },
  // `@lantern/formats/testing` holds comparators (libjpeg-turbo's npm build, whose encoder writes
  // past its buffer) for tests and benchmarks: the product never imports it.
  {
    files: ['apps/**', 'packages/**'],
    ignores: ['**/*.test.ts', '**/src/testing/**', 'apps/web/e2e/**'],
    rules: {
      'no-restricted-syntax': [
        'error',
        ...[
          'ImportDeclaration',
          'ExportNamedDeclaration',
          'ExportAllDeclaration',
          'ImportExpression',
        ].map((node) => ({
          selector: `${node}[source.value=/^@lantern\\/formats\\/testing$|\\/testing\\.js$/]`,
          message: '@lantern/formats/testing is for tests and benchmarks, not the product',
        })),
      ],
    },
  },
  // The CLI, scripts and benchmarks talk to people on the terminal.
  { files: ['apps/cli/**', 'bench/**', 'scripts/**'], rules: { 'no-console': 'off' } },
  {
    files: ['apps/web/src/**'],
    languageOptions: { globals: { ...globals.browser } },
    plugins: { 'react-hooks': reactHooks },
    rules: { 'react-hooks/rules-of-hooks': 'error', 'react-hooks/exhaustive-deps': 'error' },
  },
  { files: ['**/*.js', '**/*.mjs'], ...tseslint.configs.disableTypeChecked },
);
