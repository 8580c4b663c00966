import { defineConfig } from 'vitest/config';

/**
 * `npm run test:chaos`: the reliability suite (kills Laurel and PostgreSQL, skews clocks, fuzzes
 * every route). One file at a time: each one loads the machine on purpose.
 */
export default defineConfig({
  test: {
    include: ['test/chaos/**/*.test.ts'],
    globalSetup: ['test/chaos/global-setup.ts'],
    pool: 'forks',
    poolOptions: { forks: { maxForks: 1, minForks: 1 } },
    fileParallelism: false,
    testTimeout: 240_000,
    hookTimeout: 240_000,
    reporters: ['default'],
  },
});
