// Once per test run: a real PostgreSQL (embedded), a real Temporal dev server
// (in memory) and the workflow bundle. Test files get their own database and task queue.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { bundleWorkflowCode } from '@temporalio/worker';
import { startEmbeddedPostgres } from '../../src/db/embedded';
import { ensureTemporalCli } from '../../src/temporal/cli';
import { startDevServer } from '../../src/temporal/devServer';
import { freePort } from './ports';
import { ensureSystemPackages } from './systemPackages';

declare module 'vitest' {
  export interface ProvidedContext {
    pgAdminUrl: string;
    temporalAddress: string;
    workflowBundlePath: string;
    runDir: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  ensureSystemPackages((line) => console.log(`[test setup] ${line}`));
  const runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'opsflow-test-'));
  fs.chmodSync(runDir, 0o755); // PostgreSQL runs as another account when we are root
  const [cli, pg] = await Promise.all([
    ensureTemporalCli((line) => console.log(`[test setup] ${line}`)),
    startEmbeddedPostgres({ dataDir: path.join(runDir, 'pg'), port: await freePort() }),
  ]);
  const temporal = await startDevServer({ cliPath: cli, port: await freePort(), uiPort: null, dbFile: null, namespace: 'default' });

  const bundle = await bundleWorkflowCode({
    workflowsPath: require.resolve('../../workflows/index.ts'),
    logger: { trace() {}, debug() {}, info() {}, warn: console.warn, error: console.error, log() {} },
  });
  const bundlePath = path.join(runDir, 'workflow-bundle.js');
  fs.writeFileSync(bundlePath, bundle.code);

  project.provide('pgAdminUrl', pg.adminUrl);
  project.provide('temporalAddress', temporal.address);
  project.provide('workflowBundlePath', bundlePath);
  project.provide('runDir', runDir);

  return async () => {
    await temporal.stop();
    await pg.stop();
    fs.rmSync(runDir, { recursive: true, force: true });
  };
}
