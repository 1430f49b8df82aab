import { defineConfig } from 'vitest/config';

// The resilience suite: real PostgreSQL, Temporal dev server, sshd and `opsflow api` / `opsflow
// worker` processes that the tests kill and restart. Every file starts its own services (it stops
// them), so files are independent; two run at a time on a 2-core machine.
export default defineConfig({
  test: {
    include: ['test/resilience/**/*.test.ts'],
    globalSetup: ['test/resilience/support/globalSetup.ts'],
    testTimeout: 180_000,
    hookTimeout: 120_000,
    pool: 'forks',
    maxWorkers: 2,
  },
});
