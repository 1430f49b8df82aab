import { defineConfig } from 'vitest/config';

// Two projects: `unit` (pure code, no services) and `integration` (real PostgreSQL,
// Temporal dev server and sshd, started once per run in globalSetup; each test file
// gets its own database and task queue).
export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 180_000,
    pool: 'forks',
    maxWorkers: 2,
    projects: [
      { extends: true, test: { name: 'unit', include: ['test/unit/**/*.test.ts'], globalSetup: ['test/support/unitSetup.ts'] } },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          globalSetup: ['test/support/globalSetup.ts'],
        },
      },
    ],
  },
});
