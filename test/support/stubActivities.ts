// Stub activities for workflow tests: plain functions that record every call and return the
// outcomes a test chose, so the real task workflow runs on the real Temporal dev server
// without PostgreSQL or sshd. (Our activities are the code under test elsewhere.)
import { Context } from '@temporalio/activity';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import type {
  BatchStepOutcome,
  ExecuteBatchInput,
  ExecuteStepInput,
  RecordStepStatusInput,
  RecordTaskPlanInput,
  RecordTaskStatusInput,
  SettleLostStepInput,
  StepOutcome,
  TaskActivities,
} from '../../activities/types';
import type { StepOutcomeStatus } from '../../src/domain/statuses';
import { unreachable } from '../../src/domain/unreachable';

/**
 * What one try of a step does: end with an outcome; `block` until unblock() is called (then
 * succeed), heartbeating so a cancel reaches it; `lost` throw a non-retryable failure, as when
 * transport retries are used up (the workflow then asks settleLostStep).
 * A batch runs its steps' scripts in order as the real driver does: it stops after a step that
 * did not succeed (unless it may continue), before a `lost` step that is not its first, and
 * between steps once the task's last recorded status is `paused`.
 */
export type StepScript = StepOutcomeStatus | 'block' | 'lost';

const refKey = (taskId: number, stepId: number, host: string): string => `${taskId}|${stepId}|${host}`;

export class StubActivities {
  readonly executed: ExecuteStepInput[] = [];
  /** Tries that were cancelled while blocked (the task was cancelled or the host aborted). */
  readonly cancelledTries: ExecuteStepInput[] = [];
  readonly taskStatuses: RecordTaskStatusInput[] = [];
  readonly stepStatuses: RecordStepStatusInput[] = [];
  readonly plans: RecordTaskPlanInput[] = [];
  readonly settled: SettleLostStepInput[] = [];
  /** How long recordStepStatus takes (a slow database). */
  stepWriteDelayMs = 0;
  /** What settleLostStep answers (the real one decides from the step_runs row). */
  settleOutcome: StepOutcomeStatus = 'failed';

  private readonly scripts = new Map<string, StepScript[]>();
  private readonly gates = new Map<string, () => void>();

  /** The next tries of a step on a host, in order; tries beyond the list succeed. */
  script(taskId: number, stepId: number, host: string, ...tries: StepScript[]): void {
    this.scripts.set(refKey(taskId, stepId, host), tries);
  }

  /** Whether a try of this step on this host is blocked now. */
  isBlocked(taskId: number, stepId: number, host: string): boolean {
    return this.gates.has(refKey(taskId, stepId, host));
  }

  /** Lets a blocked try succeed. */
  unblock(taskId: number, stepId: number, host: string): void {
    const open = this.gates.get(refKey(taskId, stepId, host));
    if (!open) throw new Error(`step ${stepId} on ${host} of task ${taskId} is not blocked`);
    open();
  }

  tries(taskId: number): { stepId: number; host: string; attempt: number }[] {
    return this.executed.filter((e) => e.taskId === taskId).map(({ stepId, host, attempt }) => ({ stepId, host, attempt }));
  }

  taskStatusesOf(taskId: number): string[] {
    return this.taskStatuses.filter((s) => s.taskId === taskId).map((s) => s.status);
  }

  /** Step status writes of a task, one `status stepId@host` string per step written. */
  stepWritesOf(taskId: number): string[] {
    return this.stepStatuses.filter((s) => s.taskId === taskId).flatMap((s) => s.steps.map((r) => `${s.status} ${r.stepId}@${r.host}`));
  }

  readonly activities: TaskActivities = {
    executeBatch: async (batch: ExecuteBatchInput) => {
      const ended: BatchStepOutcome[] = [];
      for (const [i, step] of batch.steps.entries()) {
        if (i > 0 && this.taskStatusesOf(batch.taskId).at(-1) === 'paused') break;
        const input: ExecuteStepInput = { taskId: batch.taskId, stepId: step.stepId, host: batch.host, attempt: step.attempt };
        const tries = this.scripts.get(refKey(input.taskId, input.stepId, input.host)) ?? [];
        if (tries[0] === 'lost' && i > 0) break; // the next batch starts with it
        this.executed.push(input);
        const script = tries.shift() ?? 'succeeded';
        if (script === 'lost') throw ApplicationFailure.nonRetryable(`connect ECONNREFUSED ${input.host}:22`, 'SshTransportError');
        const result = script === 'block' ? await this.blockUntilOpened(input, ended) : outcome(script);
        ended.push({ ...result, stepId: step.stepId, attempt: step.attempt });
        if (!(result.outcome === 'succeeded' || (result.outcome === 'failed' && step.continueOnFailure))) break;
      }
      return { steps: ended };
    },
    settleLostStep: (input) => {
      this.settled.push(input);
      return Promise.resolve({ outcome: this.settleOutcome, exitCode: null, error: `the step could not run: ${input.error}` });
    },
    recordTaskStatus: (input) => {
      this.taskStatuses.push(input);
      return Promise.resolve();
    },
    recordTaskPlan: (input) => {
      this.plans.push(input);
      return Promise.resolve();
    },
    recordStepStatus: async (input) => {
      if (this.stepWriteDelayMs > 0) await new Promise((r) => setTimeout(r, this.stepWriteDelayMs));
      this.stepStatuses.push(input);
    },
  };

  private async blockUntilOpened(input: ExecuteStepInput, endedBefore: BatchStepOutcome[]): Promise<StepOutcome> {
    const key = refKey(input.taskId, input.stepId, input.host);
    const ctx = Context.current();
    const opened = new Promise<void>((resolve) => this.gates.set(key, resolve));
    // A cancel reaches an activity only through a heartbeat's answer.
    const beat = setInterval(() => ctx.heartbeat(), 200);
    try {
      await Promise.race([opened, ctx.cancelled]);
      return outcome('succeeded');
    } catch (err) {
      if (!(err instanceof CancelledFailure)) throw err;
      this.cancelledTries.push(input);
      throw new CancelledFailure(err.message, [endedBefore]); // as the real batch runner reports it
    } finally {
      clearInterval(beat);
      this.gates.delete(key);
    }
  }
}

function outcome(status: StepOutcomeStatus): StepOutcome {
  switch (status) {
    case 'succeeded':
      return { outcome: status, exitCode: 0, error: null };
    case 'failed':
      return { outcome: status, exitCode: 3, error: 'exit code 3' };
    case 'unknown':
      return { outcome: status, exitCode: null, error: 'connection lost while the command ran' };
    case 'cancelled':
      return { outcome: status, exitCode: null, error: 'cancelled by an operator' };
    default:
      return unreachable(status, 'step outcome');
  }
}
