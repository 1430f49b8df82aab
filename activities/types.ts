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
  executeStep(input: ExecuteStepInput): Promise<StepOutcome>;
  /** After the step activity failed for good (transport retries used up, worker lost): settle the row. */
  settleLostStep(input: SettleLostStepInput): Promise<StepOutcome>;
  recordTaskStatus(input: RecordTaskStatusInput): Promise<void>;
  recordTaskPlan(input: RecordTaskPlanInput): Promise<void>;
  recordStepStatus(input: RecordStepStatusInput): Promise<void>;
}
