import { defineConfig } from 'vitest/config';

// Integration tests share one PostgreSQL server and one Temporal dev server per run
// (started in globalSetup); each test file gets its own database and task queue.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/globalSetup.ts'],
    testTimeout: 60_000,
    hookTimeout: 180_000,
    pool: 'forks',
    maxWorkers: 2,
    reporters: ['default'],
  },
});
