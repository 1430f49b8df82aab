// Task and step status writes the workflow asks for (PostgreSQL is what the API reads).
import { sql } from 'kysely';
import type { Db } from '../src/db/database';
import type { RecordStepStatusInput, RecordTaskPlanInput, RecordTaskStatusInput } from './types';
import { isTerminalStepStatus, WAITING_STEP_STATUSES } from '../src/domain/statuses';

export async function recordTaskStatus(db: Db, input: RecordTaskStatusInput): Promise<void> {
  await db
    .updateTable('tasks')
    .set({
      status: input.status,
      ...(input.approver !== undefined ? { approver: input.approver, executor: input.approver } : {}),
      ...(input.startTime !== undefined ? { start_time: input.startTime } : {}),
      ...(input.finished ? { finished_at: sql<Date>`now()` } : {}),
    })
    .where('id', '=', input.taskId)
    .execute();
}

export async function recordTaskPlan(db: Db, input: RecordTaskPlanInput): Promise<void> {
  await db.updateTable('tasks').set({ planned_start: input.plannedStart }).where('id', '=', input.taskId).execute();
}

export async function recordStepStatus(db: Db, input: RecordStepStatusInput): Promise<void> {
  // An unknown step is settled for this attempt (an operator decides what comes next).
  const finished = isTerminalStepStatus(input.status) || input.status === 'unknown';
  // Waiting again means a restart: the earlier attempt's results stay only in its logs.
  const rearmed = WAITING_STEP_STATUSES.includes(input.status);
  for (let i = 0; i < input.steps.length; i += 500) {
    const refs = input.steps.slice(i, i + 500);
    await db
      .updateTable('step_runs')
      .set({
        status: input.status,
        updated_at: sql<Date>`now()`,
        ...(input.error !== undefined ? { error: input.error } : {}),
        ...(finished ? { finished_at: sql<Date>`coalesce(finished_at, now())` } : {}),
        ...(rearmed ? { started_at: null, finished_at: null, exit_code: null, error: null } : {}),
      })
      .where('task_id', '=', input.taskId)
      .where((eb) => eb.or(refs.map((r) => eb.and([eb('task_step_id', '=', r.stepId), eb('host', '=', r.host)]))))
      .execute();
  }
}
