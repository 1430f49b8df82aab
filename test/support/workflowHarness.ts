// The task workflow alone: the run's Temporal dev server, a Worker on this file's task queue
// with the run's workflow bundle and stub activities, and a plan builder. No PostgreSQL, no sshd.
import crypto from 'node:crypto';
import { expect } from 'vitest';
import { Worker } from '@temporalio/worker';
import type { WorkflowHandle } from '@temporalio/client';
import type { OnFailure, Trigger } from '../../src/domain/statuses';
import { InterventionError } from '../../src/tasks/interventions';
import { workflowIdFor } from '../../src/tasks/submit';
import type { PlanGroup, TaskWorkflowInput } from '../../workflows/messages';
import { taskWorkflow } from '../../workflows/taskWorkflow';
import { StubActivities } from './stubActivities';
import { connectTestTemporal, type TestTemporal } from './temporal';

export interface StepShape {
  name?: string;
  trigger?: Trigger;
  onFailure?: OnFailure;
}

export interface StartedTask {
  taskId: number;
  /** Step ids in plan order: group by group, level by level. */
  stepIds: number[];
  handle: WorkflowHandle<typeof taskWorkflow>;
}

export interface WorkflowHarness {
  temporal: TestTemporal;
  stub: StubActivities;
  /**
   * Starts taskWorkflow with one step per entry of each group, levels 1..n (step ids 1, 2, …
   * across groups). `beforeStart` sees the ids first, e.g. to script the stub's outcomes.
   */
  start(
    groups: { hosts: string[]; steps: StepShape[] }[],
    opts?: Partial<Omit<TaskWorkflowInput, 'taskId' | 'groups'>>,
    beforeStart?: (taskId: number, stepIds: number[]) => void,
  ): Promise<StartedTask>;
  close(): Promise<void>;
}

// Task ids far above the engine tests' (their databases start below 2e9), so workflow ids never meet.
let nextTaskId = 1e12 + crypto.randomInt(0, 1e9) * 1000;

export async function startWorkflowHarness(): Promise<WorkflowHarness> {
  const temporal = await connectTestTemporal();
  const stub = new StubActivities();
  const worker = await Worker.create({
    connection: temporal.nativeConnection,
    taskQueue: temporal.taskQueue,
    workflowBundle: { codePath: temporal.workflowBundlePath },
    activities: stub.activities,
  });
  const running = worker.run();

  return {
    temporal,
    stub,
    async start(groups, opts = {}, beforeStart) {
      const taskId = nextTaskId++;
      let stepId = 0;
      const plan: PlanGroup[] = groups.map((g, i) => ({
        group: i + 1,
        hosts: g.hosts,
        steps: g.steps.map((s, level) => ({
          stepId: ++stepId,
          level: level + 1,
          name: s.name ?? `step ${stepId}`,
          trigger: s.trigger ?? 'order',
          timeoutS: 60,
          retries: 0,
          idempotent: false,
          onFailure: s.onFailure ?? 'hold',
        })),
      }));
      const input: TaskWorkflowInput = {
        taskId,
        templateId: 1,
        taskName: `workflow test ${taskId}`,
        creator: 'alice',
        schedule: 'ready',
        execTime: null,
        maxParallel: 50,
        approvalTimeoutS: null,
        fourEyes: true,
        ...opts,
        groups: plan,
      };
      const stepIds = plan.flatMap((g) => g.steps.map((s) => s.stepId));
      beforeStart?.(taskId, stepIds);
      const handle = await temporal.client.workflow.start(taskWorkflow, {
        workflowId: workflowIdFor(taskId),
        taskQueue: temporal.taskQueue,
        args: [input],
      });
      return { taskId, stepIds, handle };
    },
    async close() {
      worker.shutdown();
      await running;
      await temporal.close();
    },
  };
}

/** The engine's refusal of an intervention (the promise must reject with an InterventionError). */
export async function refusal(promise: Promise<unknown>): Promise<InterventionError> {
  const err = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(InterventionError);
  return err as InterventionError;
}
