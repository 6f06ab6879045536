import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';
import layers from './tools/eslint-plugin-layers.mjs';

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', '.dev-root/**', 'bench/results/**', 'e2e/artifacts/**', 'tools/fixtures/**', 'renderer/dist/**', 'electron/build/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    plugins: { layers },
    rules: {
      'layers/imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      '@typescript-eslint/no-explicit-any': 'error',
      'no-empty': ['error', { allowEmptyCatch: true }],
      eqeqeq: ['error', 'smart'],
      'no-console': 'off',
    },
  },
  {
    files: ['renderer/**/*.{ts,tsx}', 'electron/src/web-shell/client/**/*.ts'],
    languageOptions: { globals: { ...globals.browser } },
  },
  {
    // Scripts that drive Chromium: their page.evaluate callbacks run in the browser.
    files: ['assets/*.mjs', 'renderer/scripts/*.mjs', 'e2e/**/*.ts', 'bench/src/benches/renderer.ts'],
    languageOptions: { globals: { ...globals.node, ...globals.browser } },
  },
);
