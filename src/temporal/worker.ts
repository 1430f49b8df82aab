// The Temporal worker: task workflows plus the SSH and status activities.
import { DefaultLogger, NativeConnection, Runtime, Worker, type WorkerOptions } from '@temporalio/worker';
import { createActivities, type ActivityDeps } from '../../activities/index';

export interface WorkerSettings {
  address: string;
  namespace: string;
  taskQueue: string;
  /** A pre-built bundle (tests); otherwise workflows/ is bundled at start. */
  workflowBundlePath?: string;
  deps: ActivityDeps;
  /** Overrides of WORKER_TUNING (benchmarks). */
  tuning?: Partial<WorkerTuning>;
}

export interface RunningWorker {
  worker: Worker;
  /** Resolves when the worker has stopped (after shutdown() or a fatal error). */
  done: Promise<void>;
  stop(): Promise<void>;
}

/** Capacity settings of the worker (docs/engine.md#timers explains the numbers). */
export const WORKER_TUNING = {
  maxConcurrentActivityTaskExecutions: 200,
  // Each workflow held in the cache costs ≈ 0.3 MB; the SDK's default (from the heap limit, ≈ 2,300
  // on a 4 GB heap) let 2,000 waiting tasks take the process past 1 GB. Beyond the cache a task's
  // next workflow task replays its (short) history instead.
  maxCachedWorkflows: 1000,
  maxConcurrentWorkflowTaskExecutions: 40,
  maxConcurrentWorkflowTaskPolls: 10,
  stickyQueueScheduleToStartTimeoutMs: 10_000,
};

export type WorkerTuning = typeof WORKER_TUNING;

function workerOptionsOf(tuning: WorkerTuning): Partial<WorkerOptions> {
  const { stickyQueueScheduleToStartTimeoutMs, ...rest } = tuning;
  return { ...rest, stickyQueueScheduleToStartTimeout: stickyQueueScheduleToStartTimeoutMs };
}

let runtimeInstalled = false;

/** The SDK logs at INFO by default (webpack output, state changes); keep only warnings. */
function installRuntime(): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  Runtime.install({ logger: new DefaultLogger('WARN') });
}

export async function startWorker(settings: WorkerSettings): Promise<RunningWorker> {
  installRuntime();
  const connection = await NativeConnection.connect({ address: settings.address });
  const code: Pick<WorkerOptions, 'workflowBundle' | 'workflowsPath'> = settings.workflowBundlePath
    ? { workflowBundle: { codePath: settings.workflowBundlePath } }
    : { workflowsPath: require.resolve('../../workflows/index') };
  const worker = await Worker.create({
    connection,
    namespace: settings.namespace,
    taskQueue: settings.taskQueue,
    ...code,
    activities: createActivities(settings.deps),
    ...workerOptionsOf({ ...WORKER_TUNING, ...settings.tuning }),
    // A cancel reaches a running batch only in a heartbeat's answer: send them at least every
    // second (the default throttle is 80 % of the 10 s heartbeat timeout, so up to 8 s late).
    maxHeartbeatThrottleInterval: '1s',
    shutdownGraceTime: '10s',
  });
  const done = worker.run().finally(() => connection.close());
  return {
    worker,
    done,
    async stop() {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await done;
    },
  };
}
