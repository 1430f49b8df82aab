// Activity signatures the workflow may import (types only; implementations live beside).
import type { StepRef } from '../workflows/messages';
import type { StepOutcomeStatus, StepStatus, TaskStatus } from '../src/domain/statuses';

export interface StepOutcome {
  outcome: StepOutcomeStatus;
  exitCode: number | null;
  /** Why it failed, in words an operator can act on. */
  error: string | null;
}

export interface ExecuteStepInput extends StepRef {
  taskId: number;
  /** The workflow's attempt number for this step on this host (1 + operator retries). */
  attempt: number;
}

/** One step of a host batch, in plan order. */
export interface BatchStepInput {
  stepId: number;
  /** The attempt this batch runs the step as (1 + operator retries). */
  attempt: number;
  /** on_failure is `continue`: a failure does not end the batch. */
  continueOnFailure: boolean;
}

/** Consecutive steps of one host that need no person in between: one activity, one SSH channel. */
export interface ExecuteBatchInput {
  taskId: number;
  host: string;
  steps: BatchStepInput[];
}

export interface BatchStepOutcome extends StepOutcome {
  stepId: number;
  attempt: number;
}

/**
 * How the batch's steps ended, in order, as far as they ran: at least the first. Steps after the
 * last one listed did not start (a failure, a pause, or another exec user) and come in a next batch.
 */
export interface BatchOutcome {
  steps: BatchStepOutcome[];
}

export interface RecordTaskStatusInput {
  taskId: number;
  status: TaskStatus;
  approver?: string;
  /** ISO time the task began running. */
  startTime?: string;
  finished?: boolean;
}

export interface RecordTaskPlanInput {
  taskId: number;
  /** ISO time the task is now planned to start (an approver's choice or a reschedule). */
  plannedStart: string;
}

export interface RecordStepStatusInput {
  taskId: number;
  steps: StepRef[];
  status: StepStatus;
  error?: string | null;
}

export interface SettleLostStepInput extends StepRef {
  taskId: number;
  attempt: number;
  /** Why the activity gave up (its last failure). */
  error: string;
}

export interface TaskActivities {
  executeBatch(input: ExecuteBatchInput): Promise<BatchOutcome>;
  /** After the batch activity failed for good (transport retries used up, worker lost): settle the row. */
  settleLostStep(input: SettleLostStepInput): Promise<StepOutcome>;
  recordTaskStatus(input: RecordTaskStatusInput): Promise<void>;
  recordTaskPlan(input: RecordTaskPlanInput): Promise<void>;
  recordStepStatus(input: RecordStepStatusInput): Promise<void>;
}
