// Once per resilience run: the system packages and the Temporal CLI. Each test file starts its own
// PostgreSQL, Temporal dev server, sshd and opsflow processes, because it stops and restarts them.
import type { TestProject } from 'vitest/node';
import { ensureTemporalCli } from '../../../src/temporal/cli';
import { ensureSystemPackages } from '../../support/systemPackages';

declare module 'vitest' {
  export interface ProvidedContext {
    temporalCli: string;
  }
}

export default async function setup(project: TestProject): Promise<void> {
  ensureSystemPackages((line) => console.log(`[resilience setup] ${line}`));
  project.provide('temporalCli', await ensureTemporalCli((line) => console.log(`[resilience setup] ${line}`)));
}
