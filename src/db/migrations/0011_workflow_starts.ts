// Frozen: the transactional outbox of workflow starts. A task's row and its start row commit in
// one transaction; the API's starter starts the workflow and deletes the row, so an answered task
// always starts, even when Temporal was down at the time (docs/architecture.md, accept path).
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('workflow_starts')
    .addColumn('task_id', 'integer', (c) => c.primaryKey().references('tasks.id').onDelete('cascade'))
    // Everything the start needs (workflow input, summary, search attributes, the start token).
    .addColumn('start', 'jsonb', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('last_error', 'text')
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('workflow_starts').execute();
}
