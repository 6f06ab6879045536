import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['{protocol,daemons,cli,electron,bench,test,tools}/**/*.test.ts', 'renderer/src/**/*.test.{ts,tsx}', 'e2e/**/*.test.ts'],
    exclude: ['**/node_modules/**', '**/dist/**'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Real daemons, real KDFs: two cores, so keep parallelism modest.
    maxWorkers: 2,
  },
});
