// Frozen: when the engine plans to start a task, once an approver chose a time or someone
// rescheduled it (null: the submitted exec_time, or at once). exec_time stays what was submitted.
import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('tasks').addColumn('planned_start', 'timestamptz').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('tasks').dropColumn('planned_start').execute();
}
