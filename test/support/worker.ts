// A real Temporal Worker with the real activities for a test file: its own task queue,
// the run's workflow bundle, and an allow-list of loopback only.
import { Worker } from '@temporalio/worker';
import { createActivities } from '../../activities/index';
import { parseCidrList } from '../../src/config';
import type { Db } from '../../src/db/database';
import type { SecretBox } from '../../src/security/secretBox';
import type { TestTemporal } from './temporal';

/** Tests and benchmarks never connect anywhere but loopback. */
export const LOOPBACK_ONLY = '127.0.0.0/8';

export interface TestWorker {
  start(): Promise<void>;
  stop(): Promise<void>;
}

export function testWorker(temporal: TestTemporal, deps: { db: Db; box: SecretBox }): TestWorker {
  let worker: Worker | null = null;
  let running: Promise<void> | null = null;
  return {
    async start() {
      worker = await Worker.create({
        connection: temporal.nativeConnection,
        taskQueue: temporal.taskQueue,
        workflowBundle: { codePath: temporal.workflowBundlePath },
        activities: createActivities({ ...deps, config: { allowedTargets: parseCidrList(LOOPBACK_ONLY) } }),
        maxConcurrentActivityTaskExecutions: 100,
        // A cancel reaches a running batch only in a heartbeat's answer: send them at least every
        // second (the default throttle is 80 % of the 10 s heartbeat timeout, so up to 8 s late).
        maxHeartbeatThrottleInterval: '1s',
      });
      running = worker.run();
    },
    async stop() {
      if (worker && worker.getState() === 'RUNNING') worker.shutdown();
      await running;
      worker = null;
    },
  };
}
