// Type-aware lint (issue 8, "Shape first"): the rules that catch what the compiler lets
// through, such as a promise nobody awaits or handles, or an `any` leaking in.
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'dist-*/', 'node_modules/', 'bin/', 'eslint.config.js'] },
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // No `any` at module edges (STYLE.md); tests relax it below.
      '@typescript-eslint/no-explicit-any': 'error',
      // Store and port implementations are async without awaiting: the interface promises a
      // Promise, and `async` turns a throw into a rejection as a real store's would be.
      '@typescript-eslint/require-await': 'off',
      // The hub relays what a handler threw to the caller's promise as it is.
      '@typescript-eslint/prefer-promise-reject-errors': ['error', { allowThrowingUnknown: true }],
      '@typescript-eslint/no-floating-promises': [
        'error',
        // node:test queues test() and describe() itself; their promises are not for awaiting.
        { allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['test', 'describe', 'it', 'suite', 'before', 'after', 'beforeEach', 'afterEach'] }] },
      ],
    },
  },
  {
    files: ['test/**/*.ts', 'bench/**/*.ts'],
    rules: {
      // Tests read HTTP and websocket bodies as parsed JSON and check them with assert, which
      // narrows nothing; typing every body before asserting on it would only add casts.
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-explicit-any': 'off',
      // ws hands a text frame over as a Buffer (its default binaryType); ArrayBuffer is only in the RawData type.
      '@typescript-eslint/no-base-to-string': ['error', { ignoredTypeNames: ['Error', 'RegExp', 'URL', 'URLSearchParams', 'ArrayBuffer'] }],
    },
  },
);
